// The key policies of DESIGN.md §2, in one place for the CDK constructs, the KMS
// emulator and the enclave's own check, and the checks the enclave runs on KMS's
// answers and the client runs on the logged bytes.
//
// A session key (ECC_NIST_P256, KEY_AGREEMENT) lets the worker role derive a shared
// secret only with an attestation of the release's PCR0; the worker and publisher
// may read it; the deployer may only disable it or schedule its deletion. An
// explicit Deny to everyone covers deriving without that attestation and every
// action that could widen access. The model key works the same way for Decrypt,
// and its owner may only Encrypt. Policies are frozen: nothing ever edits them.

import { toHex } from './bytes';
import { KeyPolicyError, type KeyPolicyErrorCode } from './errors';
import { jsonEqual, parseStrictJson, StrictJsonError, type JsonValue } from './strict-json';

/**
 * The fixed role names the FoundationStack creates; a frozen policy names them for the
 * key's life. `rotation` (the issuer-rotation Lambda) and `logWriter` (the log-writer
 * Lambda) appear in no key policy: they are fixed so that nothing but those functions
 * can ever hold them, and so the key-policy matrix can show that they get nothing.
 * `gateway` and `issuer` (their Lambdas) are in no key policy either: fixed for the same
 * reason, and so that endpoint and resource policies can name them.
 */
export const ROLE_NAMES = Object.freeze({
  worker: 'pp-enclave-worker',
  publisher: 'pp-release-publisher',
  deployer: 'pp-deployer',
  modelOwner: 'pp-model-owner',
  rotation: 'pp-issuer-rotation',
  logWriter: 'pp-log-writer',
  gateway: 'pp-gateway',
  issuer: 'pp-issuer',
});

export const POLICY_VERSION = '2012-10-17';
export const IMAGE_SHA384_KEY = 'kms:RecipientAttestation:ImageSha384';

/** Read-only calls the enclave (worker) and the release publisher make on a session key. */
export const SESSION_KEY_READ_ACTIONS = ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:GetPublicKey', 'kms:ListGrants'] as const;
/** Read-only calls the worker makes on the model key. */
export const MODEL_KEY_READ_ACTIONS = ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:ListGrants'] as const;
/**
 * What the deployer (CloudFormation) may do: read what it manages, and revoke by
 * disabling or scheduling deletion. Creating the key is an IAM permission of the
 * deployer role, not a key-policy one. Confirmed against real AWS by smoke:aws.
 */
export const DEPLOYER_ACTIONS = [
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:ListResourceTags',
  'kms:DisableKey',
  'kms:ScheduleKeyDeletion',
] as const;
/** Actions that could widen access or resurrect a key: denied to everyone, always. */
export const FROZEN_ACTIONS = [
  'kms:PutKeyPolicy',
  'kms:CreateGrant',
  'kms:ReplicateKey',
  'kms:UpdatePrimaryRegion',
  'kms:ImportKeyMaterial',
  'kms:CancelKeyDeletion',
  'kms:EnableKey',
] as const;

export interface SessionKeyPolicyParams {
  /** PCR0 (= ImageSha384) of the release: 96 lower-case hex digits. */
  readonly pcr0: string;
  /** The key's own account. */
  readonly account: string;
  readonly region: string;
  /** Role names (not ARNs) in `account`. */
  readonly roles: { readonly worker: string; readonly publisher: string; readonly deployer: string };
}

export interface ModelKeyPolicyParams {
  readonly pcr0: string;
  readonly account: string;
  readonly region: string;
  readonly roles: { readonly worker: string; readonly modelOwner: string; readonly deployer: string };
}

export type KeyPolicy = {
  Version: typeof POLICY_VERSION;
  Id: string;
  Statement: PolicyStatement[];
};

export type PolicyStatement = {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Principal: { AWS: string | string[] };
  Action: string | string[];
  Resource: '*';
  Condition?: Record<string, Record<string, string>>;
};

const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const ROLE_NAME = /^[A-Za-z0-9+=,.@_-]{1,64}$/;
const PCR0 = /^[0-9a-f]{96}$/;

function fail(code: KeyPolicyErrorCode, message?: string): never {
  throw new KeyPolicyError(code, message);
}

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

export function roleArn(account: string, region: string, name: string): string {
  return `arn:${partitionOf(region)}:iam::${account}:role/${name}`;
}

function checkParams(pcr0: string, account: string, region: string, roleNames: readonly string[]): void {
  if (!PCR0.test(pcr0) || /^0+$/.test(pcr0)) fail('POLICY_MALFORMED', 'PCR0 must be 96 lower-case hex digits, not all zero');
  if (!ACCOUNT.test(account)) fail('POLICY_MALFORMED', 'invalid account');
  if (!REGION.test(region)) fail('POLICY_MALFORMED', 'invalid region');
  for (const name of roleNames) if (!ROLE_NAME.test(name)) fail('POLICY_MALFORMED', 'invalid role name');
}

function denyUnattested(action: string, pcr0: string): PolicyStatement {
  return {
    Sid: 'DenyUseWithoutReleasedMeasurement',
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: action,
    Resource: '*',
    // True when the measurement differs, and when no attestation is present at all.
    Condition: { StringNotEqualsIgnoreCase: { [IMAGE_SHA384_KEY]: pcr0 } },
  };
}

const denyFrozen: PolicyStatement = {
  Sid: 'DenyPolicyChangesGrantsAndResurrection',
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Action: [...FROZEN_ACTIONS],
  Resource: '*',
};

export function attestedKeyPolicy(params: SessionKeyPolicyParams): KeyPolicy {
  const { pcr0, account, region, roles } = params;
  checkParams(pcr0, account, region, [roles.worker, roles.publisher, roles.deployer]);
  const arn = (name: string) => roleArn(account, region, name);
  return {
    Version: POLICY_VERSION,
    Id: 'private-processing-session-key',
    Statement: [
      {
        Sid: 'WorkerDerivesOnlyForReleasedMeasurement',
        Effect: 'Allow',
        Principal: { AWS: arn(roles.worker) },
        Action: 'kms:DeriveSharedSecret',
        Resource: '*',
        Condition: { StringEqualsIgnoreCase: { [IMAGE_SHA384_KEY]: pcr0 } },
      },
      {
        Sid: 'WorkerAndPublisherRead',
        Effect: 'Allow',
        Principal: { AWS: [arn(roles.worker), arn(roles.publisher)] },
        Action: [...SESSION_KEY_READ_ACTIONS],
        Resource: '*',
      },
      {
        Sid: 'DeployerMayOnlyReadAndRevoke',
        Effect: 'Allow',
        Principal: { AWS: arn(roles.deployer) },
        Action: [...DEPLOYER_ACTIONS],
        Resource: '*',
      },
      denyUnattested('kms:DeriveSharedSecret', pcr0),
      denyFrozen,
    ],
  };
}

export function modelKeyPolicy(params: ModelKeyPolicyParams): KeyPolicy {
  const { pcr0, account, region, roles } = params;
  checkParams(pcr0, account, region, [roles.worker, roles.modelOwner, roles.deployer]);
  const arn = (name: string) => roleArn(account, region, name);
  return {
    Version: POLICY_VERSION,
    Id: 'private-processing-model-key',
    Statement: [
      {
        Sid: 'WorkerDecryptsOnlyForReleasedMeasurement',
        Effect: 'Allow',
        Principal: { AWS: arn(roles.worker) },
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringEqualsIgnoreCase: { [IMAGE_SHA384_KEY]: pcr0 } },
      },
      {
        Sid: 'WorkerReads',
        Effect: 'Allow',
        Principal: { AWS: arn(roles.worker) },
        Action: [...MODEL_KEY_READ_ACTIONS],
        Resource: '*',
      },
      {
        Sid: 'ModelOwnerMayOnlyEncrypt',
        Effect: 'Allow',
        Principal: { AWS: arn(roles.modelOwner) },
        Action: 'kms:Encrypt',
        Resource: '*',
      },
      {
        Sid: 'DeployerMayOnlyReadAndRevoke',
        Effect: 'Allow',
        Principal: { AWS: arn(roles.deployer) },
        Action: [...DEPLOYER_ACTIONS],
        Resource: '*',
      },
      denyUnattested('kms:Decrypt', pcr0),
      denyFrozen,
    ],
  };
}

/** The policy as the JSON text handed to KMS (CreateKey / CloudFormation). */
export function keyPolicyJson(policy: KeyPolicy): string {
  return JSON.stringify(policy);
}

// ---------------------------------------------------------------------------
// Checks on a policy document as KMS returned it (the enclave) or as logged (the client).

export interface PolicyCheckOptions {
  /** The key's account, when the caller knows it (e.g. from the key ARN). */
  readonly account?: string;
  /** The key's region (for the partition of the role ARNs). Default: derived from the account's ARNs. */
  readonly region?: string;
  /** Role names the deployment uses. Default: ROLE_NAMES. */
  readonly roleNames?: Partial<typeof ROLE_NAMES>;
}

export interface PolicyCheckResult {
  readonly account: string;
  readonly partition: string;
}

const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/([A-Za-z0-9+=,.@_-]{1,64})$/;
const ALLOWED_STATEMENT_KEYS = ['Sid', 'Effect', 'Principal', 'Action', 'Resource', 'Condition'];
const ALLOWED_OPERATORS = ['StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase'];

function parsePolicy(json: string): JsonValue {
  try {
    return parseStrictJson(json);
  } catch (err) {
    if (err instanceof StrictJsonError && err.code === 'DUPLICATE_KEY') fail('DUPLICATE_KEY', 'duplicate key in the policy document');
    return fail('POLICY_MALFORMED', 'the policy is not JSON');
  }
}

const asList = (v: JsonValue | undefined): JsonValue[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
const isObject = (v: JsonValue | undefined): v is { [k: string]: JsonValue } => v !== null && typeof v === 'object' && !Array.isArray(v);

interface Lint {
  account: string | undefined;
  partition: string | undefined;
}

/** Rules any acceptable policy obeys, each with its own code, before the exact comparison. */
function lint(policy: JsonValue, pcr0: string, allowedActions: ReadonlySet<string>, roleNames: readonly string[], options: PolicyCheckOptions): Lint {
  if (!isObject(policy) || policy.Version !== POLICY_VERSION || !Array.isArray(policy.Statement)) {
    fail('POLICY_MALFORMED', 'not a policy document');
  }
  const found: Lint = { account: options.account, partition: options.region ? partitionOf(options.region) : undefined };
  for (const s of policy.Statement) {
    if (!isObject(s)) fail('POLICY_MALFORMED', 'a statement is not an object');
    for (const key of Object.keys(s)) {
      if (key === 'NotAction' || key === 'NotPrincipal' || key === 'NotResource') fail('FORBIDDEN_ELEMENT', `${key} is not allowed`);
      if (!ALLOWED_STATEMENT_KEYS.includes(key)) fail('POLICY_MALFORMED', 'unknown statement element');
    }
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') fail('POLICY_MALFORMED', 'invalid Effect');
    const allow = s.Effect === 'Allow';

    // Principals: in an Allow, only fixed-name roles of one account.
    const principal = s.Principal;
    if (principal === '*') {
      if (allow) fail('FORBIDDEN_PRINCIPAL', 'an Allow to everyone');
    } else {
      if (!isObject(principal) || Object.keys(principal).some((k) => k !== 'AWS')) fail('FORBIDDEN_PRINCIPAL', 'only AWS principals are allowed');
      for (const p of asList(principal.AWS)) {
        if (typeof p !== 'string') fail('POLICY_MALFORMED', 'a principal is not a string');
        if (p === '*') {
          if (allow) fail('FORBIDDEN_PRINCIPAL', 'an Allow to everyone');
          continue;
        }
        if (!allow) fail('POLICY_MISMATCH', 'a Deny names someone other than everyone');
        const m = ROLE_ARN.exec(p);
        if (!m) fail('FORBIDDEN_PRINCIPAL', 'a principal that is not a role ARN (root, user, unique id or service)');
        const [, partition, account, name] = m;
        if (!roleNames.includes(name!)) fail('FORBIDDEN_PRINCIPAL', 'a role that is not one of the fixed names');
        if (found.account !== undefined && account !== found.account) fail('FORBIDDEN_PRINCIPAL', 'a principal in another account');
        if (found.partition !== undefined && partition !== found.partition) fail('FORBIDDEN_PRINCIPAL', 'a principal in another partition');
        found.account = account;
        found.partition = partition;
      }
    }

    // Actions: an Allow grants only what the template grants, never a wildcard.
    for (const a of asList(s.Action)) {
      if (typeof a !== 'string') fail('POLICY_MALFORMED', 'an action is not a string');
      if (allow && (a.includes('*') || a.includes('?') || !allowedActions.has(a))) fail('FORBIDDEN_ACTION', 'an Allow of an action the release does not need');
    }

    // Conditions: only the measurement, single-valued, exact, with the two operators.
    if (s.Condition !== undefined) {
      if (!isObject(s.Condition)) fail('POLICY_MALFORMED', 'invalid Condition');
      for (const [operator, block] of Object.entries(s.Condition)) {
        if (!ALLOWED_OPERATORS.includes(operator)) fail('FORBIDDEN_CONDITION', 'a condition operator other than the exact measurement match');
        if (!isObject(block)) fail('POLICY_MALFORMED', 'invalid condition block');
        for (const [key, value] of Object.entries(block)) {
          if (key !== IMAGE_SHA384_KEY) fail('FORBIDDEN_CONDITION', 'a condition on something other than the measurement');
          if (typeof value !== 'string') fail('FORBIDDEN_CONDITION', 'a multi-valued condition');
          if (/[*?$]/.test(value)) fail('FORBIDDEN_CONDITION', 'a wildcard or variable in a condition');
          if (value.toLowerCase() !== pcr0) fail('FORBIDDEN_CONDITION', 'a measurement other than this release');
        }
      }
    }
  }
  return found;
}

function checkAgainst(
  json: string,
  ownPcr0: string,
  options: PolicyCheckOptions,
  roleNames: readonly string[],
  template: (account: string, region: string) => KeyPolicy,
): PolicyCheckResult {
  const pcr0 = ownPcr0.toLowerCase();
  const policy = parsePolicy(json);
  // The actions the template allows anyone, to refuse any other Allow with its own code.
  const probe = template('000000000000', 'us-east-1');
  const allowed = new Set(probe.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => asList(s.Action as JsonValue) as string[]));
  const found = lint(policy, pcr0, allowed, roleNames, options);
  if (found.account === undefined || found.partition === undefined) fail('POLICY_MISMATCH', 'no role of this deployment is named');
  const region = options.region ?? ({ aws: 'us-east-1', 'aws-cn': 'cn-north-1', 'aws-us-gov': 'us-gov-west-1' }[found.partition] as string);
  const expected = template(found.account, region);
  if (!jsonEqual(policy, expected as unknown as JsonValue)) fail('POLICY_MISMATCH', 'the policy differs from the release template');
  return { account: found.account, partition: found.partition };
}

/**
 * Checks a session key's policy document: strict JSON, then rules with their own
 * codes, then exact equality with attestedKeyPolicy for `ownPcr0`, the role ARNs
 * being the fixed names in one account (the key's, when `options.account` is given).
 */
export function checkKeyPolicy(json: string, ownPcr0: string, options: PolicyCheckOptions = {}): PolicyCheckResult {
  const names = { ...ROLE_NAMES, ...options.roleNames };
  return checkAgainst(json, ownPcr0, options, [names.worker, names.publisher, names.deployer], (account, region) =>
    attestedKeyPolicy({ pcr0: ownPcr0.toLowerCase(), account, region, roles: names }),
  );
}

/** The same for a release's model key, against modelKeyPolicy. */
export function checkModelKeyPolicy(json: string, ownPcr0: string, options: PolicyCheckOptions = {}): PolicyCheckResult {
  const names = { ...ROLE_NAMES, ...options.roleNames };
  return checkAgainst(json, ownPcr0, options, [names.worker, names.modelOwner, names.deployer], (account, region) =>
    modelKeyPolicy({ pcr0: ownPcr0.toLowerCase(), account, region, roles: names }),
  );
}

// ---------------------------------------------------------------------------
// Key metadata and grants.

export interface KeyMetadataLike {
  readonly KeySpec?: string;
  readonly KeyUsage?: string;
  readonly Origin?: string;
  readonly CustomKeyStoreId?: string | null;
  readonly MultiRegion?: boolean;
  readonly Enabled?: boolean;
  readonly KeyState?: string;
  readonly KeyManager?: string;
}

function metadataOf(input: string | { KeyMetadata?: KeyMetadataLike } | KeyMetadataLike): KeyMetadataLike {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = parseStrictJson(input);
    } catch {
      fail('POLICY_MALFORMED', 'DescribeKey is not JSON');
    }
  }
  if (value === null || typeof value !== 'object') fail('POLICY_MALFORMED', 'DescribeKey is not an object');
  const v = value as { KeyMetadata?: KeyMetadataLike };
  return v.KeyMetadata ?? (value as KeyMetadataLike);
}

/**
 * DescribeKey of a session key (or, with kind 'model', a model key): the right spec
 * and usage, key material generated in KMS (not imported, not an external or
 * CloudHSM store), customer managed, single-region, enabled.
 */
export function checkKeyMetadata(describeKey: string | { KeyMetadata?: KeyMetadataLike } | KeyMetadataLike, kind: 'session' | 'model' = 'session'): void {
  const m = metadataOf(describeKey);
  const spec = kind === 'session' ? 'ECC_NIST_P256' : 'SYMMETRIC_DEFAULT';
  const usage = kind === 'session' ? 'KEY_AGREEMENT' : 'ENCRYPT_DECRYPT';
  if (m.KeySpec !== spec) fail('WRONG_KEY_SPEC');
  if (m.KeyUsage !== usage) fail('WRONG_KEY_USAGE');
  if (m.CustomKeyStoreId !== undefined && m.CustomKeyStoreId !== null) fail('CUSTOM_KEY_STORE');
  if (m.Origin !== 'AWS_KMS' || m.KeyManager !== 'CUSTOMER') fail('WRONG_ORIGIN');
  if (m.MultiRegion !== false) fail('MULTI_REGION');
  if (m.Enabled !== true || m.KeyState !== 'Enabled') fail('KEY_NOT_ENABLED');
}

/** ListGrants must show no grant at all (a grant would bypass the frozen policy). */
export function checkGrants(list: { Grants?: readonly unknown[]; Truncated?: boolean } | readonly unknown[]): void {
  const grants = Array.isArray(list) ? list : (list as { Grants?: readonly unknown[] }).Grants;
  const truncated = !Array.isArray(list) && (list as { Truncated?: boolean }).Truncated === true;
  if (!Array.isArray(grants)) fail('POLICY_MALFORMED', 'ListGrants without a Grants list');
  if (grants.length > 0 || truncated) fail('GRANTS_PRESENT');
}

/** PCR0 bytes to the lower-case hex the policies use. */
export function pcr0Hex(pcr0: Uint8Array): string {
  return toHex(pcr0);
}
