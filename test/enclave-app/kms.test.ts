// End to end on one machine (DESIGN.md §2): the session key never leaves KMS, and each
// request's DH is released only to a released enclave. The KMS emulator speaks the
// real protocol to the unchanged AWS SDK and decides every call by the key policy.
import { generateKeyPairSync } from 'node:crypto';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeriveSharedSecretCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  PutKeyPolicyCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import {
  CmsError,
  KeyPolicyError,
  ROLE_NAMES,
  attestedKeyPolicy,
  decapsulateRequest,
  encapsulateRequest,
  generateKeyPair,
  KEM_P256_HKDF_SHA256,
  keyPolicyJson,
  openCiphertextForRecipient,
  p256SpkiFromRaw,
  roleArn,
} from '../../protocol';
import { NsmClient } from '../../enclave-app/nsm/client';
import { KmsClientError } from '../../enclave-app/kms/errors';
import { checkSessionKey, decryptModelDataKey } from '../../enclave-app/kms/key-check';
import { createRoot } from '../../local/nsm-emulator/ca';
import { expectCode } from '../helpers/fixtures';
import { ACCOUNT, IDENTITIES, MODIFIED, REGION, RELEASED, kmsWorld, type KmsWorld } from '../helpers/kms';

let world: KmsWorld;
let sessionKey: string;
let modelKey: string;
let wrappedDataKey: Uint8Array;
const DATA_KEY = new Uint8Array(32).fill(0x5a);

beforeAll(async () => {
  world = await kmsWorld();
  sessionKey = await world.createKey({ spec: 'session' });
  modelKey = await world.createKey({ spec: 'model' });
  // The model owner wraps the model data key once per release.
  const out = await world.client('modelOwner').send(new EncryptCommand({ KeyId: modelKey, Plaintext: DATA_KEY }));
  wrappedDataKey = out.CiphertextBlob!;
}, 30_000);

afterAll(() => world.stop());

/** An exception name from a raw SDK call. */
async function exceptionOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'none';
  } catch (err) {
    return (err as Error).name;
  }
}

const encSpki = () => p256SpkiFromRaw(generateKeyPair(KEM_P256_HKDF_SHA256).publicKey);

describe('the released enclave', () => {
  test('checks its session key, opens an OHTTP request through DeriveSharedSecret, and gets the model data key', async () => {
    const nsm = await world.nsm();
    const { kms } = world.enclave(nsm);
    const checked = await checkSessionKey(kms, sessionKey, RELEASED.pcr0);
    expect(checked.keyConfig.kemId).toBe(KEM_P256_HKDF_SHA256);

    // A client encrypts to the key configuration the enclave built from GetPublicKey.
    const body = new TextEncoder().encode('summarise: the canary is 7f3a');
    const { encapsulated, context } = await encapsulateRequest(checked.keyConfig, body);
    const { request, context: server } = await decapsulateRequest([{ config: checked.keyConfig, dh: kms.dhFor(sessionKey) }], encapsulated);
    expect(new TextDecoder().decode(request)).toBe('summarise: the canary is 7f3a');
    const reply = await server.encapsulateResponse(new TextEncoder().encode('ok'));
    expect(new TextDecoder().decode(await context.decapsulateResponse(reply))).toBe('ok');

    expect(Buffer.from(await decryptModelDataKey(kms, modelKey, wrappedDataKey, RELEASED.pcr0)).equals(Buffer.from(DATA_KEY))).toBe(true);
  });

  test('KMS never returns the secret itself when asked with a Recipient', async () => {
    const nsm = await world.nsm();
    const { recipient } = world.enclave(nsm);
    const identity = await recipient.current();
    const out = await world.client('worker').send(
      new DeriveSharedSecretCommand({
        KeyId: sessionKey,
        KeyAgreementAlgorithm: 'ECDH',
        PublicKey: encSpki(),
        Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: identity.attestationDocument },
      }),
    );
    expect(out.SharedSecret).toBeUndefined();
    expect(openCiphertextForRecipient(out.CiphertextForRecipient!, identity.privateKey, identity.spki)).toHaveLength(32);
    const decrypted = await world.client('worker').send(
      new DecryptCommand({ CiphertextBlob: wrappedDataKey, Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: identity.attestationDocument } }),
    );
    expect(decrypted.Plaintext).toBeUndefined();
    expect(decrypted.CiphertextForRecipient).toBeDefined();
  });
});

describe('who and what is refused key material', () => {
  test('an enclave of another measurement (modified code)', async () => {
    const { kms } = world.enclave(await world.nsm({ measurement: MODIFIED }));
    await expectCode(() => kms.deriveSharedSecret(sessionKey, generateKeyPair(KEM_P256_HKDF_SHA256).publicKey), KmsClientError, 'ACCESS_DENIED');
    await expectCode(() => kms.decrypt(modelKey, wrappedDataKey), KmsClientError, 'ACCESS_DENIED');
  });

  test('a debug-mode enclave of the released image', async () => {
    const { kms } = world.enclave(await world.nsm({ debug: true }));
    await expectCode(() => kms.deriveSharedSecret(sessionKey, generateKeyPair(KEM_P256_HKDF_SHA256).publicKey), KmsClientError, 'ACCESS_DENIED');
  });

  test('the worker role without a Recipient', async () => {
    const name = await exceptionOf(world.client('worker').send(new DeriveSharedSecretCommand({ KeyId: sessionKey, KeyAgreementAlgorithm: 'ECDH', PublicKey: encSpki() })));
    expect(name).toBe('AccessDeniedException');
    expect(await exceptionOf(world.client('worker').send(new DecryptCommand({ CiphertextBlob: wrappedDataKey })))).toBe('AccessDeniedException');
  });

  test('a Recipient whose chain is no longer valid (leaf expired)', async () => {
    const old = new Date(Date.now() - 5 * 3600_000);
    const { kms } = world.enclave(await world.nsm({ now: () => old }));
    await expectCode(() => kms.deriveSharedSecret(sessionKey, generateKeyPair(KEM_P256_HKDF_SHA256).publicKey), KmsClientError, 'INVALID_RECIPIENT');
  });

  test('a Recipient from another root', async () => {
    const foreign = await createRoot(new Date(Date.now() - 86_400_000));
    const { kms } = world.enclave(await world.nsm({ root: foreign }));
    await expectCode(() => kms.deriveSharedSecret(sessionKey, generateKeyPair(KEM_P256_HKDF_SHA256).publicKey), KmsClientError, 'INVALID_RECIPIENT');
  });

  test.each(['root', 'admin', 'deployer', 'publisher', 'modelOwner', 'otherAccount'] as const)(
    '%s, even presenting the released enclave’s own attestation document',
    async (who) => {
      const { recipient } = world.enclave(await world.nsm());
      const identity = await recipient.current();
      const withRecipient = { Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' as const, AttestationDocument: identity.attestationDocument } };
      const client: KMSClient = world.client(who);
      const derive = await exceptionOf(client.send(new DeriveSharedSecretCommand({ KeyId: sessionKey, KeyAgreementAlgorithm: 'ECDH', PublicKey: encSpki(), ...withRecipient })));
      expect(['AccessDeniedException', 'NotFoundException']).toContain(derive);
      const decrypt = await exceptionOf(client.send(new DecryptCommand({ CiphertextBlob: wrappedDataKey, ...withRecipient })));
      expect(['AccessDeniedException', 'NotFoundException']).toContain(decrypt);
    },
  );

  test('a document carrying another RSA key is accepted by KMS, and its answer refused by the enclave (RECIPIENT_MISMATCH)', async () => {
    const nsm = await world.nsm();
    const { recipient } = world.enclave(nsm);
    const ours = await recipient.current();
    // Someone obtains a genuine document of the released image that carries their own RSA key…
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const attackerSpki = new Uint8Array(attacker.publicKey.export({ format: 'der', type: 'spki' }));
    const document = await new NsmClient(nsm).attestation({ publicKey: attackerSpki });
    const out = await world.client('worker').send(
      new DeriveSharedSecretCommand({
        KeyId: sessionKey,
        KeyAgreementAlgorithm: 'ECDH',
        PublicKey: encSpki(),
        Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: document },
      }),
    );
    // …and hands the answer to the enclave, which sees it was not encrypted to its key.
    await expectCode(() => openCiphertextForRecipient(out.CiphertextForRecipient!, ours.privateKey, ours.spki), CmsError, 'RECIPIENT_MISMATCH');
  });

  test('a document whose public key is not RSA-2048 is refused by KMS', async () => {
    const nsm = await world.nsm();
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const document = await new NsmClient(nsm).attestation({ publicKey: new Uint8Array(ec.publicKey.export({ format: 'der', type: 'spki' })) });
    const name = await exceptionOf(
      world.client('worker').send(
        new DeriveSharedSecretCommand({ KeyId: sessionKey, KeyAgreementAlgorithm: 'ECDH', PublicKey: encSpki(), Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: document } }),
      ),
    );
    expect(name).toBe('ValidationException');
  });
});

describe('frozen keys stay frozen', () => {
  test('nobody can change the policy or add a grant; the deployer can disable (revoke)', async () => {
    const policy = keyPolicyJson(attestedKeyPolicy({ pcr0: RELEASED.pcr0, account: ACCOUNT, region: REGION, roles: ROLE_NAMES }));
    for (const who of ['deployer', 'root', 'admin', 'worker'] as const) {
      expect(await exceptionOf(world.client(who).send(new PutKeyPolicyCommand({ KeyId: sessionKey, Policy: policy, PolicyName: 'default' })))).toBe('AccessDeniedException');
      expect(await exceptionOf(world.client(who).send(new CreateGrantCommand({ KeyId: sessionKey, GranteePrincipal: IDENTITIES.admin.principal.arn, Operations: ['DeriveSharedSecret'] })))).toBe(
        'AccessDeniedException',
      );
    }
    const revocable = await world.createKey({ spec: 'session' });
    const { DisableKeyCommand } = await import('@aws-sdk/client-kms');
    await world.client('deployer').send(new DisableKeyCommand({ KeyId: revocable }));
    const { kms } = world.enclave(await world.nsm());
    await expectCode(() => checkSessionKey(kms, revocable, RELEASED.pcr0), KeyPolicyError, 'KEY_NOT_ENABLED');
    await expectCode(() => kms.deriveSharedSecret(revocable, generateKeyPair(KEM_P256_HKDF_SHA256).publicKey), KmsClientError, 'KEY_UNUSABLE');
  });

  test('creating a frozen key without BypassPolicyLockoutSafetyCheck fails KMS’s lockout check', async () => {
    const policy = keyPolicyJson(attestedKeyPolicy({ pcr0: RELEASED.pcr0, account: ACCOUNT, region: REGION, roles: ROLE_NAMES }));
    const name = await exceptionOf(
      world.client('deployer').send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT', Policy: policy, BypassPolicyLockoutSafetyCheck: false })),
    );
    expect(name).toBe('MalformedPolicyDocumentException');
    expect(await exceptionOf(world.client('worker').send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT', Policy: policy, BypassPolicyLockoutSafetyCheck: true })))).toBe(
      'AccessDeniedException',
    );
  });
});

describe('the enclave refuses to serve under a key that is not exactly the release’s', () => {
  /** A test key whose policy lets the deployer change it (never how a real key is created). */
  async function unfrozenKey(extra: object[] = []): Promise<string> {
    const base = attestedKeyPolicy({ pcr0: RELEASED.pcr0, account: ACCOUNT, region: REGION, roles: ROLE_NAMES });
    const deployer = roleArn(ACCOUNT, REGION, ROLE_NAMES.deployer);
    const policy = {
      ...base,
      Statement: [...base.Statement.slice(0, 4), { Sid: 'TestOnlyDeployerMayEdit', Effect: 'Allow', Principal: { AWS: deployer }, Action: ['kms:PutKeyPolicy', 'kms:CreateGrant'], Resource: '*' }, ...extra],
    };
    return world.createKey({ spec: 'session', policy: JSON.stringify(policy), bypass: false });
  }

  test('a policy loosened with PutKeyPolicy', async () => {
    const arn = await unfrozenKey();
    const { kms } = world.enclave(await world.nsm());
    // Even before loosening, this key's policy is not the template.
    await expectCode(() => checkSessionKey(kms, arn, RELEASED.pcr0), KeyPolicyError, 'FORBIDDEN_ACTION');
    const policy = JSON.parse((await world.client('deployer').send(new GetKeyPolicyCommand({ KeyId: arn, PolicyName: 'default' }))).Policy!);
    policy.Statement[0].Condition.StringEqualsIgnoreCase['kms:RecipientAttestation:ImageSha384'] = MODIFIED.pcr0;
    await world.client('deployer').send(new PutKeyPolicyCommand({ KeyId: arn, Policy: JSON.stringify(policy), PolicyName: 'default' }));
    await expectCode(() => checkSessionKey(kms, arn, RELEASED.pcr0), KeyPolicyError, 'FORBIDDEN_CONDITION');
  });

  test('a grant', async () => {
    const arn = await unfrozenKey();
    await world.client('deployer').send(new CreateGrantCommand({ KeyId: arn, GranteePrincipal: IDENTITIES.admin.principal.arn, Operations: ['DeriveSharedSecret'] }));
    const { kms } = world.enclave(await world.nsm());
    await expectCode(() => checkSessionKey(kms, arn, RELEASED.pcr0), KeyPolicyError, 'GRANTS_PRESENT');
  });

  test('a multi-region key', async () => {
    const arn = await world.createKey({ spec: 'session', multiRegion: true });
    expect(arn).toContain(':key/mrk-');
    const { kms } = world.enclave(await world.nsm());
    await expect(checkSessionKey(kms, arn, RELEASED.pcr0)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Checked by metadata too, whatever the ARN looks like.
    const described = await kms.describeKey(arn);
    expect(described.MultiRegion).toBe(true);
  });

  test('a key with imported (EXTERNAL) material', async () => {
    const arn = await world.createKey({ spec: 'session', origin: 'EXTERNAL' });
    const { kms } = world.enclave(await world.nsm());
    await expectCode(() => checkSessionKey(kms, arn, RELEASED.pcr0), KeyPolicyError, 'WRONG_ORIGIN');
  });

  test('the key of another release', async () => {
    const arn = await world.createKey({ spec: 'session', pcr0: MODIFIED.pcr0 });
    const { kms } = world.enclave(await world.nsm());
    await expectCode(() => checkSessionKey(kms, arn, RELEASED.pcr0), KeyPolicyError, 'FORBIDDEN_CONDITION');
  });
});

describe('the KMS protocol itself', () => {
  test('unsigned, wrongly signed or unknown callers are refused before any policy', async () => {
    const { KMSClient, DescribeKeyCommand } = await import('@aws-sdk/client-kms');
    const stranger = new KMSClient({ region: REGION, endpoint: world.url, credentials: { accessKeyId: 'AKIASTRANGER00000000', secretAccessKey: 'x' }, maxAttempts: 1 });
    expect(await exceptionOf(stranger.send(new DescribeKeyCommand({ KeyId: sessionKey })))).toBe('UnrecognizedClientException');
    const forger = new KMSClient({ region: REGION, endpoint: world.url, credentials: { accessKeyId: IDENTITIES.worker.accessKeyId, secretAccessKey: 'guessed' }, maxAttempts: 1 });
    expect(await exceptionOf(forger.send(new DescribeKeyCommand({ KeyId: sessionKey })))).toBe('InvalidSignatureException');
    stranger.destroy();
    forger.destroy();
    const response = await fetch(world.url, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.DescribeKey' }, body: '{}' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { __type: string }).__type).toBe('IncompleteSignatureException');
  });

  test('unknown keys are NotFound; symmetric ciphertexts are bound to their encryption context', async () => {
    const { DescribeKeyCommand } = await import('@aws-sdk/client-kms');
    expect(await exceptionOf(world.client('deployer').send(new DescribeKeyCommand({ KeyId: '00000000-0000-0000-0000-000000000000' })))).toBe('NotFoundException');
    const admin = await world.createKey({ spec: 'model', policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }] }), bypass: false, creator: 'admin' });
    const c = world.client('admin');
    const sealed = await c.send(new EncryptCommand({ KeyId: admin, Plaintext: new Uint8Array([1, 2, 3]), EncryptionContext: { purpose: 'test' } }));
    expect(await exceptionOf(c.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob!, EncryptionContext: { purpose: 'other' } })))).toBe('InvalidCiphertextException');
    const opened = await c.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob!, EncryptionContext: { purpose: 'test' } }));
    expect([...opened.Plaintext!]).toEqual([1, 2, 3]);
  });
});
