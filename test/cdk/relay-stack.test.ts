// RelayStack: one test per rule, on the synthesized template of the example deployment.
import { App } from 'aws-cdk-lib';
import { RelayStack, RELAY_FORWARDED_HEADERS } from '../../lib/relay-stack';
import { RELAY_FUNCTION_NAME } from '../../lib/names';
import { EXAMPLE_CONFIG, onlyResourceOfType, resourcesOfType, snapshotOf, synthesize, type Synthesized } from '../helpers/cdk';

const relay = EXAMPLE_CONFIG.relay;

let s: Synthesized;
let t: any;
let config: any;
let fnId: string;
let distributionArn: any;
beforeAll(() => {
  s = synthesize();
  t = s.json.relay;
  config = onlyResourceOfType(t, 'AWS::CloudFront::Distribution').Properties.DistributionConfig;
  fnId = Object.keys(resourcesOfType(t, 'AWS::Lambda::Function'))[0]!;
  const distributionId = Object.keys(resourcesOfType(t, 'AWS::CloudFront::Distribution'))[0]!;
  distributionArn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/', { Ref: distributionId }]] };
});

const fn = () => t.Resources[fnId].Properties;

test('own account and region: the relay operator\'s, from the config\'s relay section', () => {
  expect(s.built.relay.account).toBe(relay.account);
  expect(s.built.relay.region).toBe(relay.region);
  expect(relay.account).not.toBe(EXAMPLE_CONFIG.account);
});

test('independent: depends on no other stack, imports nothing, names nothing of the deployment\'s account', () => {
  expect(s.built.relay.dependencies).toEqual([]);
  expect(JSON.stringify(t)).not.toContain('Fn::ImportValue');
  expect(JSON.stringify(t)).not.toContain(EXAMPLE_CONFIG.account);
  expect(JSON.stringify(t)).not.toMatch(/pp-deployer|pp-gateway|pp-log-writer/);
});

test('Function URL: AWS_IAM auth (never NONE), buffered', () => {
  expect(onlyResourceOfType(t, 'AWS::Lambda::Url').Properties).toEqual({ AuthType: 'AWS_IAM', InvokeMode: 'BUFFERED', TargetFunctionArn: { 'Fn::GetAtt': [fnId, 'Arn'] } });
});

test('reachable only through CloudFront: origin access control signs every request, and only this distribution may invoke (AWS:SourceArn)', () => {
  s.relay.hasResourceProperties('AWS::CloudFront::OriginAccessControl', { OriginAccessControlConfig: { OriginAccessControlOriginType: 'lambda', SigningBehavior: 'always', SigningProtocol: 'sigv4' } });
  const urlId = Object.keys(resourcesOfType(t, 'AWS::Lambda::Url'))[0]!;
  const permissions = Object.values(resourcesOfType(t, 'AWS::Lambda::Permission')).map((r) => r.Properties);
  expect(permissions).toEqual([
    { Action: 'lambda:InvokeFunctionUrl', FunctionName: { 'Fn::GetAtt': [urlId, 'FunctionArn'] }, Principal: 'cloudfront.amazonaws.com', SourceArn: distributionArn },
    { Action: 'lambda:InvokeFunction', FunctionName: { 'Fn::GetAtt': [urlId, 'FunctionArn'] }, Principal: 'cloudfront.amazonaws.com', SourceArn: distributionArn, InvokedViaFunctionUrl: true },
  ]);
  const oacId = Object.keys(resourcesOfType(t, 'AWS::CloudFront::OriginAccessControl'))[0]!;
  expect(config.Origins).toHaveLength(1);
  expect(config.Origins[0].OriginAccessControlId).toEqual({ 'Fn::GetAtt': [oacId, 'Id'] });
});

test('origin request policy: forwards exactly Private-Token, Content-Type and x-amz-content-sha256; no cookie, no query string', () => {
  expect(onlyResourceOfType(t, 'AWS::CloudFront::OriginRequestPolicy').Properties.OriginRequestPolicyConfig).toMatchObject({
    HeadersConfig: { HeaderBehavior: 'whitelist', Headers: ['Private-Token', 'Content-Type', 'x-amz-content-sha256'] },
    CookiesConfig: { CookieBehavior: 'none' },
    QueryStringsConfig: { QueryStringBehavior: 'none' },
  });
  expect(RELAY_FORWARDED_HEADERS).toEqual(['Private-Token', 'Content-Type', 'x-amz-content-sha256']);
  // The GET behaviors forward nothing (no origin request policy; nothing in the cache key).
  for (const b of config.CacheBehaviors) expect(b.OriginRequestPolicyId).toBeUndefined();
});

test('caching off for POST: the default behavior (POST /v1/ohttp) uses CachingDisabled; GETs follow the origin\'s Cache-Control, nothing about the client in the key', () => {
  expect(config.DefaultCacheBehavior).toMatchObject({ AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'], CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad' });
  expect(config.CacheBehaviors.map((b: any) => [b.PathPattern, b.AllowedMethods])).toEqual([
    ['/v1/keys', ['GET', 'HEAD']],
    ['/log/*', ['GET', 'HEAD']],
  ]);
  const policy = onlyResourceOfType(t, 'AWS::CloudFront::CachePolicy').Properties.CachePolicyConfig;
  expect(policy).toMatchObject({ MinTTL: 0, DefaultTTL: 0 });
  expect(policy.ParametersInCacheKeyAndForwardedToOrigin).toMatchObject({ HeadersConfig: { HeaderBehavior: 'none' }, CookiesConfig: { CookieBehavior: 'none' }, QueryStringsConfig: { QueryStringBehavior: 'none' } });
});

test('HTTPS only, TLS 1.2 or later: the relay\'s own domain and certificate, SNI', () => {
  expect(config.Aliases).toEqual([relay.domainName]);
  expect(config.ViewerCertificate).toEqual({ AcmCertificateArn: relay.certificateArn, MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' });
  for (const b of [config.DefaultCacheBehavior, ...config.CacheBehaviors]) expect(b.ViewerProtocolPolicy).toBe('https-only');
});

test('origin read timeout 60 s: the outermost of the nested timeouts', () => {
  expect(config.Origins[0].CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only', OriginReadTimeout: 60 });
});

test('no logs of requests: no standard or real-time logs; the function logs counters only, to its own retained group', () => {
  expect(config.Logging).toBeUndefined();
  s.relay.resourceCountIs('AWS::CloudFront::RealtimeLogConfig', 0);
  const group = t.Resources[fn().LoggingConfig.LogGroup.Ref];
  expect(group).toMatchObject({ Properties: { LogGroupName: `/aws/lambda/${RELAY_FUNCTION_NAME}`, RetentionInDays: relay.logRetentionDays }, DeletionPolicy: 'Retain' });
});

test('response headers policy: security headers only, nothing about the client, on every behavior', () => {
  const policyId = Object.keys(resourcesOfType(t, 'AWS::CloudFront::ResponseHeadersPolicy'))[0]!;
  const policy = t.Resources[policyId].Properties.ResponseHeadersPolicyConfig;
  expect(Object.keys(policy).sort()).toEqual(['Comment', 'Name', 'SecurityHeadersConfig']);
  for (const b of [config.DefaultCacheBehavior, ...config.CacheBehaviors]) expect(b.ResponseHeadersPolicyId).toEqual({ Ref: policyId });
});

test('gateway and log URLs: required props, given to the function as its only settings', () => {
  expect(fn().Environment.Variables).toEqual({ PP_GATEWAY_URL: relay.gatewayUrl, PP_LOG_URL: relay.logUrl });
  const props = { relay: { ...relay } as never, env: undefined };
  expect(() => new RelayStack(new App(), 'R', { ...props, gatewayUrl: '', logUrl: relay.logUrl })).toThrow(/gatewayUrl and logUrl are required/);
  expect(() => new RelayStack(new App(), 'R', { ...props, gatewayUrl: relay.gatewayUrl, logUrl: '' })).toThrow(/gatewayUrl and logUrl are required/);
});

test('relay function: Node.js 22 or later on arm64, no X-Ray, reserved concurrency, timeout inside the origin read timeout', () => {
  expect(fn()).toMatchObject({ FunctionName: RELAY_FUNCTION_NAME, Architectures: ['arm64'], ReservedConcurrentExecutions: relay.reservedConcurrency, Timeout: 40 });
  expect(fn().Runtime).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
  expect(fn().TracingConfig).toBeUndefined();
  expect(fn().VpcConfig).toBeUndefined();
});

test('relay role: only Lambda of the relay\'s account may assume it; it may write only its own log group', () => {
  const role = onlyResourceOfType(t, 'AWS::IAM::Role').Properties;
  expect(role.AssumeRolePolicyDocument.Statement).toEqual([
    { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'lambda.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': relay.account } } },
  ]);
  expect(role.ManagedPolicyArns).toBeUndefined();
  const groupId = fn().LoggingConfig.LogGroup.Ref;
  expect(onlyResourceOfType(t, 'AWS::IAM::Policy').Properties.PolicyDocument.Statement).toEqual([
    { Sid: 'WriteOwnLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [groupId, 'Arn'] }, ':log-stream:*']] } },
  ]);
});

test('snapshot: the RelayStack template', () => {
  expect(snapshotOf(t)).toMatchSnapshot();
});
