// A KMS that decides every call as AWS does for these keys: by evaluating the key's
// policy (IAM's evaluation logic, through @cloud-copilot/iam-simulate) for the
// calling principal, the action and the request's context, including
// `kms:RecipientAttestation:ImageSha384` and `:PCR<N>` taken from a `Recipient`
// attestation document verified against the emulator's root. With a Recipient it
// never returns plaintext, only CiphertextForRecipient in KMS's CMS layout.
//
// Exception names follow KMS's API; which one real KMS returns in each case is
// unverified until `npm run smoke:aws` records it (docs/kms-emulator.md).

import { createCipheriv, createDecipheriv, createECDH, createHash, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import {
  AttestationError,
  IMAGE_SHA384_KEY,
  authenticateAttestation,
  parseStrictJson,
  sealCiphertextForRecipient,
  toHex,
} from '../../protocol';
import { KeyStore, type KeySpec, type KeyUsage, type StoredKey } from './store';

export type KmsExceptionName =
  | 'AccessDeniedException'
  | 'DisabledException'
  | 'IncorrectKeyException'
  | 'InvalidCiphertextException'
  | 'InvalidKeyUsageException'
  | 'KMSInvalidStateException'
  | 'MalformedPolicyDocumentException'
  | 'NotFoundException'
  | 'UnsupportedOperationException'
  | 'ValidationException';

export class KmsException extends Error {
  constructor(
    readonly exception: KmsExceptionName,
    message: string,
  ) {
    super(message);
  }
}

export interface Principal {
  /** The caller's ARN: a role, an assumed-role session, a user or an account root. */
  readonly arn: string;
  /** Its identity policies (they matter only for CreateKey and keys that trust the account). */
  readonly identityPolicies?: readonly object[];
}

export interface KmsEmulatorOptions {
  readonly account: string;
  readonly region: string;
  /** PEM of the root that `Recipient` attestation documents must chain to (the NSM emulator's). */
  readonly attestationRootPem: string;
  /** Persist keys here (JSON, mode 0600); in memory when absent. */
  readonly stateFile?: string;
  readonly now?: () => Date;
}

type Json = Record<string, unknown>;
type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

const DEFAULT_POLICY_ID = 'key-default-1';
const MAX_PLAINTEXT = 4096;
const BLOB_VERSION = 0x01;

function ex(name: KmsExceptionName, message: string): never {
  throw new KmsException(name, message);
}

function str(body: Json, name: string, required = true): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) {
    if (required) ex('ValidationException', `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`);
    return undefined;
  }
  if (typeof v !== 'string') ex('ValidationException', `'${name}' must be a string`);
  return v;
}

function blob(body: Json, name: string, required = true): Buffer | undefined {
  const v = str(body, name, required);
  if (v === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v)) ex('ValidationException', `'${name}' is not base64`);
  return Buffer.from(v, 'base64');
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** The policy KMS gives a key created without one: the account root may do anything. */
function defaultPolicy(account: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Id: DEFAULT_POLICY_ID,
    Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' }],
  });
}

function accountOf(arn: string): string {
  return /^arn:aws[a-z-]*:(iam|sts)::(\d{12}):/.exec(arn)?.[2] ?? '';
}

export class KmsEmulator {
  readonly keys: KeyStore;
  private readonly decisions = new Map<string, Decision>();

  constructor(private readonly options: KmsEmulatorOptions) {
    this.keys = new KeyStore(options.stateFile);
  }

  private now(): Date {
    return (this.options.now ?? (() => new Date()))();
  }

  // -------------------------------------------------------------------------
  // Authorization.

  private async decide(policy: object | undefined, caller: Principal, action: string, resource: string, context: Record<string, string>): Promise<Decision> {
    const cacheKey = JSON.stringify([policy ? createHash('sha256').update(JSON.stringify(policy)).digest('hex') : null, caller.arn, caller.identityPolicies ?? [], action, resource, context]);
    const cached = this.decisions.get(cacheKey);
    if (cached) return cached;
    const result = (await runSimulation(
      {
        request: { principal: caller.arn, action, resource: { resource, accountId: this.options.account }, contextVariables: context },
        identityPolicies: (caller.identityPolicies ?? []).map((policy, i) => ({ name: `identity-${i}`, policy })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(policy ? { resourcePolicy: policy } : {}),
      },
      { simulationMode: 'Strict' },
    )) as { resultType: string; overallResult?: Decision; errors?: unknown };
    if (result.resultType === 'error' || !result.overallResult) ex('ValidationException', 'the request could not be evaluated');
    if (this.decisions.size > 10_000) this.decisions.clear();
    this.decisions.set(cacheKey, result.overallResult);
    return result.overallResult;
  }

  private async authorize(key: StoredKey, caller: Principal, action: string, context: Record<string, string> = {}): Promise<void> {
    const policy = parseStrictJson(key.policy) as object;
    const decision = await this.decide(policy, caller, `kms:${action}`, key.arn, context);
    if (decision === 'Allowed') return;
    // A grant adds the operation for its grantee, unless a policy denies it explicitly.
    const granted = key.grants.some((g) => g.granteePrincipal === caller.arn && g.operations.includes(action));
    if (decision === 'ImplicitlyDenied' && granted) return;
    ex(
      'AccessDeniedException',
      `User: ${caller.arn} is not authorized to perform: kms:${action} on resource: ${key.arn} because ${
        decision === 'ExplicitlyDenied' ? 'of an explicit deny in a resource-based policy' : 'no resource-based policy allows the kms:' + action + ' action'
      }`,
    );
  }

  private key(body: Json, field = 'KeyId'): StoredKey {
    const id = str(body, field)!;
    const key = this.keys.find(id);
    if (!key || key.account !== this.options.account) ex('NotFoundException', `Key '${id}' does not exist`);
    return key;
  }

  private usable(key: StoredKey): void {
    if (key.state === 'Disabled') ex('DisabledException', `${key.arn} is disabled.`);
    if (key.state !== 'Enabled') ex('KMSInvalidStateException', `${key.arn} is pending ${key.state === 'PendingImport' ? 'import' : 'deletion'}.`);
  }

  /**
   * Checks a Recipient as KMS documents: the document must verify (signature, chain to
   * the root, valid now) and carry an RSA-2048 public key. Anything else about it (its
   * measurement) is for the key policy to decide, through the condition keys returned.
   */
  private recipient(body: Json): { spki: Uint8Array; context: Record<string, string> } | undefined {
    const r = body.Recipient;
    if (r === undefined || r === null) return undefined;
    if (typeof r !== 'object') ex('ValidationException', 'Recipient must be a structure');
    const rec = r as Json;
    if (rec.KeyEncryptionAlgorithm !== 'RSAES_OAEP_SHA_256') ex('ValidationException', 'KeyEncryptionAlgorithm must be RSAES_OAEP_SHA_256');
    const document = blob(rec, 'AttestationDocument')!;
    let payload;
    try {
      payload = authenticateAttestation(document, { now: this.now(), trustAnchorPem: this.options.attestationRootPem }).payload;
    } catch (err) {
      const reason = err instanceof AttestationError ? err.code : 'MALFORMED';
      return ex('ValidationException', `The attestation document is not valid (${reason}).`);
    }
    let key: KeyObject;
    try {
      key = createPublicKey({ key: Buffer.from(payload.publicKey ?? new Uint8Array(0)), format: 'der', type: 'spki' });
    } catch {
      return ex('ValidationException', 'The attestation document does not carry a public key.');
    }
    if (key.asymmetricKeyType !== 'rsa' || key.asymmetricKeyDetails?.modulusLength !== 2048) {
      ex('ValidationException', 'The attestation document public key must be RSA-2048.');
    }
    const context: Record<string, string> = {};
    for (const [index, value] of payload.pcrs) context[`kms:RecipientAttestation:PCR${index}`] = toHex(value);
    context[IMAGE_SHA384_KEY] = context['kms:RecipientAttestation:PCR0']!;
    return { spki: payload.publicKey!, context };
  }

  // -------------------------------------------------------------------------
  // Symmetric ciphertext blobs: version, key id, IV, AES-256-GCM (context as AAD).

  private aad(body: Json): Buffer {
    const ctx = body.EncryptionContext;
    if (ctx === undefined || ctx === null) return Buffer.alloc(0);
    if (typeof ctx !== 'object' || Object.values(ctx).some((v) => typeof v !== 'string')) ex('ValidationException', 'EncryptionContext must map strings to strings');
    return Buffer.from(JSON.stringify(Object.entries(ctx as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : 1))));
  }

  private seal(key: StoredKey, plaintext: Buffer, aad: Buffer): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(key.material!, 'hex'), iv).setAAD(aad);
    const id = Buffer.from(key.keyId, 'utf8');
    return Buffer.concat([Buffer.of(BLOB_VERSION, id.length), id, iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  }

  private unseal(ciphertext: Buffer, aad: Buffer): { key: StoredKey; plaintext: Buffer } {
    if (ciphertext.length < 2 || ciphertext[0] !== BLOB_VERSION) ex('InvalidCiphertextException', 'The ciphertext is invalid.');
    const idLength = ciphertext[1]!;
    const key = this.keys.find(ciphertext.subarray(2, 2 + idLength).toString('utf8'));
    const rest = ciphertext.subarray(2 + idLength);
    if (!key || key.keySpec !== 'SYMMETRIC_DEFAULT' || rest.length < 12 + 16) ex('InvalidCiphertextException', 'The ciphertext is invalid.');
    try {
      const decipher = createDecipheriv('aes-256-gcm', Buffer.from(key.material!, 'hex'), rest.subarray(0, 12)).setAAD(aad);
      decipher.setAuthTag(rest.subarray(rest.length - 16));
      return { key, plaintext: Buffer.concat([decipher.update(rest.subarray(12, rest.length - 16)), decipher.final()]) };
    } catch {
      return ex('InvalidCiphertextException', 'The ciphertext is invalid.');
    }
  }

  // -------------------------------------------------------------------------
  // Operations.

  private metadata(key: StoredKey): Json {
    return {
      AWSAccountId: key.account,
      KeyId: key.keyId,
      Arn: key.arn,
      CreationDate: key.creationDate / 1000,
      Enabled: key.state === 'Enabled',
      Description: key.description,
      KeyUsage: key.keyUsage,
      KeyState: key.state,
      ...(key.deletionDate ? { DeletionDate: key.deletionDate / 1000 } : {}),
      Origin: key.origin,
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: key.keySpec,
      KeySpec: key.keySpec,
      ...(key.keySpec === 'SYMMETRIC_DEFAULT' ? { EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'] } : {}),
      ...(key.keyUsage === 'KEY_AGREEMENT' ? { KeyAgreementAlgorithms: ['ECDH'] } : {}),
      MultiRegion: key.multiRegion,
    };
  }

  /** Handles one call of the KMS JSON protocol (`TrentService.<operation>`). */
  async handle(operation: string, body: Json, caller: Principal): Promise<Json> {
    switch (operation) {
      case 'CreateKey':
        return this.createKey(body, caller);
      case 'DescribeKey': {
        const key = this.key(body);
        await this.authorize(key, caller, 'DescribeKey');
        return { KeyMetadata: this.metadata(key) };
      }
      case 'GetKeyPolicy': {
        const key = this.key(body);
        const name = str(body, 'PolicyName', false) ?? 'default';
        if (name !== 'default') ex('NotFoundException', 'No such policy exists');
        await this.authorize(key, caller, 'GetKeyPolicy');
        return { Policy: key.policy, PolicyName: 'default' };
      }
      case 'PutKeyPolicy': {
        const key = this.key(body);
        const policy = str(body, 'Policy')!;
        await this.authorize(key, caller, 'PutKeyPolicy');
        await this.checkPolicyLockout(policy, caller, body.BypassPolicyLockoutSafetyCheck === true, key.arn);
        this.keys.update(key, (k) => (k.policy = policy));
        return {};
      }
      case 'ListGrants': {
        const key = this.key(body);
        await this.authorize(key, caller, 'ListGrants');
        return {
          Grants: key.grants.map((g) => ({ KeyId: key.arn, GrantId: g.grantId, GranteePrincipal: g.granteePrincipal, Operations: g.operations, IssuingAccount: g.issuingAccount, CreationDate: g.creationDate / 1000 })),
          Truncated: false,
        };
      }
      case 'CreateGrant': {
        const key = this.key(body);
        const grantee = str(body, 'GranteePrincipal')!;
        const operations = body.Operations;
        if (!Array.isArray(operations) || operations.length === 0 || !operations.every((o) => typeof o === 'string')) ex('ValidationException', 'Operations is required');
        await this.authorize(key, caller, 'CreateGrant');
        const grantId = randomBytes(32).toString('hex');
        this.keys.update(key, (k) =>
          k.grants.push({ grantId, granteePrincipal: grantee, operations: operations as string[], issuingAccount: `arn:aws:iam::${key.account}:root`, creationDate: this.now().getTime() }),
        );
        return { GrantId: grantId, GrantToken: randomBytes(32).toString('base64') };
      }
      case 'GetPublicKey': {
        const key = this.key(body);
        await this.authorize(key, caller, 'GetPublicKey');
        if (key.keySpec !== 'ECC_NIST_P256') ex('UnsupportedOperationException', `${key.arn} key usage is ${key.keyUsage} which is not valid for GetPublicKey.`);
        this.usable(key);
        return { KeyId: key.arn, PublicKey: b64(this.publicSpki(key)), KeySpec: key.keySpec, KeyUsage: key.keyUsage, ...(key.keyUsage === 'KEY_AGREEMENT' ? { KeyAgreementAlgorithms: ['ECDH'] } : {}) };
      }
      case 'DeriveSharedSecret':
        return this.deriveSharedSecret(body, caller);
      case 'Encrypt': {
        const key = this.key(body);
        const plaintext = blob(body, 'Plaintext')!;
        if (plaintext.length === 0 || plaintext.length > MAX_PLAINTEXT) ex('ValidationException', 'Plaintext must be 1 to 4096 bytes');
        await this.authorize(key, caller, 'Encrypt');
        this.symmetric(key);
        return { KeyId: key.arn, CiphertextBlob: b64(this.seal(key, plaintext, this.aad(body))), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
      }
      case 'Decrypt':
        return this.decrypt(body, caller);
      case 'GenerateDataKey':
        return this.generateDataKey(body, caller);
      case 'DisableKey': {
        const key = this.key(body);
        await this.authorize(key, caller, 'DisableKey');
        if (key.state === 'PendingDeletion') ex('KMSInvalidStateException', `${key.arn} is pending deletion.`);
        this.keys.update(key, (k) => (k.state = 'Disabled'));
        return {};
      }
      case 'EnableKey': {
        const key = this.key(body);
        await this.authorize(key, caller, 'EnableKey');
        if (key.state === 'PendingDeletion' || key.state === 'PendingImport') ex('KMSInvalidStateException', `${key.arn} cannot be enabled.`);
        this.keys.update(key, (k) => (k.state = 'Enabled'));
        return {};
      }
      case 'ScheduleKeyDeletion': {
        const key = this.key(body);
        const days = body.PendingWindowInDays === undefined ? 30 : body.PendingWindowInDays;
        if (typeof days !== 'number' || !Number.isInteger(days) || days < 7 || days > 30) ex('ValidationException', 'PendingWindowInDays must be 7 to 30');
        await this.authorize(key, caller, 'ScheduleKeyDeletion');
        const deletionDate = this.now().getTime() + days * 86_400_000;
        this.keys.update(key, (k) => {
          k.state = 'PendingDeletion';
          k.deletionDate = deletionDate;
        });
        return { KeyId: key.arn, DeletionDate: deletionDate / 1000, KeyState: 'PendingDeletion', PendingWindowInDays: days };
      }
      default:
        return ex('UnsupportedOperationException', `The emulator does not implement ${operation}.`);
    }
  }

  /** Policy syntax and, unless bypassed, KMS's lockout check: the caller must keep PutKeyPolicy. */
  private async checkPolicyLockout(policy: string, caller: Principal, bypass: boolean, resource: string): Promise<void> {
    this.checkPolicy(policy);
    if (bypass) return;
    const decision = await this.decide(parseStrictJson(policy) as object, caller, 'kms:PutKeyPolicy', resource, {});
    if (decision !== 'Allowed') {
      ex('MalformedPolicyDocumentException', 'The new key policy will not allow you to update the key policy in the future.');
    }
  }

  private checkPolicy(policy: string): void {
    let parsed: unknown;
    try {
      parsed = parseStrictJson(policy);
    } catch {
      return ex('MalformedPolicyDocumentException', 'The policy is not valid JSON.');
    }
    if (!parsed || typeof parsed !== 'object' || !Array.isArray((parsed as Json).Statement)) ex('MalformedPolicyDocumentException', 'The policy has no statements.');
    if (policy.length > 32768) ex('MalformedPolicyDocumentException', 'The policy is too large.');
  }

  private async createKey(body: Json, caller: Principal): Promise<Json> {
    if (accountOf(caller.arn) !== this.options.account) ex('AccessDeniedException', `User: ${caller.arn} is not authorized to perform: kms:CreateKey`);
    const decision = await this.decide(undefined, caller, 'kms:CreateKey', '*', {});
    if (decision !== 'Allowed') ex('AccessDeniedException', `User: ${caller.arn} is not authorized to perform: kms:CreateKey on resource: * because no identity-based policy allows the kms:CreateKey action`);
    const keySpec = (str(body, 'KeySpec', false) ?? 'SYMMETRIC_DEFAULT') as KeySpec;
    const keyUsage = (str(body, 'KeyUsage', false) ?? (keySpec === 'SYMMETRIC_DEFAULT' ? 'ENCRYPT_DECRYPT' : undefined)) as KeyUsage | undefined;
    const valid =
      (keySpec === 'SYMMETRIC_DEFAULT' && keyUsage === 'ENCRYPT_DECRYPT') ||
      (keySpec === 'ECC_NIST_P256' && (keyUsage === 'KEY_AGREEMENT' || keyUsage === 'SIGN_VERIFY'));
    if (!valid) ex('ValidationException', 'The emulator supports SYMMETRIC_DEFAULT/ENCRYPT_DECRYPT and ECC_NIST_P256/KEY_AGREEMENT|SIGN_VERIFY.');
    const origin = (str(body, 'Origin', false) ?? 'AWS_KMS') as 'AWS_KMS' | 'EXTERNAL';
    if (origin !== 'AWS_KMS' && origin !== 'EXTERNAL') ex('UnsupportedOperationException', 'Origin must be AWS_KMS or EXTERNAL.');
    const policy = str(body, 'Policy', false) ?? defaultPolicy(this.options.account);
    const arnPlaceholder = `arn:aws:kms:${this.options.region}:${this.options.account}:key/*`;
    await this.checkPolicyLockout(policy, caller, body.BypassPolicyLockoutSafetyCheck === true, arnPlaceholder);
    const key = this.keys.create({
      account: this.options.account,
      region: this.options.region,
      keySpec,
      keyUsage: keyUsage!,
      origin,
      multiRegion: body.MultiRegion === true,
      policy,
      description: str(body, 'Description', false) ?? '',
      now: this.now().getTime(),
    });
    return { KeyMetadata: this.metadata(key) };
  }

  private publicSpki(key: StoredKey): Uint8Array {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(key.material!, 'hex'));
    const raw = ecdh.getPublicKey();
    return new Uint8Array(Buffer.concat([Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'), raw]));
  }

  private symmetric(key: StoredKey): void {
    if (key.keySpec !== 'SYMMETRIC_DEFAULT') ex('InvalidKeyUsageException', `${key.arn} key usage is ${key.keyUsage} which is not valid for this operation.`);
    this.usable(key);
  }

  private async deriveSharedSecret(body: Json, caller: Principal): Promise<Json> {
    const key = this.key(body);
    if (str(body, 'KeyAgreementAlgorithm') !== 'ECDH') ex('ValidationException', 'KeyAgreementAlgorithm must be ECDH');
    const peer = blob(body, 'PublicKey')!;
    const recipient = this.recipient(body);
    await this.authorize(key, caller, 'DeriveSharedSecret', recipient?.context ?? {});
    if (key.keyUsage !== 'KEY_AGREEMENT') ex('InvalidKeyUsageException', `${key.arn} key usage is ${key.keyUsage} which is not valid for DeriveSharedSecret.`);
    this.usable(key);
    let point: Buffer;
    try {
      const peerKey = createPublicKey({ key: peer, format: 'der', type: 'spki' });
      if (peerKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('curve');
      point = Buffer.from(peerKey.export({ format: 'jwk' }).x!, 'base64url');
      const y = Buffer.from(peerKey.export({ format: 'jwk' }).y!, 'base64url');
      point = Buffer.concat([Buffer.of(4), point, y]);
    } catch {
      return ex('ValidationException', 'PublicKey must be a DER-encoded P-256 SubjectPublicKeyInfo.');
    }
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(key.material!, 'hex'));
    const secret = new Uint8Array(ecdh.computeSecret(point));
    const common = { KeyId: key.arn, KeyAgreementAlgorithm: 'ECDH', KeyOrigin: key.origin };
    if (recipient) return { ...common, CiphertextForRecipient: b64(sealCiphertextForRecipient(secret, recipient.spki)) };
    return { ...common, SharedSecret: b64(secret) };
  }

  private async decrypt(body: Json, caller: Principal): Promise<Json> {
    const ciphertext = blob(body, 'CiphertextBlob')!;
    const { key, plaintext } = this.unseal(ciphertext, this.aad(body));
    const named = str(body, 'KeyId', false);
    if (named !== undefined && this.keys.find(named)?.keyId !== key.keyId) ex('IncorrectKeyException', 'The key ID in the request does not identify the key that encrypted the ciphertext.');
    const recipient = this.recipient(body);
    await this.authorize(key, caller, 'Decrypt', recipient?.context ?? {});
    this.symmetric(key);
    const common = { KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    if (recipient) return { ...common, CiphertextForRecipient: b64(sealCiphertextForRecipient(plaintext, recipient.spki)) };
    return { ...common, Plaintext: b64(plaintext) };
  }

  private async generateDataKey(body: Json, caller: Principal): Promise<Json> {
    const key = this.key(body);
    const spec = str(body, 'KeySpec', false);
    const n = body.NumberOfBytes;
    const length = spec === 'AES_256' ? 32 : spec === 'AES_128' ? 16 : typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 1024 ? n : ex('ValidationException', 'KeySpec or NumberOfBytes is required');
    const recipient = this.recipient(body);
    await this.authorize(key, caller, 'GenerateDataKey', recipient?.context ?? {});
    this.symmetric(key);
    const dataKey = randomBytes(length);
    const common = { KeyId: key.arn, CiphertextBlob: b64(this.seal(key, dataKey, this.aad(body))) };
    if (recipient) return { ...common, CiphertextForRecipient: b64(sealCiphertextForRecipient(dataKey, recipient.spki)) };
    return { ...common, Plaintext: b64(dataKey) };
  }
}
