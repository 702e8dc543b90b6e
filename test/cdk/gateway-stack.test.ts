// GatewayStack: one test per rule, on the synthesized template of the example deployment
// (bundling skipped; test/cdk/lambda-bundles.test.ts bundles for real).
import { Match } from 'aws-cdk-lib/assertions';
import { ROLE_NAMES } from '../../protocol';
import { ACCESS_LOG_FIELDS, LOG_WRITER_ROUTE, LOG_WRITER_ROUTE_THROTTLE } from '../../lib/gateway-stack';
import { API_ACCESS_LOG_GROUP_NAME, bucketNames, EXPORT_NAMES, FUNCTION_NAMES, NO_WORKER_GROUP, SECRET_NAMES, TABLE_NAMES } from '../../lib/names';
import { EXAMPLE_CONFIG, onlyResourceOfType, resourcesOfType, snapshotOf, synthesize, writeDeployment, type Synthesized } from '../helpers/cdk';

const { account, region, gateway: settings, transparency, network } = EXAMPLE_CONFIG;
const buckets = bucketNames(account, region);
const roleArn = (name: string) => `arn:aws:iam::${account}:role/${name}`;

let s: Synthesized;
let t: any;
/** Function resources by function name. */
let fns: Record<string, any>;
let logicalIdOf: Record<string, string>;
beforeAll(() => {
  s = synthesize();
  t = s.json.gateway;
  const entries = Object.entries(resourcesOfType(t, 'AWS::Lambda::Function'));
  fns = Object.fromEntries(entries.map(([, r]) => [r.Properties.FunctionName, r]));
  logicalIdOf = Object.fromEntries(entries.map(([id, r]) => [r.Properties.FunctionName, id]));
});

const routes = () => Object.values(resourcesOfType(t, 'AWS::ApiGatewayV2::Route')).map((r) => r.Properties);
const integrationTarget = (route: any) => {
  const integrationId = route.Target['Fn::Join'][1][1].Ref;
  return t.Resources[integrationId].Properties.IntegrationUri['Fn::GetAtt'][0];
};

test('termination protection: the gateway\'s stack is never deleted by accident', () => {
  expect(s.built.gateway.terminationProtection).toBe(true);
});

test('fixed-name functions: the four functions, each running as the foundation role of its name; the stack creates no IAM role or policy', () => {
  expect(Object.keys(fns).sort()).toEqual(Object.values(FUNCTION_NAMES).sort());
  for (const [name, fn] of Object.entries(fns)) expect([name, fn.Properties.Role]).toEqual([name, roleArn(name)]);
  for (const type of ['AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::InstanceProfile']) s.gateway.resourceCountIs(type, 0);
});

test('runtime: Node.js 22 or later on arm64, the bundled entry\'s handler', () => {
  for (const fn of Object.values(fns)) {
    expect(fn.Properties.Runtime).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
    expect(fn.Properties.Architectures).toEqual(['arm64']);
    expect(fn.Properties.Handler).toBe('index.handler');
  }
});

test('X-Ray off: no function is traced (HTTP APIs have no tracing)', () => {
  for (const fn of Object.values(fns)) expect(fn.Properties.TracingConfig?.Mode ?? 'PassThrough').toBe('PassThrough');
  expect(JSON.stringify(t)).not.toMatch(/"Active"|XRay|xray/);
});

test('reserved concurrency: log writer 1 (one writer), rotation 1, gateway and issuer as configured', () => {
  const reserved = Object.fromEntries(Object.entries(fns).map(([name, fn]) => [name, fn.Properties.ReservedConcurrentExecutions]));
  expect(reserved).toEqual({
    [FUNCTION_NAMES.logWriter]: 1,
    [FUNCTION_NAMES.rotation]: 1,
    [FUNCTION_NAMES.gateway]: settings.reservedConcurrency.gateway,
    [FUNCTION_NAMES.issuer]: settings.reservedConcurrency.issuer,
  });
});

test('VPC placement: only the gateway runs in the VPC, in the network\'s isolated subnets with the gateway security group (named imports)', () => {
  const split = (i: number) => ({ 'Fn::Select': [i, { 'Fn::Split': [',', { 'Fn::ImportValue': EXPORT_NAMES.isolatedSubnetIds }] }] });
  expect(fns[FUNCTION_NAMES.gateway].Properties.VpcConfig).toEqual({
    SubnetIds: EXAMPLE_CONFIG.availabilityZones.map((_, i) => split(i)),
    SecurityGroupIds: [{ 'Fn::ImportValue': EXPORT_NAMES.gatewaySecurityGroupId }],
  });
  // The log writer and rotation reach witnesses and the API over the internet; the issuer needs nothing private.
  for (const name of [FUNCTION_NAMES.logWriter, FUNCTION_NAMES.rotation, FUNCTION_NAMES.issuer]) expect([name, fns[name].Properties.VpcConfig]).toEqual([name, undefined]);
});

test('environment: each function gets exactly the settings its entry reads (lambdas/README.md), nothing secret', () => {
  const env = (name: string) => fns[name].Properties.Environment.Variables;
  expect(env(FUNCTION_NAMES.gateway)).toEqual({
    PP_ISSUER_NAME: settings.issuerName,
    PP_ORIGIN_NAME: settings.originName,
    PP_SPEND_TABLE: TABLE_NAMES.spentTokens,
    PP_LOG_BUCKET: buckets.log,
    PP_LOG_ORIGIN: transparency.logOrigin,
    PP_LOG_KEY: transparency.logVerifierKey,
    PP_WORKER_GROUP: 'pp-workers-example-2026.11.27-1-g1',
    PP_WORKER_PORT: String(network.workerPort),
  });
  const issuerKeysId = Object.keys(resourcesOfType(t, 'AWS::SecretsManager::Secret'))[0]!;
  expect(env(FUNCTION_NAMES.issuer)).toEqual({
    PP_ISSUER_KEYS_SECRET: { Ref: issuerKeysId },
    PP_QUOTA_TABLE: TABLE_NAMES.issuanceCounts,
    PP_TOKENS_PER_DAY: String(settings.tokensPerDay),
    PP_REQUEST_URI: settings.tokenRequestUri,
    PP_ACCOUNT_JWK: JSON.stringify(settings.accountKey),
    PP_ACCOUNT_ISSUER: settings.accountIssuer,
    PP_ACCOUNT_AUDIENCE: settings.accountAudience,
  });
  expect(JSON.parse(env(FUNCTION_NAMES.issuer).PP_ACCOUNT_JWK)).not.toHaveProperty('d');
  expect(env(FUNCTION_NAMES.logWriter)).toEqual({
    PP_LOG_BUCKET: buckets.log,
    PP_LOG_ORIGIN: transparency.logOrigin,
    PP_LOG_SIGNER_SECRET: { 'Fn::ImportValue': EXPORT_NAMES.logSigningKeySecretArn },
    PP_WITNESSES: JSON.stringify(transparency.witnesses),
    PP_ACCOUNT: account,
    PP_PUBLISHER_ROLE: ROLE_NAMES.publisher,
    PP_ROTATION_ROLE: ROLE_NAMES.rotation,
  });
  const apiId = Object.keys(resourcesOfType(t, 'AWS::ApiGatewayV2::Api'))[0]!;
  expect(env(FUNCTION_NAMES.rotation)).toEqual({
    PP_ISSUER_KEYS_SECRET: { Ref: issuerKeysId },
    PP_LOG_BUCKET: buckets.log,
    PP_LOG_ORIGIN: transparency.logOrigin,
    PP_LOG_KEY: transparency.logVerifierKey,
    PP_LOG_WRITER_URL: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] }, '/v1/entries']] },
  });
  expect(JSON.stringify(t)).not.toContain('PRIVATE+KEY');
});

test('function logs: each function its own /aws/lambda/<name> group, retained, kept the configured days', () => {
  for (const [name, fn] of Object.entries(fns)) {
    const group = t.Resources[fn.Properties.LoggingConfig.LogGroup.Ref];
    expect([name, group.Properties, group.DeletionPolicy]).toEqual([name, { LogGroupName: `/aws/lambda/${name}`, RetentionInDays: settings.logRetentionDays }, 'Retain']);
  }
});

test('tables: spent tokens and issuance counts, partition key id (S), TTL expiresAt, point-in-time recovery, encryption, deletion protection, retained', () => {
  const tables = Object.values(resourcesOfType(t, 'AWS::DynamoDB::Table'));
  expect(tables.map((r) => r.Properties.TableName).sort()).toEqual(Object.values(TABLE_NAMES).sort());
  for (const table of tables) {
    expect(table.Properties).toEqual({
      TableName: table.Properties.TableName,
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      DeletionProtectionEnabled: true,
    });
    expect(table).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  }
});

test('issuer key secret: created empty; only the issuer and rotation read it, only rotation writes it (resource policy)', () => {
  const secret = onlyResourceOfType(t, 'AWS::SecretsManager::Secret');
  expect(secret.Properties).toEqual({ Name: SECRET_NAMES.issuerKeys, Description: expect.any(String) });
  expect(secret).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  s.gateway.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
    BlockPublicPolicy: true,
    ResourcePolicy: Match.exact({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'OnlyIssuerAndRotationRead',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: ['secretsmanager:GetSecretValue'],
          Resource: '*',
          Condition: { StringNotEquals: { 'aws:PrincipalArn': [roleArn(ROLE_NAMES.issuer), roleArn(ROLE_NAMES.rotation)] } },
        },
        {
          Sid: 'OnlyRotationWrites',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecret'],
          Resource: '*',
          Condition: { StringNotEquals: { 'aws:PrincipalArn': roleArn(ROLE_NAMES.rotation) } },
        },
      ],
    }),
  });
});

test('routes: exactly the gateway\'s, the issuer\'s and the log writer\'s; only POST /v1/entries uses AWS_IAM, the rest authorize in the handler', () => {
  const byKey = Object.fromEntries(routes().map((r) => [r.RouteKey, { auth: r.AuthorizationType, target: integrationTarget(r) }]));
  expect(byKey).toEqual({
    'POST /v1/ohttp': { auth: 'NONE', target: logicalIdOf[FUNCTION_NAMES.gateway] },
    'GET /v1/keys': { auth: 'NONE', target: logicalIdOf[FUNCTION_NAMES.gateway] },
    'GET /.well-known/private-token-issuer-directory': { auth: 'NONE', target: logicalIdOf[FUNCTION_NAMES.issuer] },
    'HEAD /.well-known/private-token-issuer-directory': { auth: 'NONE', target: logicalIdOf[FUNCTION_NAMES.issuer] },
    'POST /v1/token-request': { auth: 'NONE', target: logicalIdOf[FUNCTION_NAMES.issuer] },
    [LOG_WRITER_ROUTE]: { auth: 'AWS_IAM', target: logicalIdOf[FUNCTION_NAMES.logWriter] },
  });
  // No catch-all route: anything else is API Gateway's 404, never a function.
  expect(routes().map((r) => r.RouteKey)).not.toContain('$default');
});

test('integrations: Lambda proxy, payload format 2.0, 29 s timeout', () => {
  const integrations = Object.values(resourcesOfType(t, 'AWS::ApiGatewayV2::Integration')).map((r) => r.Properties);
  expect(integrations).toHaveLength(3);
  for (const i of integrations) expect(i).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0', TimeoutInMillis: 29_000 });
});

test('confused deputy: every invoke permission names its source (API Gateway: this API and route; EventBridge: the rule)', () => {
  const apiId = Object.keys(resourcesOfType(t, 'AWS::ApiGatewayV2::Api'))[0]!;
  const permissions = Object.values(resourcesOfType(t, 'AWS::Lambda::Permission')).map((r) => r.Properties);
  expect(permissions).toHaveLength(8);
  for (const p of permissions) {
    expect(p.Action).toBe('lambda:InvokeFunction');
    if (p.Principal === 'apigateway.amazonaws.com') {
      const [, parts] = p.SourceArn['Fn::Join'];
      expect(parts).toContainEqual({ Ref: apiId });
      expect(parts.at(-1)).toMatch(/^\/\*\/\*\/(v1\/ohttp|v1\/keys|\.well-known\/private-token-issuer-directory|v1\/token-request|v1\/entries)$/);
    } else {
      expect(p.Principal).toBe('events.amazonaws.com');
      expect(Object.keys(resourcesOfType(t, 'AWS::Events::Rule'))).toContain(p.SourceArn['Fn::GetAtt'][0]);
    }
  }
});

test('throttling: the default stage at the configured rate and burst; the log writer\'s route at 1 per second, burst 5', () => {
  const stage = onlyResourceOfType(t, 'AWS::ApiGatewayV2::Stage').Properties;
  expect(stage).toMatchObject({ StageName: '$default', AutoDeploy: true, DefaultRouteSettings: { ThrottlingRateLimit: settings.throttle.rateLimit, ThrottlingBurstLimit: settings.throttle.burstLimit } });
  expect(stage.RouteSettings).toEqual({ [LOG_WRITER_ROUTE]: { ThrottlingRateLimit: LOG_WRITER_ROUTE_THROTTLE.rateLimit, ThrottlingBurstLimit: LOG_WRITER_ROUTE_THROTTLE.burstLimit } });
});

test('access log: allowlisted fields only (no source address, user agent, path, headers, query, body, token or caller), retained', () => {
  const stage = onlyResourceOfType(t, 'AWS::ApiGatewayV2::Stage').Properties;
  const format = JSON.parse(stage.AccessLogSettings.Format);
  expect(format).toEqual(ACCESS_LOG_FIELDS);
  expect(Object.values(format).sort()).toEqual(
    [
      '$context.requestId',
      '$context.requestTimeEpoch',
      '$context.routeKey',
      '$context.status',
      '$context.responseLatency',
      '$context.integrationStatus',
      '$context.integrationLatency',
      '$context.error.responseType',
    ].sort(),
  );
  expect(stage.AccessLogSettings.Format).not.toMatch(/identity|sourceIp|userAgent|path|header|querystring|body|authorizer|caller|user|domainName/i);
  const groupId = stage.AccessLogSettings.DestinationArn['Fn::GetAtt'][0];
  expect(t.Resources[groupId]).toMatchObject({ Properties: { LogGroupName: API_ACCESS_LOG_GROUP_NAME, RetentionInDays: settings.logRetentionDays }, DeletionPolicy: 'Retain' });
});

test('schedules: the log writer and rotation run hourly, on EventBridge\'s own scheduled event (source aws.events), bounded retries', () => {
  const rules = Object.values(resourcesOfType(t, 'AWS::Events::Rule')).map((r) => r.Properties);
  expect(rules.map((r) => [r.Name, r.ScheduleExpression, r.State]).sort()).toEqual([
    ['pp-issuer-rotation-hourly', 'rate(1 hour)', 'ENABLED'],
    ['pp-log-writer-hourly', 'rate(1 hour)', 'ENABLED'],
  ]);
  for (const rule of rules) {
    expect(rule.Targets).toHaveLength(1);
    const target = rule.Targets[0];
    expect(target.Input).toBeUndefined();
    expect(target.RoleArn).toBeUndefined();
    expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 2 });
    const fn = target.Arn['Fn::GetAtt'][0];
    expect(rule.Name === 'pp-log-writer-hourly' ? logicalIdOf[FUNCTION_NAMES.logWriter] : logicalIdOf[FUNCTION_NAMES.rotation]).toBe(fn);
  }
});

test('cross-stack values: imports only the network\'s subnets and gateway security group and the log signing key\'s ARN; exports nothing', () => {
  const imports = [...JSON.stringify(t).matchAll(/"Fn::ImportValue":"([^"]+)"/g)].map((m) => m[1]);
  expect([...new Set(imports)].sort()).toEqual([EXPORT_NAMES.isolatedSubnetIds, EXPORT_NAMES.gatewaySecurityGroupId, EXPORT_NAMES.logSigningKeySecretArn].sort());
  for (const o of Object.values((t.Outputs ?? {}) as Record<string, any>)) expect(o.Export).toBeUndefined();
});

test('no live session key: the gateway is told a group name that no group has (it answers 503), and synthesis still works', () => {
  const retired = synthesize({
    configPath: writeDeployment((c) => {
      c.releases[0]!.modelKey = 'retired';
      c.releases[0]!.sessionKeys[0]!.state = 'retired';
    }),
  });
  const gateway = Object.values(resourcesOfType(retired.json.gateway, 'AWS::Lambda::Function')).find((r) => r.Properties.FunctionName === FUNCTION_NAMES.gateway);
  expect(gateway.Properties.Environment.Variables.PP_WORKER_GROUP).toBe(NO_WORKER_GROUP);
  retired.enclaveWorkers.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 0);
});

test('snapshot: the GatewayStack template', () => {
  expect(snapshotOf(t)).toMatchSnapshot();
});
