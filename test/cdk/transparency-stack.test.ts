// TransparencyStack: one test per rule, on the synthesized template of the example deployment.
import { Match } from 'aws-cdk-lib/assertions';
import { ROLE_NAMES } from '../../protocol';
import { bucketNames, EXPORT_NAMES, SECRET_NAMES } from '../../lib/names';
import { LOG_DELETE_ACTIONS, LOG_WRITE_ACTIONS } from '../../lib/transparency-stack';
import { asList, EXAMPLE_CONFIG, onlyResourceOfType, resourcesOfType, synthesize, type Synthesized } from '../helpers/cdk';

const { account, region, transparency } = EXAMPLE_CONFIG;
const buckets = bucketNames(account, region);
const logWriterRole = `arn:aws:iam::${account}:role/${ROLE_NAMES.logWriter}`;

let s: Synthesized;
let t: any;
let bucketId: string;
let bucketPolicy: any[];
let distributionId: string;
beforeAll(() => {
  s = synthesize();
  t = s.json.transparency;
  bucketId = Object.keys(resourcesOfType(t, 'AWS::S3::Bucket'))[0]!;
  bucketPolicy = onlyResourceOfType(t, 'AWS::S3::BucketPolicy').Properties.PolicyDocument.Statement;
  distributionId = Object.keys(resourcesOfType(t, 'AWS::CloudFront::Distribution'))[0]!;
});

const objectsOf = (id: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [id, 'Arn'] }, '/*']] });

test('termination protection: the log\'s stack is never deleted by accident', () => {
  expect(s.built.transparency.terminationProtection).toBe(true);
});

test('log bucket: Object Lock in compliance mode for the configured retention, on a versioned bucket', () => {
  s.transparency.resourceCountIs('AWS::S3::Bucket', 1);
  s.transparency.hasResourceProperties('AWS::S3::Bucket', {
    BucketName: buckets.log,
    ObjectLockEnabled: true,
    ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: transparency.objectLockRetentionDays } } },
    VersioningConfiguration: { Status: 'Enabled' },
  });
});

test('log bucket: every public access blocked, objects owned by the bucket owner, encrypted (SSE-S3)', () => {
  s.transparency.hasResourceProperties('AWS::S3::Bucket', {
    PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
  });
});

test('log bucket: TLS only (every request without aws:SecureTransport is denied)', () => {
  expect(bucketPolicy).toContainEqual({
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: 's3:*',
    Resource: [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, objectsOf(bucketId)],
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  });
});

test('log bucket: only the log-writer role writes objects; nobody deletes one', () => {
  expect(bucketPolicy).toContainEqual({
    Sid: 'OnlyTheLogWriterWrites',
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: [...LOG_WRITE_ACTIONS],
    Resource: objectsOf(bucketId),
    Condition: { StringNotEquals: { 'aws:PrincipalArn': logWriterRole } },
  });
  expect(bucketPolicy).toContainEqual({ Sid: 'NobodyDeletes', Effect: 'Deny', Principal: { AWS: '*' }, Action: [...LOG_DELETE_ACTIONS], Resource: objectsOf(bucketId) });
});

test('log bucket: the only Allow is CloudFront\'s GetObject for this distribution (origin access control, AWS:SourceArn)', () => {
  const allows = bucketPolicy.filter((st) => st.Effect === 'Allow');
  expect(allows).toEqual([
    {
      Effect: 'Allow',
      Principal: { Service: 'cloudfront.amazonaws.com' },
      Action: 's3:GetObject',
      Resource: objectsOf(bucketId),
      Condition: { StringEquals: { 'AWS:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/', { Ref: distributionId }]] } } },
    },
  ]);
});

test('log bucket: retained on delete and replacement; old versions expire only after their lock', () => {
  s.transparency.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  const rules = onlyResourceOfType(t, 'AWS::S3::Bucket').Properties.LifecycleConfiguration.Rules;
  expect(rules).toEqual([
    { Id: 'ExpireUnlockedOldVersions', Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: transparency.objectLockRetentionDays + 1 }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
  ]);
});

test('log distribution: GET and HEAD only, HTTPS only, the bucket through origin access control, no access logs', () => {
  const config = onlyResourceOfType(t, 'AWS::CloudFront::Distribution').Properties.DistributionConfig;
  expect(config.DefaultCacheBehavior).toMatchObject({ AllowedMethods: ['GET', 'HEAD'], ViewerProtocolPolicy: 'https-only' });
  expect(config.CacheBehaviors).toBeUndefined();
  expect(config.Origins).toHaveLength(1);
  expect(config.Origins[0]).toMatchObject({ DomainName: { 'Fn::GetAtt': [bucketId, 'RegionalDomainName'] }, S3OriginConfig: { OriginAccessIdentity: '' } });
  const oacId = Object.keys(resourcesOfType(t, 'AWS::CloudFront::OriginAccessControl'))[0]!;
  expect(config.Origins[0].OriginAccessControlId).toEqual({ 'Fn::GetAtt': [oacId, 'Id'] });
  s.transparency.hasResourceProperties('AWS::CloudFront::OriginAccessControl', { OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' } });
  expect(config.Logging).toBeUndefined();
  s.transparency.resourceCountIs('AWS::CloudFront::RealtimeLogConfig', 0);
});

test('log distribution: the response headers policy adds security headers only, nothing about the client', () => {
  const policy = onlyResourceOfType(t, 'AWS::CloudFront::ResponseHeadersPolicy').Properties.ResponseHeadersPolicyConfig;
  expect(Object.keys(policy).sort()).toEqual(['Comment', 'Name', 'SecurityHeadersConfig']);
  expect(Object.keys(policy.SecurityHeadersConfig).sort()).toEqual(['ContentTypeOptions', 'FrameOptions', 'ReferrerPolicy', 'StrictTransportSecurity']);
});

test('log signing key: created empty, its value set out of band (nothing in the template, nothing generated)', () => {
  const secret = onlyResourceOfType(t, 'AWS::SecretsManager::Secret');
  expect(secret.Properties.Name).toBe(SECRET_NAMES.logSigningKey);
  expect(secret.Properties.SecretString).toBeUndefined();
  expect(secret.Properties.GenerateSecretString).toBeUndefined();
  expect(secret).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
});

test('log signing key: only the log-writer role may read it (resource policy), public policies blocked', () => {
  s.transparency.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
    BlockPublicPolicy: true,
    SecretId: { Ref: Object.keys(resourcesOfType(t, 'AWS::SecretsManager::Secret'))[0]! },
    ResourcePolicy: Match.exact({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'OnlyTheLogWriterReads',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: ['secretsmanager:GetSecretValue'],
          Resource: '*',
          Condition: { StringNotEquals: { 'aws:PrincipalArn': logWriterRole } },
        },
      ],
    }),
  });
});

test('audit trail: to the auditor\'s bucket, every region, log file validation, management events (KMS\'s included) and writes to the log and release buckets', () => {
  const trail = onlyResourceOfType(t, 'AWS::CloudTrail::Trail');
  expect(trail.Properties).toMatchObject({
    TrailName: 'pp-key-audit',
    S3BucketName: transparency.auditTrailBucketArn.split(':::')[1],
    S3KeyPrefix: transparency.auditTrailPrefix,
    IsLogging: true,
    IsMultiRegionTrail: true,
    IncludeGlobalServiceEvents: true,
    EnableLogFileValidation: true,
  });
  const selectors = trail.Properties.AdvancedEventSelectors;
  // KMS events are management events: nothing may exclude them (a trail can only NotEquals kms.amazonaws.com).
  expect(selectors[0].FieldSelectors).toEqual([{ Field: 'eventCategory', Equals: ['Management'] }]);
  expect(JSON.stringify(selectors)).not.toContain('NotEquals');
  expect(selectors[1].FieldSelectors).toEqual([
    { Field: 'eventCategory', Equals: ['Data'] },
    { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
    { Field: 'readOnly', Equals: ['false'] },
    { Field: 'resources.ARN', StartsWith: [`arn:aws:s3:::${buckets.log}/`, `arn:aws:s3:::${buckets.releases}/`] },
  ]);
  expect(trail).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  expect(trail.Properties.CloudWatchLogsLogGroupArn).toBeUndefined();
});

test('exports: only the log signing key\'s ARN, under its fixed name', () => {
  const exported = Object.values(t.Outputs as Record<string, any>).filter((o) => o.Export);
  expect(exported).toEqual([{ Value: { Ref: Object.keys(resourcesOfType(t, 'AWS::SecretsManager::Secret'))[0]! }, Export: { Name: EXPORT_NAMES.logSigningKeySecretArn } }]);
  expect(asList(JSON.stringify(t).match(/Fn::ImportValue/g) ?? [])).toEqual([]);
});

test('snapshot: the TransparencyStack template', () => {
  expect(t).toMatchSnapshot();
});
