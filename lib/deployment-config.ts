// The deployment config: everything the stacks need that is not code (account, region,
// network, who may assume the publisher and model-owner roles, the releases and their
// key generations). It is read from a file (deploy/config.json by default, or
// `-c deployConfig=<path>`), never typed into a stack, and parsed strictly: unknown,
// missing or duplicate fields are refused, every value has its rule, and each release
// manifest it names is decoded by protocol/'s own parser. Pure: the caller reads files.
import { decodeReleaseManifest, FormatError, parseStrictJson, StrictJsonError, type JsonValue, type ReleaseManifest } from '../protocol';
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
  const top = object(parsed, ['version', 'description', 'account', 'region', 'availabilityZones', 'network', 'trustedPrincipals', 'keys', 'releases'], 'config');
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

  return { version: DEPLOYMENT_CONFIG_VERSION, description, account, region, availabilityZones, network, trustedPrincipals, keys, releases, mode: options.mode };
}

/** When a generation is due to be replaced: notBefore plus the rotation interval (ISO 8601 UTC). */
export function rotationDueAt(generation: SessionKeyGeneration, rotationDays: number): string {
  return new Date(Date.parse(generation.notBefore) + rotationDays * 86_400_000).toISOString().replace('.000Z', 'Z');
}
