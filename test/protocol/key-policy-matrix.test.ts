// The key policies evaluated by IAM's rules (@cloud-copilot/iam-simulate): who may do
// what to a session key and a model key. The expectations are written out here,
// independently of the policy code; docs/key-policies.md shows the same matrix.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FROZEN_ACTIONS } from '../../protocol';
import { ACTIONS, CALLERS, computeMatrix, renderMatrix, type Matrix } from '../../scripts/key-policy-matrix';

const READS = ['kms:GetPublicKey', 'kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:ListGrants'];
const DEPLOYER = ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:GetKeyRotationStatus', 'kms:ListResourceTags', 'kms:DisableKey', 'kms:ScheduleKeyDeletion'];

const EXPECTED_ALLOWED: Record<'session key' | 'model key', Record<string, string[]>> = {
  'session key': {
    'worker, released measurement': ['kms:DeriveSharedSecret', ...READS],
    'worker session (assumed role), released measurement': ['kms:DeriveSharedSecret', ...READS],
    'worker, other measurement': READS,
    'worker, no attestation': READS,
    publisher: READS,
    'model owner': [],
    deployer: DEPLOYER,
    'issuer rotation (Lambda)': [],
    'log writer (Lambda)': [],
    'account root': [],
    'IAM administrator (Allow *)': [],
    'gateway role (Allow kms:*)': [],
    'worker-named role, other account, released measurement': [],
  },
  'model key': {
    'worker, released measurement': ['kms:Decrypt', 'kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:ListGrants'],
    'worker session (assumed role), released measurement': ['kms:Decrypt', 'kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:ListGrants'],
    'worker, other measurement': ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:ListGrants'],
    'worker, no attestation': ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:ListGrants'],
    publisher: [],
    'model owner': ['kms:Encrypt'],
    deployer: DEPLOYER,
    'issuer rotation (Lambda)': [],
    'log writer (Lambda)': [],
    'account root': [],
    'IAM administrator (Allow *)': [],
    'gateway role (Allow kms:*)': [],
    'worker-named role, other account, released measurement': [],
  },
};

let matrix: Matrix;
beforeAll(async () => {
  matrix = await computeMatrix();
}, 60_000);

describe.each(['session key', 'model key'] as const)('%s', (key) => {
  test.each(CALLERS.map((c) => c.label))('%s is allowed exactly what it needs', (caller) => {
    const allowed = ACTIONS.filter((a) => matrix[key][caller]![a] === 'Allowed');
    expect(allowed.sort()).toEqual([...EXPECTED_ALLOWED[key][caller]!].sort());
  });

  test('nobody may change the policy, add a grant, replicate, import, cancel deletion or re-enable', () => {
    for (const caller of CALLERS) {
      for (const action of FROZEN_ACTIONS) expect([caller.label, action, matrix[key][caller.label]![action]]).toEqual([caller.label, action, 'ExplicitlyDenied']);
    }
  });

  test('using the key without the released measurement is explicitly denied to everyone in the account', () => {
    const use = key === 'session key' ? 'kms:DeriveSharedSecret' : 'kms:Decrypt';
    for (const caller of CALLERS.filter((c) => c.measurement === undefined || c.measurement !== CALLERS[0]!.measurement)) {
      if (caller.principal.includes('444455556666')) continue;
      expect([caller.label, matrix[key][caller.label]![use]]).toEqual([caller.label, 'ExplicitlyDenied']);
    }
  });

  test('the deployer may always revoke (disable, schedule deletion) and nothing more', () => {
    expect(matrix[key].deployer!['kms:DisableKey']).toBe('Allowed');
    expect(matrix[key].deployer!['kms:ScheduleKeyDeletion']).toBe('Allowed');
    expect(matrix[key].deployer!['kms:PutKeyPolicy']).toBe('ExplicitlyDenied');
  });
});

test('docs/key-policies.md shows this matrix', () => {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'key-policies.md'), 'utf8');
  expect(doc).toContain(renderMatrix(matrix));
});
