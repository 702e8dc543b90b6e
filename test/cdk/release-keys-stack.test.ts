// ReleaseKeysStack: every key is exactly the policy function's output, per release and
// rotation generation; generations and retirements change the set of keys, never a key.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { attestedKeyPolicy, checkKeyPolicy, checkModelKeyPolicy, modelKeyPolicy, ROLE_NAMES } from '../../protocol';
import { InfrastructureError } from '../../lib/errors';
import { STACK_NAMES } from '../../lib/names';
import { resolveIntrinsics } from '../../scripts/cdk-key-policy-matrix';
import { anotherRelease, EXAMPLE_CONFIG, EXAMPLE_MANIFEST, resourcesOfType, synthesize, writeDeployment, type Synthesized } from '../helpers/cdk';
import { expectCode } from '../helpers/fixtures';

const { account, region } = EXAMPLE_CONFIG;
const SESSION_KEY = 'SessionKeyexampleH2026D11D27H1G1';
const MODEL_KEY = 'ModelKeyexampleH2026D11D27H1';
const OTHER_PCR0 = 'ab'.repeat(48);

let s: Synthesized;
beforeAll(() => {
  s = synthesize();
});

const keysOf = (template: any) => resourcesOfType(template, 'AWS::KMS::Key');
const resolved = (template: any, logicalId: string) => resolveIntrinsics(template.Resources[logicalId].Properties.KeyPolicy, { account, region, resources: template.Resources });
const expectedPolicy = (kind: string, pcr0: string) =>
  kind === 'session' ? attestedKeyPolicy({ pcr0, account, region, roles: ROLE_NAMES }) : modelKeyPolicy({ pcr0, account, region, roles: ROLE_NAMES });

test('exact policy: every synthesized key policy, intrinsics resolved, deep-equals the policy function\'s output', () => {
  const keys = s.built.releaseKeys.keyDescriptions;
  expect(keys.map((k) => k.logicalId).sort()).toEqual([MODEL_KEY, SESSION_KEY]);
  for (const key of keys) {
    expect(resolved(s.json.releaseKeys, key.logicalId)).toEqual(expectedPolicy(key.kind, EXAMPLE_MANIFEST.measurements.pcr0));
    expect(key.pcr0).toBe(EXAMPLE_MANIFEST.measurements.pcr0);
  }
});

test('the enclave\'s own check: each synthesized policy passes checkKeyPolicy / checkModelKeyPolicy for the release and account', () => {
  const pcr0 = EXAMPLE_MANIFEST.measurements.pcr0;
  expect(checkKeyPolicy(JSON.stringify(s.json.releaseKeys.Resources[SESSION_KEY].Properties.KeyPolicy), pcr0, { account, region })).toEqual({ account, partition: 'aws' });
  expect(checkModelKeyPolicy(JSON.stringify(s.json.releaseKeys.Resources[MODEL_KEY].Properties.KeyPolicy), pcr0, { account, region })).toEqual({ account, partition: 'aws' });
});

test('literal policies: no key policy contains an intrinsic (a frozen policy names literal ARNs)', () => {
  for (const key of Object.values(keysOf(s.json.releaseKeys))) {
    const text = JSON.stringify(key.Properties.KeyPolicy);
    expect(text).not.toMatch(/"Ref"|"Fn::/);
  }
});

test('key shape: session keys are ECC_NIST_P256 KEY_AGREEMENT, model keys symmetric; AWS_KMS origin, single region, enabled, no rotation, nothing else', () => {
  const properties = (id: string) => s.json.releaseKeys.Resources[id].Properties;
  const common = { Origin: 'AWS_KMS', MultiRegion: false, Enabled: true, EnableKeyRotation: false, BypassPolicyLockoutSafetyCheck: true, PendingWindowInDays: EXAMPLE_CONFIG.keys.pendingWindowDays };
  expect(properties(SESSION_KEY)).toEqual({
    ...common,
    KeySpec: 'ECC_NIST_P256',
    KeyUsage: 'KEY_AGREEMENT',
    KeyPolicy: expect.any(Object),
    Description: 'Private Processing session key, release example-2026.11.27-1, generation 1',
  });
  expect(properties(MODEL_KEY)).toEqual({
    ...common,
    KeySpec: 'SYMMETRIC_DEFAULT',
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeyPolicy: expect.any(Object),
    Description: 'Private Processing model key, release example-2026.11.27-1',
  });
});

test('bypass lockout check: every key is created with BypassPolicyLockoutSafetyCheck (its policy names no administrator)', () => {
  for (const key of Object.values(keysOf(s.json.releaseKeys))) expect(key.Properties.BypassPolicyLockoutSafetyCheck).toBe(true);
});

test('no tags: no key carries tags', () => {
  for (const key of Object.values(keysOf(s.json.releaseKeys))) expect(key.Properties.Tags).toBeUndefined();
});

test('no encryption context: nothing in the keys stack conditions on or mentions an encryption context', () => {
  expect(JSON.stringify(s.json.releaseKeys)).not.toMatch(/EncryptionContext/i);
});

test('retirement schedules deletion: removing a key from the template deletes it after the pending window', () => {
  for (const key of Object.values(keysOf(s.json.releaseKeys))) {
    expect(key.DeletionPolicy).toBe('Delete');
    expect(key.UpdateReplacePolicy).toBe('Delete');
    expect(key.Properties.PendingWindowInDays).toBe(7);
  }
});

test('termination protection and order: the keys stack is protected and deployed after the foundation that its policies name', () => {
  expect(s.built.releaseKeys.terminationProtection).toBe(true);
  expect(s.built.releaseKeys.dependencies.map((d) => d.stackName)).toEqual([STACK_NAMES.foundation]);
});

test('outputs: the ARN of every key, and nothing exported', () => {
  expect(s.json.releaseKeys.Outputs).toEqual({
    [`${MODEL_KEY}Arn`]: { Description: expect.any(String), Value: { 'Fn::GetAtt': [MODEL_KEY, 'Arn'] } },
    [`${SESSION_KEY}Arn`]: { Description: expect.any(String), Value: { 'Fn::GetAtt': [SESSION_KEY, 'Arn'] } },
  });
});

test('stable logical ids: release id characters map one to one (. to D, - to H)', () => {
  expect(Object.keys(keysOf(s.json.releaseKeys)).sort()).toEqual([MODEL_KEY, SESSION_KEY]);
});

describe('generations and releases', () => {
  const withGenerations = (states: string[], extra: (c: typeof EXAMPLE_CONFIG) => void = () => {}) =>
    writeDeployment((c) => {
      c.releases[0]!.sessionKeys = states.map((state, i) => ({ generation: i + 1, notBefore: `2026-12-${String(1 + 7 * i).padStart(2, '0')}T00:00:00Z`, state }));
      extra(c);
    });

  test('rotation adds a key: a second live generation is a new key, and the first is byte for byte the same', () => {
    const rotated = synthesize({ configPath: withGenerations(['live', 'live']) });
    const keys = keysOf(rotated.json.releaseKeys);
    expect(Object.keys(keys).sort()).toEqual([MODEL_KEY, SESSION_KEY, 'SessionKeyexampleH2026D11D27H1G2'].sort());
    expect(keys[SESSION_KEY]).toEqual(s.json.releaseKeys.Resources[SESSION_KEY]);
    expect(keys[MODEL_KEY]).toEqual(s.json.releaseKeys.Resources[MODEL_KEY]);
    expect(keys.SessionKeyexampleH2026D11D27H1G2.Properties.KeyPolicy).toEqual(keys[SESSION_KEY].Properties.KeyPolicy);
  });

  test('retired generations are left out: only live generations are synthesized', () => {
    const retired = synthesize({ configPath: withGenerations(['retired', 'live']) });
    expect(Object.keys(keysOf(retired.json.releaseKeys)).sort()).toEqual([MODEL_KEY, 'SessionKeyexampleH2026D11D27H1G2']);
  });

  test('a retired release keeps no key; the stack keeps a placeholder so it stays deployable', () => {
    const none = synthesize({ configPath: withGenerations(['retired'], (c) => (c.releases[0]!.modelKey = 'retired')) });
    expect(keysOf(none.json.releaseKeys)).toEqual({});
    none.releaseKeys.resourceCountIs('AWS::CloudFormation::WaitConditionHandle', 1);
  });

  test('a second release gets its own keys with its own measurement', () => {
    const second = anotherRelease('2026.12.04-2', OTHER_PCR0);
    const configPath = writeDeployment(
      (c) => {
        c.releases.push({ manifest: 'releases/2026.12.04-2.json', modelKey: 'live', sessionKeys: [{ generation: 1, notBefore: '2026-12-04T00:00:00Z', state: 'live' }] });
      },
      { manifests: [second] },
    );
    const two = synthesize({ configPath });
    const keys = keysOf(two.json.releaseKeys);
    expect(Object.keys(keys).sort()).toEqual([MODEL_KEY, 'ModelKey2026D12D04H2', SESSION_KEY, 'SessionKey2026D12D04H2G1'].sort());
    expect(resolved(two.json.releaseKeys, 'SessionKey2026D12D04H2G1')).toEqual(expectedPolicy('session', OTHER_PCR0));
    expect(resolved(two.json.releaseKeys, 'ModelKey2026D12D04H2')).toEqual(expectedPolicy('model', OTHER_PCR0));
  });

  test('emulated release outside local mode: refused with EMULATED_RELEASE_OUTSIDE_LOCAL_MODE', async () => {
    const emulated = anotherRelease('2026.12.04-local', OTHER_PCR0, 'emulated');
    const configPath = writeDeployment((c) => (c.releases[0]!.manifest = 'releases/2026.12.04-local.json'), { manifests: [emulated] });
    await expectCode(() => synthesize({ configPath }), InfrastructureError, 'EMULATED_RELEASE_OUTSIDE_LOCAL_MODE');
    await expectCode(() => synthesize({ configPath, context: { mode: 'production' } }), InfrastructureError, 'EMULATED_RELEASE_OUTSIDE_LOCAL_MODE');
    // Local mode (-c mode=local) accepts it, for local stacks only.
    const local = synthesize({ configPath, context: { mode: 'local' } });
    expect(Object.keys(keysOf(local.json.releaseKeys))).toContain('SessionKey2026D12D04Hlocal' + 'G1');
  });

  test('an unknown mode is refused: CONFIG_INVALID', async () => {
    await expectCode(() => synthesize({ context: { mode: 'staging' } }), InfrastructureError, 'CONFIG_INVALID');
  });
});

test('snapshot: the ReleaseKeysStack template', () => {
  expect(s.json.releaseKeys).toMatchSnapshot();
});

test('stack policy: deploy/stack-policy-release-keys.json denies exactly Update:Delete and Update:Replace of a KMS key, and allows every other update', () => {
  const policy = JSON.parse(readFileSync(join(__dirname, '..', '..', 'deploy', 'stack-policy-release-keys.json'), 'utf8'));
  expect(policy).toEqual({
    Statement: [
      { Effect: 'Allow', Principal: '*', Action: 'Update:*', Resource: '*' },
      { Effect: 'Deny', Principal: '*', Action: ['Update:Delete', 'Update:Replace'], Resource: '*', Condition: { StringEquals: { ResourceType: ['AWS::KMS::Key'] } } },
    ],
  });
  // Every resource of the stack it guards is a KMS key, so the Deny covers each of them.
  const types = new Set(Object.values(s.json.releaseKeys.Resources as Record<string, any>).map((r) => r.Type));
  expect([...types].filter((t) => t !== 'AWS::CDK::Metadata')).toEqual(['AWS::KMS::Key']);
});
