// Rules a cloud security reviewer holds every template to, across all stacks (each stack's
// own tests say why its resources are as they are; these say nothing slipped through).
import { asList, resourcesOfType, synthesize, type Synthesized } from '../helpers/cdk';

let s: Synthesized;
let templates: [string, any][];
beforeAll(() => {
  s = synthesize();
  templates = Object.entries(s.json);
});

/** Every policy document in a template: identity, resource, endpoint, key and trust policies. */
function policyDocuments(template: any): { where: string; doc: any }[] {
  const out: { where: string; doc: any }[] = [];
  for (const [id, r] of Object.entries(template.Resources as Record<string, any>)) {
    const p = r.Properties ?? {};
    for (const key of ['PolicyDocument', 'AssumeRolePolicyDocument', 'KeyPolicy', 'ResourcePolicy']) if (p[key]?.Statement) out.push({ where: `${id}.${key}`, doc: p[key] });
  }
  return out;
}
const statements = (template: any) => policyDocuments(template).flatMap(({ where, doc }) => doc.Statement.map((st: any) => ({ where, st })));
const isEveryone = (principal: any) => principal === '*' || asList(principal?.AWS).includes('*');

test('no open Allow: every statement that allows everyone ("*") is bounded by a condition', () => {
  for (const [stack, t] of templates) {
    for (const { where, st } of statements(t)) {
      if (st.Effect === 'Allow' && isEveryone(st.Principal)) expect([stack, where, st.Condition !== undefined]).toEqual([stack, where, true]);
    }
  }
});

test('confused deputy: every Lambda permission for a service names its source (aws:SourceArn), every service trust its account', () => {
  for (const [stack, t] of templates) {
    for (const [id, p] of Object.entries(resourcesOfType(t, 'AWS::Lambda::Permission'))) expect([stack, id, p.Properties.SourceArn !== undefined]).toEqual([stack, id, true]);
    for (const { where, st } of statements(t)) {
      if (st.Action === 'sts:AssumeRole' && st.Principal?.Service && st.Principal.Service !== 'ec2.amazonaws.com') {
        expect([stack, where, st.Condition?.StringEquals?.['aws:SourceAccount']]).toEqual([stack, where, expect.stringMatching(/^\d{12}$/)]);
      }
    }
  }
});

test('no action wildcard in any Allow, in any stack', () => {
  for (const [stack, t] of templates) {
    for (const { where, st } of statements(t)) {
      if (st.Effect !== 'Allow') continue;
      for (const action of asList(st.Action)) expect([stack, where, action]).not.toEqual([stack, where, expect.stringContaining('*')]);
    }
  }
});

test('buckets: every bucket blocks public access, is encrypted, versioned, TLS-only and retained', () => {
  let count = 0;
  for (const [stack, t] of templates) {
    const policies = Object.values(resourcesOfType(t, 'AWS::S3::BucketPolicy'));
    for (const [id, b] of Object.entries(resourcesOfType(t, 'AWS::S3::Bucket'))) {
      count++;
      expect([stack, id, b.Properties.PublicAccessBlockConfiguration]).toEqual([stack, id, { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true }]);
      expect([stack, id, b.Properties.BucketEncryption !== undefined, b.Properties.VersioningConfiguration?.Status, b.DeletionPolicy]).toEqual([stack, id, true, 'Enabled', 'Retain']);
      const policy = policies.find((p) => p.Properties.Bucket.Ref === id);
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    }
  }
  expect(count).toBe(2);
});

test('log groups: every log group has a retention period and is retained', () => {
  for (const [stack, t] of templates) {
    for (const [id, g] of Object.entries(resourcesOfType(t, 'AWS::Logs::LogGroup'))) expect([stack, id, typeof g.Properties.RetentionInDays, g.DeletionPolicy]).toEqual([stack, id, 'number', 'Retain']);
  }
});

test('functions: every function has reserved concurrency and no X-Ray; every Function URL uses AWS_IAM', () => {
  for (const [stack, t] of templates) {
    for (const [id, f] of Object.entries(resourcesOfType(t, 'AWS::Lambda::Function'))) {
      expect([stack, id, typeof f.Properties.ReservedConcurrentExecutions]).toEqual([stack, id, 'number']);
      expect([stack, id, f.Properties.TracingConfig?.Mode ?? 'PassThrough']).toEqual([stack, id, 'PassThrough']);
    }
    for (const [id, u] of Object.entries(resourcesOfType(t, 'AWS::Lambda::Url'))) expect([stack, id, u.Properties.AuthType]).toEqual([stack, id, 'AWS_IAM']);
  }
});

test('no request logs: no CloudFront standard or real-time logs, no API execution or data-trace logging', () => {
  for (const [stack, t] of templates) {
    for (const d of Object.values(resourcesOfType(t, 'AWS::CloudFront::Distribution'))) expect([stack, d.Properties.DistributionConfig.Logging]).toEqual([stack, undefined]);
    expect([stack, Object.keys(resourcesOfType(t, 'AWS::CloudFront::RealtimeLogConfig'))]).toEqual([stack, []]);
    expect([stack, JSON.stringify(t)]).not.toEqual([stack, expect.stringMatching(/DataTraceEnabled|LoggingLevel/)]);
  }
});

test('identities: IAM roles only in the foundation (and the relay\'s own, in its account); KMS keys only in the keys stack; no custom resources', () => {
  for (const [stack, t] of templates) {
    const roles = Object.keys(resourcesOfType(t, 'AWS::IAM::Role')).length;
    if (stack !== 'foundation' && stack !== 'relay') expect([stack, roles]).toEqual([stack, 0]);
    if (stack !== 'releaseKeys') expect([stack, Object.keys(resourcesOfType(t, 'AWS::KMS::Key')).length]).toEqual([stack, 0]);
    for (const r of Object.values(t.Resources as Record<string, any>)) expect([stack, r.Type]).not.toEqual([stack, expect.stringMatching(/^Custom::|^AWS::CloudFormation::CustomResource$/)]);
  }
});

test('state is retained: tables, secrets, the trail and every role survive their stack', () => {
  for (const [stack, t] of templates) {
    for (const type of ['AWS::DynamoDB::Table', 'AWS::SecretsManager::Secret', 'AWS::CloudTrail::Trail', 'AWS::IAM::Role']) {
      for (const [id, r] of Object.entries(resourcesOfType(t, type))) {
        if (stack === 'relay') continue; // the relay operator's own account: its choice
        expect([stack, id, r.DeletionPolicy]).toEqual([stack, id, 'Retain']);
      }
    }
  }
});
