// The deployment config: everything the stacks need that is not code (account, region,
// network, who may assume the publisher and model-owner roles, the releases and their
// key generations, the gateway's and issuer's settings, the transparency log's keys and
// witnesses, the workers' instances, and the independent relay's own account). It is read from a file (deploy/config.json by default, or
// `-c deployConfig=<path>`), never typed into a stack, and parsed strictly: unknown,
// missing or duplicate fields are refused, every value has its rule, and each release
// manifest it names is decoded by protocol/'s own parser. Pure: the caller reads files.
import { decodeReleaseManifest, FormatError, parseCosignerKey, parseStrictJson, parseVerifierKey, StrictJsonError, type JsonValue, type ReleaseManifest } from '../protocol';
import { InfrastructureError, type InfrastructureErrorCode } from './errors';

export const DEPLOYMENT_CONFIG_VERSION = 1;

/** `production` refuses emulated releases; `local` (`-c mode=local`) accepts them, for local stacks only. */
export type DeploymentMode = 'production' | 'local';

/** A key is `live` (in the template) or `retired` (left out, so CloudFormation schedules its deletion). */
export type KeyState = 'live' | 'retired';

export interface SessionKeyGeneration {
  /** 1, 2, 3, … in order: one session key per release per rotation generation. */
  readonly generation: number;
  /** When clients may start using this generation (ISO 8601, UTC, whole seconds). */
  readonly notBefore: string;
  readonly state: KeyState;
}

export interface ReleaseKeys {
  readonly manifest: ReleaseManifest;
  /** The manifest's path as written in the config (relative to the config's folder). */
  readonly manifestPath: string;
  readonly modelKey: KeyState;
  readonly sessionKeys: readonly SessionKeyGeneration[];
}

export interface NetworkConfig {
  /** A private IPv4 range, /16 to /24. */
  readonly vpcCidr: string;
  /** The TCP port the parent instance's proxy listens on for the gateway. */
  readonly workerPort: number;
  /** The region's managed prefix lists of the S3 and DynamoDB gateway endpoints (`aws ec2 describe-managed-prefix-lists`). */
  readonly s3PrefixListId: string;
  readonly dynamoDbPrefixListId: string;
  /** Days the VPC flow logs are kept (a CloudWatch Logs retention value). */
  readonly flowLogRetentionDays: number;
}

/** The independent relay (RelayStack), deployed by its own operator in its own account. */
export interface RelayConfig {
  /** The relay operator's account: never the deployment's (unlinkability needs two parties). */
  readonly account: string;
  readonly region: string;
  /** The relay's public name; clients pin `https://<domainName>`. */
  readonly domainName: string;
  /** An ACM certificate for `domainName` in us-east-1 of the relay's account (CloudFront needs it for TLS 1.2+). */
  readonly certificateArn: string;
  /** The gateway's base URL (PpGateway's `ApiUrl` output, or its custom domain). */
  readonly gatewayUrl: string;
  /** The transparency log's base URL (PpTransparency's `LogUrl` output). */
  readonly logUrl: string;
  readonly reservedConcurrency: number;
  readonly logRetentionDays: number;
}

export interface ThrottleConfig {
  /** Requests per second, steady state. */
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/** The HTTP API's functions (GatewayStack). */
export interface GatewayConfig {
  /** Privacy Pass: the issuer's and the origin's names in the deployment's one TokenChallenge. */
  readonly issuerName: string;
  readonly originName: string;
  /** The issuer's public token-request URL (RFC 9578 directory). */
  readonly tokenRequestUri: string;
  readonly tokensPerDay: number;
  /** The messenger's account service: its public JWK (EC or OKP), issuer and audience of its credentials. */
  readonly accountKey: { readonly [key: string]: string };
  readonly accountIssuer: string;
  readonly accountAudience: string;
  /** The API's default-stage throttle. */
  readonly throttle: ThrottleConfig;
  readonly reservedConcurrency: { readonly gateway: number; readonly issuer: number };
  /** Days the functions' logs and the API's access log are kept. */
  readonly logRetentionDays: number;
}

export interface WitnessConfig {
  /** https base URL of the witness's C2SP tlog-witness endpoint. */
  readonly url: string;
  /** Its cosigner verifier key (C2SP tlog-cosignature). */
  readonly verifierKey: string;
}

/** The transparency log (TransparencyStack) and the auditor's trail. */
export interface TransparencyConfig {
  /** The log's origin line (checkpoints), a host-like name. */
  readonly logOrigin: string;
  /** The public half of the log signing key (C2SP signed-note verifier key). */
  readonly logVerifierKey: string;
  /** Two to four independent witnesses (clients need a quorum of two; the log writer asks each in turn). */
  readonly witnesses: readonly WitnessConfig[];
  /** Object Lock (compliance mode) retention of every object version, in days. */
  readonly objectLockRetentionDays: number;
  /** The auditor's S3 bucket (another account) that receives the CloudTrail trail. */
  readonly auditTrailBucketArn: string;
  readonly auditTrailPrefix: string;
}

/** The enclave workers (EnclaveWorkerStack): one Auto Scaling group per live session-key generation. */
export interface WorkersConfig {
  /** The worker AMI (enclave-app/parent/ami/build-ami.sh), in this region. */
  readonly amiId: string;
  /** An instance type with Nitro Enclaves support, 4 vCPUs or more. */
  readonly instanceType: string;
  /** Memory and CPUs given to the enclave (Node and the model); the rest stays with the parent. */
  readonly enclaveMemoryMiB: number;
  readonly enclaveCpuCount: number;
  /** Instances per generation's group; max > min so a rolling update adds before it removes. */
  readonly minInstances: number;
  readonly maxInstances: number;
  readonly rootVolumeGiB: number;
}

export interface DeploymentConfig {
  readonly version: typeof DEPLOYMENT_CONFIG_VERSION;
  readonly description: string;
  readonly account: string;
  readonly region: string;
  readonly availabilityZones: readonly string[];
  readonly network: NetworkConfig;
  /** IAM role or user ARNs that may assume the publisher and model-owner roles. */
  readonly trustedPrincipals: { readonly publisher: readonly string[]; readonly modelOwner: readonly string[] };
  readonly keys: {
    /** A new session key generation is due this many days after the last one's notBefore (default 7). */
    readonly sessionKeyRotationDays: number;
    /** How long a retired key waits before KMS deletes it (7 to 30; KMS's own bounds). */
    readonly pendingWindowDays: number;
    /** The committed record of released keys (relative to the config's folder). */
    readonly releasedKeysRecord: string;
  };
  readonly releases: readonly ReleaseKeys[];
  readonly relay: RelayConfig;
  readonly gateway: GatewayConfig;
  readonly transparency: TransparencyConfig;
  readonly workers: WorkersConfig;
  readonly mode: DeploymentMode;
}

/** The number of session keys a client accepts as live at once (DESIGN.md §2, the log writer's TOO_MANY_SESSION_KEYS). */
export const MAX_LIVE_SESSION_KEYS = 2;

const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const PREFIX_LIST = /^pl-[0-9a-f]{8,17}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
/** An IAM role or user ARN, no wildcard, no path tricks. */
const PRINCIPAL_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):(role|user)\/[A-Za-z0-9+=,.@_/-]{1,512}$/;
/** CloudWatch Logs accepts only these retention values. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
/** A DNS name (lower case, at least two labels). */
const DOMAIN = /^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
/** An https base URL: host (and optional port), no path, query, fragment or credentials. */
const HTTPS_BASE_URL = /^https:\/\/[a-z0-9.-]{1,253}(?::\d{1,5})?$/;
const ACM_CERTIFICATE = /^arn:(aws|aws-cn|aws-us-gov):acm:us-east-1:(\d{12}):certificate\/[0-9a-f-]{36}$/;
const BUCKET_ARN = /^arn:(aws|aws-cn|aws-us-gov):s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$/;
const AMI = /^ami-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;
/**
 * Instance families with Nitro Enclaves support (x86 and Graviton), with GiB of memory per
 * vCPU (c: 2, m: 4, r: 8). Sizes xlarge and up (4 vCPUs; the parent keeps at least 2).
 */
export const ENCLAVE_INSTANCE_FAMILIES: Readonly<Record<string, number>> = Object.freeze({
  ...Object.fromEntries(['c5', 'c5a', 'c5n', 'c6i', 'c6a', 'c6in', 'c7i', 'c7a', 'c6g', 'c7g', 'c8g'].map((f) => [f, 2])),
  ...Object.fromEntries(['m5', 'm5a', 'm5n', 'm6i', 'm6a', 'm6in', 'm7i', 'm7a', 'm6g', 'm7g', 'm8g'].map((f) => [f, 4])),
  ...Object.fromEntries(['r5', 'r5a', 'r5n', 'r6i', 'r6a', 'r7i', 'r7a', 'r6g', 'r7g', 'r8g'].map((f) => [f, 8])),
});
/** vCPUs of a size: xlarge 4, 2xlarge 8, …, 48xlarge 192. */
function vcpusOfSize(size: string): number | undefined {
  const m = /^(\d{0,2})xlarge$/.exec(size);
  if (!m) return undefined;
  const n = m[1] === '' ? 1 : Number(m[1]);
  return n >= 1 && n <= 48 ? 4 * n : undefined;
}

type JsonObject = { [key: string]: JsonValue };

function fail(code: InfrastructureErrorCode, message: string): never {
  throw new InfrastructureError(code, message);
}

function object(value: JsonValue | undefined, keys: readonly string[], what: string): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('CONFIG_MALFORMED', `${what} is not an object`);
  for (const k of Object.keys(value)) if (!keys.includes(k)) fail('CONFIG_MALFORMED', `${what} has an unknown field ${JSON.stringify(k)}`);
  for (const k of keys) if (!(k in value)) fail('CONFIG_MALFORMED', `${what} lacks the field ${JSON.stringify(k)}`);
  return value;
}

function text(o: JsonObject, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== 'string') fail('CONFIG_MALFORMED', `${what}.${key} must be a string`);
  return v;
}

function integer(o: JsonObject, key: string, what: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) fail('CONFIG_MALFORMED', `${what}.${key} must be an integer`);
  if (v < min || v > max) fail('CONFIG_INVALID', `${what}.${key} must be between ${min} and ${max}`);
  return v;
}

function list(o: JsonObject, key: string, what: string): JsonValue[] {
  const v = o[key];
  if (!Array.isArray(v)) fail('CONFIG_MALFORMED', `${what}.${key} must be a list`);
  return v;
}

function strings(o: JsonObject, key: string, what: string): string[] {
  return list(o, key, what).map((v) => {
    if (typeof v !== 'string') fail('CONFIG_MALFORMED', `${what}.${key} must hold strings`);
    return v;
  });
}

function keyState(v: JsonValue | undefined, what: string): KeyState {
  if (v !== 'live' && v !== 'retired') fail('CONFIG_INVALID', `${what} must be "live" or "retired"`);
  return v;
}

/** A private (RFC 1918) IPv4 CIDR from /16 to /24. */
function checkVpcCidr(cidr: string): void {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) fail('CONFIG_INVALID', 'network.vpcCidr is not an IPv4 CIDR');
  const [a, b, c, d, bits] = m.slice(1).map(Number) as [number, number, number, number, number];
  if ([a, b, c, d].some((x) => x > 255) || bits < 16 || bits > 24) fail('CONFIG_INVALID', 'network.vpcCidr must be /16 to /24');
  const isPrivate = a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  if (!isPrivate) fail('CONFIG_INVALID', 'network.vpcCidr must be a private (RFC 1918) range');
  const address = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
  if ((address & (2 ** (32 - bits) - 1)) !== 0) fail('CONFIG_INVALID', 'network.vpcCidr has host bits set');
}

/**
 * Principals that may assume the publisher or model-owner role: named IAM roles or
 * users only. Never `*`, never a wildcard, never an account root (that would trust
 * every principal of the account its administrators allow).
 */
export function checkTrustedPrincipal(arn: string): void {
  if (arn.includes('*') || arn.includes('?')) fail('UNTRUSTED_PRINCIPAL', 'a trusted principal may not contain a wildcard');
  if (/:root$/.test(arn)) fail('UNTRUSTED_PRINCIPAL', 'a trusted principal may not be an account root');
  if (!PRINCIPAL_ARN.test(arn)) fail('UNTRUSTED_PRINCIPAL', 'a trusted principal must be an IAM role or user ARN');
}

function principals(o: JsonObject, key: string): string[] {
  const arns = strings(o, key, 'trustedPrincipals');
  if (arns.length === 0 || arns.length > 10) fail('CONFIG_INVALID', `trustedPrincipals.${key} must name 1 to 10 principals`);
  for (const arn of arns) checkTrustedPrincipal(arn);
  if (new Set(arns).size !== arns.length) fail('CONFIG_INVALID', `trustedPrincipals.${key} names a principal twice`);
  return arns;
}

function generations(v: JsonValue[], releaseId: string): SessionKeyGeneration[] {
  const out: SessionKeyGeneration[] = [];
  for (const [i, raw] of v.entries()) {
    const g = object(raw, ['generation', 'notBefore', 'state'], `release ${releaseId} session key`);
    const generation = integer(g, 'generation', 'sessionKeys', 1, 100_000);
    if (generation !== i + 1) fail('RELEASES_INVALID', `release ${releaseId}: session key generations must be numbered 1, 2, 3, … in order`);
    const notBefore = text(g, 'notBefore', 'sessionKeys');
    if (!ISO_UTC.test(notBefore) || Number.isNaN(Date.parse(notBefore))) fail('CONFIG_INVALID', `release ${releaseId}: notBefore must be ISO 8601 UTC, e.g. 2026-11-27T00:00:00Z`);
    const previous = out[out.length - 1];
    if (previous && Date.parse(notBefore) <= Date.parse(previous.notBefore)) fail('RELEASES_INVALID', `release ${releaseId}: each generation must start after the one before`);
    out.push({ generation, notBefore, state: keyState(g.state, `release ${releaseId} generation ${generation} state`) });
  }
  return out;
}

function httpsBaseUrl(o: JsonObject, key: string, what: string): string {
  const v = text(o, key, what);
  if (!HTTPS_BASE_URL.test(v)) fail('CONFIG_INVALID', `${what}.${key} must be an https base URL (no path, query or credentials)`);
  return v;
}

function retentionDays(o: JsonObject, key: string, what: string): number {
  const v = integer(o, key, what, 1, 3653);
  if (!LOG_RETENTION_DAYS.includes(v)) fail('CONFIG_INVALID', `${what}.${key} is not a CloudWatch Logs retention value`);
  return v;
}

function parseRelay(v: JsonValue | undefined, account: string): RelayConfig {
  const r = object(v, ['account', 'region', 'domainName', 'certificateArn', 'gatewayUrl', 'logUrl', 'reservedConcurrency', 'logRetentionDays'], 'relay');
  const relayAccount = text(r, 'account', 'relay');
  if (!ACCOUNT.test(relayAccount)) fail('CONFIG_INVALID', 'relay.account must be 12 digits');
  // Unlinkability holds only while relay and gateway are run by different parties (DESIGN.md §2).
  if (relayAccount === account) fail('CONFIG_INVALID', 'relay.account must not be the deployment account: the relay is run by an independent party');
  const region = text(r, 'region', 'relay');
  if (!REGION.test(region)) fail('CONFIG_INVALID', 'relay.region is not a region name');
  const domainName = text(r, 'domainName', 'relay');
  if (!DOMAIN.test(domainName)) fail('CONFIG_INVALID', 'relay.domainName is not a DNS name');
  const certificateArn = text(r, 'certificateArn', 'relay');
  const cert = ACM_CERTIFICATE.exec(certificateArn);
  if (!cert || cert[2] !== relayAccount) fail('CONFIG_INVALID', 'relay.certificateArn must be an ACM certificate in us-east-1 of the relay account');
  return {
    account: relayAccount,
    region,
    domainName,
    certificateArn,
    gatewayUrl: httpsBaseUrl(r, 'gatewayUrl', 'relay'),
    logUrl: httpsBaseUrl(r, 'logUrl', 'relay'),
    reservedConcurrency: integer(r, 'reservedConcurrency', 'relay', 1, 1000),
    logRetentionDays: retentionDays(r, 'logRetentionDays', 'relay'),
  };
}

function throttle(v: JsonValue | undefined, what: string): ThrottleConfig {
  const t = object(v, ['rateLimit', 'burstLimit'], what);
  return { rateLimit: integer(t, 'rateLimit', what, 1, 10_000), burstLimit: integer(t, 'burstLimit', what, 1, 5_000) };
}

function parseGateway(v: JsonValue | undefined): GatewayConfig {
  const keys = ['issuerName', 'originName', 'tokenRequestUri', 'tokensPerDay', 'accountKey', 'accountIssuer', 'accountAudience', 'throttle', 'reservedConcurrency', 'logRetentionDays'];
  const g = object(v, keys, 'gateway');
  const issuerName = text(g, 'issuerName', 'gateway');
  const originName = text(g, 'originName', 'gateway');
  if (!DOMAIN.test(issuerName) || !DOMAIN.test(originName)) fail('CONFIG_INVALID', 'gateway.issuerName and gateway.originName are DNS names');
  const tokenRequestUri = text(g, 'tokenRequestUri', 'gateway');
  if (!/^https:\/\/[a-z0-9.-]{1,253}(?::\d{1,5})?\/[A-Za-z0-9._~/-]*$/.test(tokenRequestUri)) fail('CONFIG_INVALID', 'gateway.tokenRequestUri must be an https URL');
  // A public key only: a private JWK would be a key leak, a symmetric one a forgery risk.
  const jwk = g.accountKey;
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk) || Object.values(jwk).some((x) => typeof x !== 'string')) fail('CONFIG_MALFORMED', 'gateway.accountKey must be a JWK object of strings');
  if (!['EC', 'OKP'].includes(String(jwk.kty)) || 'd' in jwk) fail('CONFIG_INVALID', 'gateway.accountKey must be an EC or OKP public key');
  const concurrency = object(g.reservedConcurrency, ['gateway', 'issuer'], 'gateway.reservedConcurrency');
  return {
    issuerName,
    originName,
    tokenRequestUri,
    tokensPerDay: integer(g, 'tokensPerDay', 'gateway', 1, 100_000),
    accountKey: jwk as { [key: string]: string },
    accountIssuer: text(g, 'accountIssuer', 'gateway'),
    accountAudience: text(g, 'accountAudience', 'gateway'),
    throttle: throttle(g.throttle, 'gateway.throttle'),
    reservedConcurrency: {
      gateway: integer(concurrency, 'gateway', 'gateway.reservedConcurrency', 1, 1000),
      issuer: integer(concurrency, 'issuer', 'gateway.reservedConcurrency', 1, 1000),
    },
    logRetentionDays: retentionDays(g, 'logRetentionDays', 'gateway'),
  };
}

function parseTransparency(v: JsonValue | undefined): TransparencyConfig {
  const keys = ['logOrigin', 'logVerifierKey', 'witnesses', 'objectLockRetentionDays', 'auditTrailBucketArn', 'auditTrailPrefix'];
  const t = object(v, keys, 'transparency');
  const logOrigin = text(t, 'logOrigin', 'transparency');
  if (!/^[a-z0-9.-]{1,253}$/.test(logOrigin)) fail('CONFIG_INVALID', 'transparency.logOrigin is a host-like name');
  const logVerifierKey = text(t, 'logVerifierKey', 'transparency');
  try {
    parseVerifierKey(logVerifierKey);
  } catch {
    fail('CONFIG_INVALID', 'transparency.logVerifierKey is not a signed-note verifier key');
  }
  const witnesses = list(t, 'witnesses', 'transparency').map((raw) => {
    const w = object(raw, ['url', 'verifierKey'], 'witness');
    const url = text(w, 'url', 'witness');
    if (!/^https:\/\/[a-z0-9.-]{1,253}(?::\d{1,5})?(?:\/[A-Za-z0-9._~/-]*)?$/.test(url)) fail('CONFIG_INVALID', 'a witness url must be https');
    const verifierKey = text(w, 'verifierKey', 'witness');
    try {
      parseCosignerKey(verifierKey);
    } catch {
      fail('CONFIG_INVALID', 'a witness verifierKey is not a cosigner verifier key');
    }
    return { url, verifierKey };
  });
  // Clients require cosignatures from a quorum of at least two witnesses (DESIGN.md §4). The
  // log writer asks them one after another (5 s each at most), inside its 28 s timeout.
  if (witnesses.length < 2 || witnesses.length > 4) fail('CONFIG_INVALID', 'transparency.witnesses must name 2 to 4 witnesses');
  if (new Set(witnesses.map((w) => w.verifierKey)).size !== witnesses.length) fail('CONFIG_INVALID', 'transparency.witnesses names a witness twice');
  const auditTrailBucketArn = text(t, 'auditTrailBucketArn', 'transparency');
  if (!BUCKET_ARN.test(auditTrailBucketArn)) fail('CONFIG_INVALID', 'transparency.auditTrailBucketArn must be an S3 bucket ARN');
  const auditTrailPrefix = text(t, 'auditTrailPrefix', 'transparency');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(auditTrailPrefix)) fail('CONFIG_INVALID', 'transparency.auditTrailPrefix is a short key prefix');
  return {
    logOrigin,
    logVerifierKey,
    witnesses,
    objectLockRetentionDays: integer(t, 'objectLockRetentionDays', 'transparency', 1, 36_500),
    auditTrailBucketArn,
    auditTrailPrefix,
  };
}

function parseWorkers(v: JsonValue | undefined): WorkersConfig {
  const keys = ['amiId', 'instanceType', 'enclaveMemoryMiB', 'enclaveCpuCount', 'minInstances', 'maxInstances', 'rootVolumeGiB'];
  const w = object(v, keys, 'workers');
  const amiId = text(w, 'amiId', 'workers');
  if (!AMI.test(amiId)) fail('CONFIG_INVALID', 'workers.amiId looks like ami-0123456789abcdef0');
  const instanceType = text(w, 'instanceType', 'workers');
  const [family = '', size = ''] = instanceType.split('.');
  const vcpus = vcpusOfSize(size);
  const gibPerVcpu = ENCLAVE_INSTANCE_FAMILIES[family];
  if (instanceType.split('.').length !== 2 || vcpus === undefined || gibPerVcpu === undefined) {
    fail('CONFIG_INVALID', 'workers.instanceType must be a Nitro Enclaves family (e.g. m6i, m7g) of size xlarge or larger');
  }
  const enclaveCpuCount = integer(w, 'enclaveCpuCount', 'workers', 2, 190);
  // Enclave CPUs are whole cores (pairs of vCPUs on x86); the parent keeps at least one core.
  if (enclaveCpuCount % 2 !== 0 || enclaveCpuCount > vcpus - 2) fail('CONFIG_INVALID', `workers.enclaveCpuCount must be even and leave the parent 2 of the ${vcpus} vCPUs`);
  const enclaveMemoryMiB = integer(w, 'enclaveMemoryMiB', 'workers', 1024, 1_572_864);
  const parentMiB = 2048;
  if (enclaveMemoryMiB > vcpus * gibPerVcpu * 1024 - parentMiB) fail('CONFIG_INVALID', `workers.enclaveMemoryMiB must leave the parent ${parentMiB} MiB of ${instanceType}'s memory`);
  const minInstances = integer(w, 'minInstances', 'workers', 1, 50);
  const maxInstances = integer(w, 'maxInstances', 'workers', 2, 51);
  if (maxInstances <= minInstances) fail('CONFIG_INVALID', 'workers.maxInstances must exceed minInstances (a rolling update adds an instance before it removes one)');
  return { amiId, instanceType, enclaveMemoryMiB, enclaveCpuCount, minInstances, maxInstances, rootVolumeGiB: integer(w, 'rootVolumeGiB', 'workers', 8, 1024) };
}

export interface ParseOptions {
  readonly mode: DeploymentMode;
  /** Reads a manifest named by the config (a path relative to the config's folder). */
  readonly readManifest: (path: string) => string;
}

/** Parses and checks the deployment config; decodes every release manifest it names. */
export function parseDeploymentConfig(json: string, options: ParseOptions): DeploymentConfig {
  let parsed: JsonValue;
  try {
    parsed = parseStrictJson(json);
  } catch (err) {
    if (err instanceof StrictJsonError && err.code === 'DUPLICATE_KEY') fail('CONFIG_MALFORMED', 'a field appears twice');
    fail('CONFIG_MALFORMED', 'the deployment config is not JSON');
  }
  const top = object(
    parsed,
    ['version', 'description', 'account', 'region', 'availabilityZones', 'network', 'trustedPrincipals', 'keys', 'releases', 'relay', 'gateway', 'transparency', 'workers'],
    'config',
  );
  if (top.version !== DEPLOYMENT_CONFIG_VERSION) fail('CONFIG_INVALID', `config.version must be ${DEPLOYMENT_CONFIG_VERSION}`);
  const description = text(top, 'description', 'config');
  const account = text(top, 'account', 'config');
  if (!ACCOUNT.test(account)) fail('CONFIG_INVALID', 'config.account must be 12 digits');
  const region = text(top, 'region', 'config');
  if (!REGION.test(region)) fail('CONFIG_INVALID', 'config.region is not a region name');
  const availabilityZones = strings(top, 'availabilityZones', 'config');
  if (availabilityZones.length < 2 || availabilityZones.length > 6) fail('CONFIG_INVALID', 'config.availabilityZones must name 2 to 6 zones');
  for (const az of availabilityZones) if (!new RegExp(`^${region}[a-z]$`).test(az)) fail('CONFIG_INVALID', `availability zone ${JSON.stringify(az)} is not in ${region}`);
  if (new Set(availabilityZones).size !== availabilityZones.length) fail('CONFIG_INVALID', 'config.availabilityZones names a zone twice');

  const n = object(top.network, ['vpcCidr', 'workerPort', 's3PrefixListId', 'dynamoDbPrefixListId', 'flowLogRetentionDays'], 'network');
  const network: NetworkConfig = {
    vpcCidr: text(n, 'vpcCidr', 'network'),
    workerPort: integer(n, 'workerPort', 'network', 1024, 65535),
    s3PrefixListId: text(n, 's3PrefixListId', 'network'),
    dynamoDbPrefixListId: text(n, 'dynamoDbPrefixListId', 'network'),
    flowLogRetentionDays: integer(n, 'flowLogRetentionDays', 'network', 1, 3653),
  };
  checkVpcCidr(network.vpcCidr);
  if (!PREFIX_LIST.test(network.s3PrefixListId) || !PREFIX_LIST.test(network.dynamoDbPrefixListId)) fail('CONFIG_INVALID', 'prefix list ids look like pl-0123abcd');
  if (!LOG_RETENTION_DAYS.includes(network.flowLogRetentionDays)) fail('CONFIG_INVALID', 'network.flowLogRetentionDays is not a CloudWatch Logs retention value');

  const t = object(top.trustedPrincipals, ['publisher', 'modelOwner'], 'trustedPrincipals');
  const trustedPrincipals = { publisher: principals(t, 'publisher'), modelOwner: principals(t, 'modelOwner') };

  const k = object(top.keys, ['sessionKeyRotationDays', 'pendingWindowDays', 'releasedKeysRecord'], 'keys');
  const keys = {
    sessionKeyRotationDays: integer(k, 'sessionKeyRotationDays', 'keys', 1, 90),
    pendingWindowDays: integer(k, 'pendingWindowDays', 'keys', 7, 30),
    releasedKeysRecord: text(k, 'releasedKeysRecord', 'keys'),
  };

  const releases: ReleaseKeys[] = [];
  for (const raw of list(top, 'releases', 'config')) {
    const r = object(raw, ['manifest', 'modelKey', 'sessionKeys'], 'release');
    const manifestPath = text(r, 'manifest', 'release');
    let manifest: ReleaseManifest;
    try {
      manifest = decodeReleaseManifest(options.readManifest(manifestPath));
    } catch (err) {
      if (err instanceof FormatError) fail('MANIFEST_INVALID', `release manifest ${manifestPath}: ${err.code}`);
      throw err;
    }
    if (manifest.kind === 'emulated' && options.mode !== 'local') {
      fail('EMULATED_RELEASE_OUTSIDE_LOCAL_MODE', `release ${manifest.releaseId} is measured by the emulator; only a local deployment (-c mode=local) may use it`);
    }
    if (releases.some((x) => x.manifest.releaseId === manifest.releaseId)) fail('RELEASES_INVALID', `release ${manifest.releaseId} appears twice`);
    const modelKey = keyState(r.modelKey, `release ${manifest.releaseId} modelKey`);
    const sessionKeys = generations(list(r, 'sessionKeys', 'release'), manifest.releaseId);
    if (sessionKeys.length === 0) fail('RELEASES_INVALID', `release ${manifest.releaseId} has no session key generation`);
    if (modelKey === 'retired' && sessionKeys.some((g) => g.state === 'live')) {
      fail('RELEASES_INVALID', `release ${manifest.releaseId}: a retired release (model key retired) cannot keep a live session key`);
    }
    releases.push({ manifest, manifestPath, modelKey, sessionKeys });
  }
  const live = releases.flatMap((r) => r.sessionKeys.filter((g) => g.state === 'live'));
  if (live.length > MAX_LIVE_SESSION_KEYS) fail('TOO_MANY_LIVE_SESSION_KEYS', `at most ${MAX_LIVE_SESSION_KEYS} session keys may be live at once (a roll-out); retire the oldest first`);

  const relay = parseRelay(top.relay, account);
  const gateway = parseGateway(top.gateway);
  const transparency = parseTransparency(top.transparency);
  const workers = parseWorkers(top.workers);

  return { version: DEPLOYMENT_CONFIG_VERSION, description, account, region, availabilityZones, network, trustedPrincipals, keys, releases, relay, gateway, transparency, workers, mode: options.mode };
}

/** When a generation is due to be replaced: notBefore plus the rotation interval (ISO 8601 UTC). */
export function rotationDueAt(generation: SessionKeyGeneration, rotationDays: number): string {
  return new Date(Date.parse(generation.notBefore) + rotationDays * 86_400_000).toISOString().replace('.000Z', 'Z');
}
