import {
  KeyPolicyError,
  ROLE_NAMES,
  attestedKeyPolicy,
  checkGrants,
  checkKeyMetadata,
  checkKeyPolicy,
  checkModelKeyPolicy,
  keyPolicyJson,
  modelKeyPolicy,
  type KeyPolicy,
} from '../../protocol';
import { expectCode, loadJson } from '../helpers/fixtures';
import * as F from '../helpers/formats';

const G = loadJson('formats/golden.json');
const params = { pcr0: F.PCR0, account: F.ACCOUNT, region: F.REGION, roles: ROLE_NAMES };
const template = (): KeyPolicy => JSON.parse(keyPolicyJson(attestedKeyPolicy(params)));
const json = (p: unknown) => JSON.stringify(p);
const worker = `arn:aws:iam::${F.ACCOUNT}:role/${ROLE_NAMES.worker}`;

async function expectPolicyCode(policy: unknown, code: string, options = {}) {
  const text = typeof policy === 'string' ? policy : json(policy);
  await expectCode(() => checkKeyPolicy(text, F.PCR0, options), KeyPolicyError, code);
}

/** A copy of the template with statement `i` changed by `edit`. */
function withStatement(i: number, edit: (s: Record<string, unknown>) => void): KeyPolicy {
  const p = template();
  edit(p.Statement[i] as unknown as Record<string, unknown>);
  return p;
}

describe('the templates', () => {
  test('golden policy documents (a change here changes every future key)', () => {
    expect(F.SESSION_POLICY).toBe(G.session_key_policy);
    expect(F.MODEL_POLICY).toBe(G.model_key_policy);
  });

  test('each role is a fixed-name role ARN in the key’s own account, never *, :root or another account', () => {
    const principals = template()
      .Statement.filter((s) => s.Effect === 'Allow')
      .flatMap((s) => [s.Principal.AWS].flat());
    expect(principals.length).toBeGreaterThan(0);
    for (const p of principals) expect(p).toMatch(new RegExp(`^arn:aws:iam::${F.ACCOUNT}:role/pp-[a-z-]+$`));
  });

  test('partitions follow the region', () => {
    const cn = attestedKeyPolicy({ ...params, region: 'cn-north-1' });
    expect(json(cn)).toContain('arn:aws-cn:iam::');
    expect(json(attestedKeyPolicy({ ...params, region: 'us-gov-west-1' }))).toContain('arn:aws-us-gov:iam::');
  });

  test('bad parameters are refused', async () => {
    await expectCode(() => attestedKeyPolicy({ ...params, pcr0: '0'.repeat(96) }), KeyPolicyError, 'POLICY_MALFORMED');
    await expectCode(() => attestedKeyPolicy({ ...params, pcr0: F.PCR0.toUpperCase() }), KeyPolicyError, 'POLICY_MALFORMED');
    await expectCode(() => attestedKeyPolicy({ ...params, account: '*' }), KeyPolicyError, 'POLICY_MALFORMED');
    await expectCode(() => attestedKeyPolicy({ ...params, roles: { ...ROLE_NAMES, worker: 'role/*' } }), KeyPolicyError, 'POLICY_MALFORMED');
    await expectCode(() => modelKeyPolicy({ ...params, region: 'moon-1' }), KeyPolicyError, 'POLICY_MALFORMED');
  });
});

describe('checkKeyPolicy accepts the template, however it is serialized', () => {
  test('compact, pretty-printed, and with keys in another order; upper-case PCR0 from the caller', () => {
    expect(checkKeyPolicy(F.SESSION_POLICY, F.PCR0)).toEqual({ account: F.ACCOUNT, partition: 'aws' });
    expect(checkKeyPolicy(JSON.stringify(template(), null, 4), F.PCR0.toUpperCase(), { account: F.ACCOUNT, region: F.REGION }).account).toBe(F.ACCOUNT);
    const reordered = template().Statement.map((s) => Object.fromEntries(Object.entries(s).reverse()));
    checkKeyPolicy(json({ Statement: reordered, Id: 'private-processing-session-key', Version: '2012-10-17' }), F.PCR0);
    expect(checkModelKeyPolicy(F.MODEL_POLICY, F.PCR0).account).toBe(F.ACCOUNT);
  });
});

describe('checkKeyPolicy refuses, each with its code', () => {
  test('an extra measurement in another Allow statement', async () => {
    const p = template();
    p.Statement.push({ ...p.Statement[0]!, Sid: 'Extra', Condition: { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': 'cd'.repeat(48) } } });
    await expectPolicyCode(p, 'FORBIDDEN_CONDITION');
  });

  test('a policy for another release (the check runs with our own PCR0)', async () => {
    await expectCode(() => checkKeyPolicy(F.SESSION_POLICY, 'cd'.repeat(48)), KeyPolicyError, 'FORBIDDEN_CONDITION');
  });

  test('a wildcard in the measurement', async () => {
    await expectPolicyCode(withStatement(0, (s) => ((s.Condition as any).StringEqualsIgnoreCase['kms:RecipientAttestation:ImageSha384'] = `${F.PCR0.slice(0, 90)}*`)), 'FORBIDDEN_CONDITION');
  });

  test('an …IfExists operator', async () => {
    await expectPolicyCode(
      withStatement(0, (s) => (s.Condition = { StringEqualsIgnoreCaseIfExists: { 'kms:RecipientAttestation:ImageSha384': F.PCR0 } })),
      'FORBIDDEN_CONDITION',
    );
  });

  test('a Null condition', async () => {
    await expectPolicyCode(withStatement(3, (s) => (s.Condition = { Null: { 'kms:RecipientAttestation:ImageSha384': 'true' } })), 'FORBIDDEN_CONDITION');
  });

  test('a multi-valued condition', async () => {
    await expectPolicyCode(
      withStatement(0, (s) => ((s.Condition as any).StringEqualsIgnoreCase['kms:RecipientAttestation:ImageSha384'] = [F.PCR0, 'cd'.repeat(48)])),
      'FORBIDDEN_CONDITION',
    );
  });

  test('a condition on another key (e.g. PCR8 or the caller account)', async () => {
    await expectPolicyCode(withStatement(0, (s) => ((s.Condition as any).StringEqualsIgnoreCase['kms:RecipientAttestation:PCR8'] = F.PCR0)), 'FORBIDDEN_CONDITION');
  });

  test('NotAction', async () => {
    await expectPolicyCode(
      withStatement(1, (s) => {
        s.NotAction = s.Action;
        delete s.Action;
      }),
      'FORBIDDEN_ELEMENT',
    );
  });

  test('NotPrincipal', async () => {
    await expectPolicyCode(
      withStatement(4, (s) => {
        s.NotPrincipal = { AWS: worker };
        delete s.Principal;
      }),
      'FORBIDDEN_ELEMENT',
    );
  });

  test('a missing Deny (either one)', async () => {
    const noUnattestedDeny = template();
    noUnattestedDeny.Statement.splice(3, 1);
    await expectPolicyCode(noUnattestedDeny, 'POLICY_MISMATCH');
    const noFrozenDeny = template();
    noFrozenDeny.Statement.splice(4, 1);
    await expectPolicyCode(noFrozenDeny, 'POLICY_MISMATCH');
  });

  test('a Deny that lists fewer frozen actions', async () => {
    await expectPolicyCode(withStatement(4, (s) => (s.Action = (s.Action as string[]).filter((a) => a !== 'kms:EnableKey'))), 'POLICY_MISMATCH');
  });

  test.each([
    ['everyone (*)', '*'],
    ['the account root', `arn:aws:iam::${F.ACCOUNT}:root`],
    ['another account', `arn:aws:iam::444455556666:role/${ROLE_NAMES.worker}`],
    ['a unique id', 'AROAEXAMPLEUNIQUEID123'],
    ['a user', `arn:aws:iam::${F.ACCOUNT}:user/admin`],
    ['a role that is not one of the fixed names', `arn:aws:iam::${F.ACCOUNT}:role/pp-enclave-worker-2`],
    ['an assumed-role session', `arn:aws:sts::${F.ACCOUNT}:assumed-role/${ROLE_NAMES.worker}/session`],
  ])('an Allow to %s', async (_label, principal) => {
    await expectPolicyCode(withStatement(1, (s) => ((s.Principal as any).AWS = [worker, principal])), 'FORBIDDEN_PRINCIPAL');
  });

  test('a service principal, or a principal in another account than the key’s', async () => {
    await expectPolicyCode(withStatement(1, (s) => (s.Principal = { Service: 'ec2.amazonaws.com' })), 'FORBIDDEN_PRINCIPAL');
    await expectPolicyCode(F.SESSION_POLICY, 'FORBIDDEN_PRINCIPAL', { account: '444455556666' });
  });

  test.each(['kms:PutKeyPolicy', 'kms:CreateGrant', 'kms:CancelKeyDeletion', 'kms:EnableKey', 'kms:*', 'kms:Put*', 'kms:Encrypt', 'kms:Decrypt'])(
    'an Allow of %s',
    async (action) => {
      await expectPolicyCode(withStatement(2, (s) => (s.Action = [...(s.Action as string[]), action])), 'FORBIDDEN_ACTION');
    },
  );

  test('kms:Encrypt on a session key even for the worker', async () => {
    await expectPolicyCode(withStatement(0, (s) => (s.Action = ['kms:DeriveSharedSecret', 'kms:Encrypt'])), 'FORBIDDEN_ACTION');
  });

  test('duplicate JSON keys (two parsers could read two policies)', async () => {
    const dup = F.SESSION_POLICY.replace('"Version":"2012-10-17"', '"Version":"2012-10-17","Version":"2012-10-17"');
    await expectPolicyCode(dup, 'DUPLICATE_KEY');
    const dupCondition = F.SESSION_POLICY.replace(
      `"kms:RecipientAttestation:ImageSha384":"${F.PCR0}"}`,
      `"kms:RecipientAttestation:ImageSha384":"${F.PCR0}","kms:RecipientAttestation:ImageSha384":"${'cd'.repeat(48)}"}`,
    );
    expect(dupCondition).not.toBe(F.SESSION_POLICY);
    await expectPolicyCode(dupCondition, 'DUPLICATE_KEY');
  });

  test('not JSON, not a policy, an unknown element', async () => {
    await expectPolicyCode('{', 'POLICY_MALFORMED');
    await expectPolicyCode('[]', 'POLICY_MALFORMED');
    await expectPolicyCode({ ...template(), Version: '2008-10-17' }, 'POLICY_MALFORMED');
    await expectPolicyCode(withStatement(1, (s) => (s.Effect = 'Maybe')), 'POLICY_MALFORMED');
    await expectPolicyCode(withStatement(1, (s) => (s.Whatever = 1)), 'POLICY_MALFORMED');
  });

  test('an extra statement that grants nothing new, or another Id, is still not the template', async () => {
    const p = template();
    p.Statement.push({ ...p.Statement[1]!, Sid: 'Again' });
    await expectPolicyCode(p, 'POLICY_MISMATCH');
    await expectPolicyCode({ ...template(), Id: 'other' }, 'POLICY_MISMATCH');
  });

  test('the model key check refuses the session key policy and the reverse', async () => {
    await expectCode(() => checkModelKeyPolicy(F.SESSION_POLICY, F.PCR0), KeyPolicyError, 'FORBIDDEN_ACTION');
    await expectCode(() => checkKeyPolicy(F.MODEL_POLICY, F.PCR0), KeyPolicyError, 'FORBIDDEN_ACTION');
  });
});

describe('checkKeyMetadata', () => {
  const good = JSON.parse(F.DESCRIBE_KEY);

  test('accepts a single-region, enabled, KMS-generated P-256 key-agreement key (response or text)', () => {
    checkKeyMetadata(good);
    checkKeyMetadata(F.DESCRIBE_KEY);
    checkKeyMetadata(good.KeyMetadata);
  });

  test.each([
    ['multi-region', { MultiRegion: true }, 'MULTI_REGION'],
    ['imported key material', { Origin: 'EXTERNAL' }, 'WRONG_ORIGIN'],
    ['a CloudHSM key store', { Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: 'cks-1234567890abcdef0' }, 'CUSTOM_KEY_STORE'],
    ['an external key store', { Origin: 'EXTERNAL_KEY_STORE' }, 'WRONG_ORIGIN'],
    ['an AWS managed key', { KeyManager: 'AWS' }, 'WRONG_ORIGIN'],
    ['disabled', { Enabled: false, KeyState: 'Disabled' }, 'KEY_NOT_ENABLED'],
    ['pending deletion', { Enabled: false, KeyState: 'PendingDeletion' }, 'KEY_NOT_ENABLED'],
    ['another spec', { KeySpec: 'ECC_NIST_P384' }, 'WRONG_KEY_SPEC'],
    ['another usage', { KeyUsage: 'SIGN_VERIFY' }, 'WRONG_KEY_USAGE'],
    ['MultiRegion missing', { MultiRegion: undefined }, 'MULTI_REGION'],
  ])('%s is %s', async (_label, change, code) => {
    await expectCode(() => checkKeyMetadata({ KeyMetadata: { ...good.KeyMetadata, ...change } }), KeyPolicyError, code);
  });

  test('a model key is symmetric and for encryption', async () => {
    const model = { ...good.KeyMetadata, KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' };
    checkKeyMetadata(model, 'model');
    await expectCode(() => checkKeyMetadata(model, 'session'), KeyPolicyError, 'WRONG_KEY_SPEC');
    await expectCode(() => checkKeyMetadata(good, 'model'), KeyPolicyError, 'WRONG_KEY_SPEC');
  });

  test('text that is not JSON is POLICY_MALFORMED', async () => {
    await expectCode(() => checkKeyMetadata('{"KeyMetadata":'), KeyPolicyError, 'POLICY_MALFORMED');
  });
});

describe('checkGrants', () => {
  test('no grants passes; any grant, or a truncated list, is GRANTS_PRESENT', async () => {
    checkGrants({ Grants: [] });
    checkGrants([]);
    await expectCode(() => checkGrants({ Grants: [{ GrantId: 'g', GranteePrincipal: worker }] }), KeyPolicyError, 'GRANTS_PRESENT');
    await expectCode(() => checkGrants({ Grants: [], Truncated: true }), KeyPolicyError, 'GRANTS_PRESENT');
    await expectCode(() => checkGrants({} as { Grants: [] }), KeyPolicyError, 'POLICY_MALFORMED');
  });
});
