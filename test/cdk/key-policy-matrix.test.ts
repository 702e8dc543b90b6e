// The key-policy matrix on the SYNTHESIZED policies: each key's KeyPolicy read from the
// template (intrinsics resolved), evaluated by IAM's rules (@cloud-copilot/iam-simulate,
// strict mode) for every caller and KMS action, in the deployment's account and region
// with the key's own release measurement. Expectations are written out independently.
import { DEPLOYER_ACTIONS, FROZEN_ACTIONS } from '../../protocol';
import { ACTIONS, computeMatrix, POLICIES, renderMatrix, type Decision, type Matrix } from '../../scripts/key-policy-matrix';
import { callersForKey, keyTitle, synthesizedMatrix, type SynthesizedKey } from '../../scripts/cdk-key-policy-matrix';
import '../helpers/cdk';

const READS = ['kms:GetPublicKey', 'kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:ListGrants'];
const MODEL_READS = ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:ListGrants'];

/** What each caller may do, by key kind; everything else must be denied. */
const EXPECTED_ALLOWED: Record<'session' | 'model', Record<string, string[]>> = {
  session: {
    'worker, released measurement': ['kms:DeriveSharedSecret', ...READS],
    'worker session (assumed role), released measurement': ['kms:DeriveSharedSecret', ...READS],
    'worker, other measurement': READS,
    'worker, no attestation': READS,
    publisher: READS,
    'model owner': [],
    deployer: [...DEPLOYER_ACTIONS],
    'issuer rotation (Lambda)': [],
    'log writer (Lambda)': [],
    'account root': [],
    'IAM administrator (Allow *)': [],
    'gateway role (Allow kms:*)': [],
    'worker-named role, other account, released measurement': [],
  },
  model: {
    'worker, released measurement': ['kms:Decrypt', ...MODEL_READS],
    'worker session (assumed role), released measurement': ['kms:Decrypt', ...MODEL_READS],
    'worker, other measurement': MODEL_READS,
    'worker, no attestation': MODEL_READS,
    publisher: [],
    'model owner': ['kms:Encrypt'],
    deployer: [...DEPLOYER_ACTIONS],
    'issuer rotation (Lambda)': [],
    'log writer (Lambda)': [],
    'account root': [],
    'IAM administrator (Allow *)': [],
    'gateway role (Allow kms:*)': [],
    'worker-named role, other account, released measurement': [],
  },
};

let keys: SynthesizedKey[];
let matrix: Matrix<string>;
let callerLabels: string[];
beforeAll(async () => {
  const synthesized = await synthesizedMatrix();
  ({ keys, matrix } = synthesized);
  const config = synthesized.config;
  callerLabels = callersForKey(config, keys[0]!).map((c) => c.label);
}, 60_000);

const rowsOf = (key: SynthesizedKey) => matrix[keyTitle(key)]!;
const use = (key: SynthesizedKey) => (key.kind === 'session' ? 'kms:DeriveSharedSecret' : 'kms:Decrypt');

test('every synthesized key is in the matrix: one session key and one model key for the example release', () => {
  expect(keys.map((k) => [k.kind, k.logicalId])).toEqual([
    ['model', 'ModelKeyexampleH2026D11D27H1'],
    ['session', 'SessionKeyexampleH2026D11D27H1G1'],
  ]);
  expect(Object.keys(matrix)).toEqual(keys.map(keyTitle));
});

test('every caller is allowed exactly what it needs, on every key', () => {
  for (const key of keys) {
    for (const caller of callerLabels) {
      const allowed = ACTIONS.filter((a) => rowsOf(key)[caller]![a] === 'Allowed');
      expect([key.logicalId, caller, allowed.sort()]).toEqual([key.logicalId, caller, [...EXPECTED_ALLOWED[key.kind][caller]!].sort()]);
    }
  }
});

test('key material only with the released measurement: other measurement, no attestation, root, administrator, deployer, gateway, Lambdas and another account are denied its use', () => {
  for (const key of keys) {
    for (const caller of callerLabels.filter((c) => !c.endsWith(', released measurement') || c.includes('other account'))) {
      expect([key.logicalId, caller, ['Allowed'].includes(rowsOf(key)[caller]![use(key)]!)]).toEqual([key.logicalId, caller, false]);
    }
    // In the account, the use is denied explicitly (the Deny to everyone), not merely not allowed.
    for (const caller of ['worker, other measurement', 'worker, no attestation', 'account root', 'IAM administrator (Allow *)', 'deployer', 'gateway role (Allow kms:*)']) {
      expect([key.logicalId, caller, rowsOf(key)[caller]![use(key)]]).toEqual([key.logicalId, caller, 'ExplicitlyDenied']);
    }
  }
});

test('nobody may change a policy, add a grant, replicate, import, cancel a deletion or re-enable a key', () => {
  for (const key of keys) {
    for (const caller of callerLabels) {
      for (const action of FROZEN_ACTIONS) expect([key.logicalId, caller, action, rowsOf(key)[caller]![action]]).toEqual([key.logicalId, caller, action, 'ExplicitlyDenied' as Decision]);
    }
  }
});

test('the deployer may always revoke: DisableKey and ScheduleKeyDeletion are allowed on every key', () => {
  for (const key of keys) {
    expect(rowsOf(key).deployer!['kms:DisableKey']).toBe('Allowed');
    expect(rowsOf(key).deployer!['kms:ScheduleKeyDeletion']).toBe('Allowed');
  }
});

test('the account root, an IAM administrator, the gateway role and another account get nothing at all', () => {
  for (const key of keys) {
    for (const caller of ['account root', 'IAM administrator (Allow *)', 'gateway role (Allow kms:*)', 'worker-named role, other account, released measurement']) {
      expect([key.logicalId, caller, ACTIONS.filter((a) => rowsOf(key)[caller]![a] === 'Allowed')]).toEqual([key.logicalId, caller, []]);
    }
  }
});

test('the synthesized policies decide exactly as the policy functions do (the matrix of docs/key-policies.md)', async () => {
  const templates = await computeMatrix();
  for (const key of keys) {
    expect(rowsOf(key)).toEqual(templates[key.kind === 'session' ? 'session key' : 'model key']);
  }
  expect(Object.keys(POLICIES)).toEqual(['session key', 'model key']);
});

test('the matrix prints as markdown, one table per key (for the closing note)', () => {
  const text = renderMatrix(matrix);
  for (const key of keys) expect(text).toContain(`### ${keyTitle(key)}`);
  expect(text.split('\n').filter((l) => l.startsWith('| worker, released measurement |'))).toHaveLength(keys.length);
});
