// `npm run release`: how a release comes to exist (DESIGN.md §5b).
//
//   build    bundles enclave-app/main.ts with esbuild (every dependency inside, so it is
//            measured too), compiling in the release id, the model's SHA-256, the region
//            and __PP_BUILD__ = "production"; adds the NSM bridge helper's source; measures
//            the image with the shared `measure` (kind `emulated`) or takes the PCRs from
//            `nitro-cli build-enclave` output (kind `nitro`); writes the release manifest.
//   publish  after deploy: appends the release and its session-key entry (the deployed
//            key's exact GetKeyPolicy and DescribeKey bytes) through the log writer.
//
// Same commit, same inputs → same bytes and the same manifest, in any directory: esbuild
// paths are relative to the source root and nothing reads the clock (createdAt is
// SOURCE_DATE_EPOCH or the commit time).

import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildSync } from 'esbuild';
import { CreateKeyCommand, DescribeKeyCommand, GetKeyPolicyCommand, GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  ROLE_NAMES,
  attestedKeyPolicy,
  keyPolicyJson,
    decodeReleaseManifest,
  encodeReleaseManifest,
  measure,
  parseStrictJson,
  releaseEntryFromManifest,
  sessionKeyConfigBytes,
  type EnclaveBundle,
  type LogEntry,
  type ReleaseManifest,
} from '../protocol';
import { builtinModelBytes } from '../enclave-app/features/builtin/model-file';
import type { AwsCredentials } from '../lambdas/common/signed-fetch';
import { logWriterAppender } from '../lambdas/log-writer/client';
import { imageCommand } from './enclave-image';

const ROOT = join(__dirname, '..');
export const RELEASE_PLATFORM = 'emulated-nitro/node-20';
export const BUILD_RECIPE = 'npm ci --ignore-scripts && npm run release -- build (see docs/release.md)';

export interface ReleaseBuildOptions {
  /** The source tree to build (a checkout of `sourceCommit`). Default: this repository. */
  readonly root?: string;
  readonly releaseId: string;
  readonly region: string;
  /** The model file's SHA-256 (hex), compiled into the enclave. */
  readonly modelSha256: string;
  readonly sourceCommit: string;
  /** Unix seconds: SOURCE_DATE_EPOCH or the commit time, never the clock. */
  readonly createdAt: number;
  /** `nitro-cli build-enclave` output (JSON with Measurements.PCR0..2), for kind `nitro`. */
  readonly nitroMeasurements?: string;
}

export interface BuiltRelease {
  readonly bundle: EnclaveBundle;
  readonly manifest: ReleaseManifest;
  readonly manifestJson: string;
}

/** The enclave image's files: the bundled app, the NSM bridge helper's source and the image's init script. */
export function enclaveImageFiles(options: ReleaseBuildOptions): Map<string, Uint8Array> {
  const root = options.root ?? ROOT;
  if (!/^[0-9a-f]{64}$/.test(options.modelSha256)) throw new Error('modelSha256 must be 64 lower-case hex digits');
  const bundle = productionBundle(root, join('enclave-app', 'main.ts'), {
    __PP_RELEASE_ID__: JSON.stringify(options.releaseId),
    __PP_MODEL_SHA256__: JSON.stringify(options.modelSha256),
    __PP_REGION__: JSON.stringify(options.region),
  });
  return new Map([
    ['enclave/main.js', bundle],
    ['enclave/nsm-bridge.c', new Uint8Array(readFileSync(join(root, 'enclave-app', 'nsm', 'bridge', 'nsm-bridge.c')))],
    ['enclave/init.sh', new Uint8Array(readFileSync(join(root, 'enclave-app', 'image', 'init.sh')))],
  ]);
}

/**
 * The parent proxy for the worker instances (not measured: the parent is not trusted). It
 * goes to the release bucket beside the EIF; the worker's user data runs it.
 */
export function parentProxyBundle(root = ROOT): Uint8Array {
  return productionBundle(root, join('enclave-app', 'parent', 'main.ts'), {});
}

/**
 * One file with every dependency inside, built with __PP_BUILD__ = "production" and paths
 * relative to `root` (so the same sources give the same bytes in any directory).
 * cbor-extract is native and optional (cbor-x falls back to JavaScript); it stays out.
 */
function productionBundle(root: string, entry: string, define: Record<string, string>): Uint8Array {
  const out = buildSync({
    absWorkingDir: root,
    entryPoints: [join(root, entry)],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    write: false,
    minifySyntax: true,
    legalComments: 'none',
    external: ['cbor-extract'],
    define: { __PP_BUILD__: '"production"', ...define },
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.contents;
}

function nitroPcrs(json: string): { pcr0: string; pcr1: string; pcr2: string } {
  const parsed = parseStrictJson(json) as { Measurements?: Record<string, unknown> };
  const m = parsed.Measurements ?? {};
  const pcr = (k: string) => {
    const v = m[k];
    if (typeof v !== 'string' || !/^[0-9a-f]{96}$/.test(v)) throw new Error(`nitro-cli measurements: ${k} is not 48 bytes of hex`);
    return v;
  };
  if (typeof m.HashAlgorithm !== 'string' || !m.HashAlgorithm.startsWith('Sha384')) throw new Error('nitro-cli measurements: not SHA-384');
  return { pcr0: pcr('PCR0'), pcr1: pcr('PCR1'), pcr2: pcr('PCR2') };
}

export function buildRelease(options: ReleaseBuildOptions): BuiltRelease {
  const bundle: EnclaveBundle = { platform: RELEASE_PLATFORM, files: enclaveImageFiles(options) };
  const measured = measure(bundle);
  const nitro = options.nitroMeasurements !== undefined ? nitroPcrs(options.nitroMeasurements) : undefined;
  const manifest: ReleaseManifest = {
    version: 1,
    releaseId: options.releaseId,
    kind: nitro ? 'nitro' : 'emulated',
    measurements: nitro ?? { pcr0: measured.pcr0, pcr1: measured.pcr1, pcr2: measured.pcr2 },
    imageSha384: measured.imageSha384,
    modelSha256: options.modelSha256,
    sourceCommit: options.sourceCommit,
    buildRecipe: BUILD_RECIPE,
    createdAt: options.createdAt,
  };
  return { bundle, manifest, manifestJson: encodeReleaseManifest(manifest) };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface PublishOptions {
  readonly manifest: ReleaseManifest;
  readonly sessionKeyArn: string;
  /** The publisher role's KMS client (read-only calls on the key). */
  readonly kms: KMSClient;
  /** Appends through the log writer as the `publisher` submitter. */
  readonly append: (entry: LogEntry, submitter: 'publisher') => Promise<{ index: number }>;
  readonly window: { readonly notBefore: number; readonly notAfter: number };
  /** The session key's own window (default: the release's). */
  readonly keyWindow?: { readonly notBefore: number; readonly notAfter: number };
}

/** Appends the release, then its session key exactly as KMS describes it; returns the log indexes. */
export async function publishRelease(options: PublishOptions): Promise<{ release: number; sessionKey: number }> {
  const release = await options.append(releaseEntryFromManifest(options.manifest, options.window), 'publisher');
  const sessionKey = await publishSessionKey({ ...options, window: options.keyWindow ?? options.window });
  return { release: release.index, sessionKey };
}

/**
 * Appends one session key of an already published release (a rotation's new generation),
 * exactly as KMS describes it: the key policy and DescribeKey bytes as returned, the key
 * configuration built from GetPublicKey. The log writer re-checks the policy against the
 * release's PCR0.
 */
export async function publishSessionKey(options: Omit<PublishOptions, 'keyWindow'>): Promise<number> {
  const keyPolicy = (await options.kms.send(new GetKeyPolicyCommand({ KeyId: options.sessionKeyArn, PolicyName: 'default' }))).Policy;
  const described = await options.kms.send(new DescribeKeyCommand({ KeyId: options.sessionKeyArn }));
  const publicKey = (await options.kms.send(new GetPublicKeyCommand({ KeyId: options.sessionKeyArn }))).PublicKey;
  if (!keyPolicy || !publicKey || !described.KeyMetadata) throw new Error('KMS did not describe the session key');
  const { index } = await options.append(
    {
      type: 'session_key',
      releaseId: options.manifest.releaseId,
      kmsKeyArn: options.sessionKeyArn,
      keyConfig: sessionKeyConfigBytes(publicKey),
      keyPolicy,
      describeKey: JSON.stringify({ KeyMetadata: described.KeyMetadata }),
      ...options.window,
    },
    'publisher',
  );
  return index;
}

/** A revocation entry: a release or one session key stops being live for clients at `effectiveAt`. */
export function revocationEntry(target: { readonly releaseId: string } | { readonly sessionKeyArn: string }, reason: string, effectiveAt: number): LogEntry {
  return {
    type: 'revocation',
    target: 'releaseId' in target ? { type: 'release', releaseId: target.releaseId } : { type: 'session_key', kmsKeyArn: target.sessionKeyArn },
    reason,
    effectiveAt,
  };
}

/** What `npm start -- --serve` writes for operators (0600): the local log writer and KMS emulator. */
export interface LocalOperatorFile {
  readonly logWriterUrl: string;
  readonly publisherSecret: string;
  readonly kms: {
    readonly endpoint: string;
    readonly region: string;
    readonly account: string;
    readonly publisher: AwsCredentials;
    readonly deployer: AwsCredentials;
  };
}

/** The served local stack's operator file (`npm start -- --serve` writes it). */
function readLocalOperatorFile(): LocalOperatorFile {
  const file = join(process.env.PP_LOCAL_DIR ?? join(process.cwd(), '.local'), 'operator.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LocalOperatorFile;
  } catch {
    throw new Error(`no local stack: ${file} is missing (run \`npm start -- --serve\`)`);
  }
}

/** Appends as whoever the default credential chain says (the caller assumes pp-release-publisher), SigV4-signed. */
function defaultChainAppender(url: string, region: string, kms: KMSClient): (entry: LogEntry) => Promise<{ index: number }> {
  const credentials = kms.config.credentials;
  return logWriterAppender(url, { credentials: () => credentials(), region });
}

// ---------------------------------------------------------------------------
// Command line:
//   npm run release -- [build] --release-id <id> --region <region>
//     [--model <file> | --model-sha256 <hex>] [--commit <sha>] [--created-at <unix>] [--nitro-measurements <file>] [--out <dir>]
//   npm run release -- publish … --key-only       (a rotation: the release's new session key only)
//   npm run release -- revoke (--release <id> | --session-key-arn <arn>) --reason <text> [--effective-at <unix>] (--local | --log-writer <url> --region <r>)
//   npm run release -- image --release-id <id> --region <region> --model-sha256 <hex> [--commit <sha>] [--run]
//   npm run release -- publish --manifest <file> (--local | --session-key-arn <arn> --log-writer <url>)
//     [--session-key-arn <arn>] [--not-before <unix>] [--not-after <unix>] [--key-not-after <unix>]

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
}

const DAY = 86_400;

async function publishCommand(args: string[]): Promise<void> {
  const manifestPath = arg(args, 'manifest');
  if (!manifestPath) throw new Error('usage: npm run release -- publish --manifest <file> (--local | --session-key-arn <arn> --log-writer <url>) [--not-before <unix>] [--not-after <unix>] [--key-not-after <unix>]');
  const manifest = decodeReleaseManifest(readFileSync(manifestPath, 'utf8'));
  const seconds = (name: string, fallback: number) => {
    const v = arg(args, name);
    if (v === undefined) return fallback;
    if (!/^\d{1,12}$/.test(v)) throw new Error(`--${name} is Unix seconds`);
    return Number(v);
  };
  const now = Math.floor(Date.now() / 1000);
  const notBefore = seconds('not-before', now);
  const window = { notBefore, notAfter: seconds('not-after', notBefore + 180 * DAY) };
  // A session key lives one rotation period (7 days) plus a day of overlap with its successor.
  const keyWindow = { notBefore, notAfter: Math.min(window.notAfter, seconds('key-not-after', notBefore + 8 * DAY)) };
  let sessionKeyArn = arg(args, 'session-key-arn');
  let kms: KMSClient;
  let append: PublishOptions['append'];
  if (args.includes('--local')) {
    const local = readLocalOperatorFile();
    process.stderr.write('release: LOCAL — publishing to the local stack (KMS emulator, local log writer)\n');
    kms = new KMSClient({ region: local.kms.region, endpoint: local.kms.endpoint, credentials: local.kms.publisher, maxAttempts: 1 });
    if (!sessionKeyArn) {
      // What `cdk deploy` does for a release in AWS: the deployer creates the release's session key with its frozen policy.
      const deployer = new KMSClient({ region: local.kms.region, endpoint: local.kms.endpoint, credentials: local.kms.deployer, maxAttempts: 1 });
      const created = await deployer.send(
        new CreateKeyCommand({
          KeySpec: 'ECC_NIST_P256',
          KeyUsage: 'KEY_AGREEMENT',
          Policy: keyPolicyJson(attestedKeyPolicy({ pcr0: manifest.measurements.pcr0, account: local.kms.account, region: local.kms.region, roles: ROLE_NAMES })),
          BypassPolicyLockoutSafetyCheck: true,
        }),
      );
      deployer.destroy();
      sessionKeyArn = created.KeyMetadata!.Arn!;
      process.stdout.write(`created the release's session key in the KMS emulator as the deployer: ${sessionKeyArn}\n`);
    }
    append = logWriterAppender(local.logWriterUrl, { bearer: local.publisherSecret });
  } else {
    const logWriterUrl = arg(args, 'log-writer');
    if (!sessionKeyArn || !logWriterUrl) throw new Error('publish needs --session-key-arn and --log-writer (or --local)');
    const region = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:key\//.exec(sessionKeyArn)?.[1];
    if (!region) throw new Error('--session-key-arn is not a KMS key ARN');
    kms = new KMSClient({ region });
    append = defaultChainAppender(logWriterUrl, region, kms);
  }
  try {
    if (args.includes('--key-only')) {
      // A rotation: the release is in the log already; only its new session key is appended.
      const index = await publishSessionKey({ manifest, sessionKeyArn, kms, append, window: keyWindow });
      process.stdout.write(`published session key ${sessionKeyArn} of release ${manifest.releaseId}: log index ${index}\n`);
    } else {
      const indexes = await publishRelease({ manifest, sessionKeyArn, kms, append, window, keyWindow });
      process.stdout.write(`published ${manifest.kind} release ${manifest.releaseId}: log index ${indexes.release}; session key ${sessionKeyArn}: log index ${indexes.sessionKey}\n`);
    }
  } finally {
    kms.destroy();
  }
}

function buildCommand(args: string[]): void {
  const releaseId = arg(args, 'release-id');
  const region = arg(args, 'region');
  if (!releaseId || !region) throw new Error('usage: npm run release -- build --release-id <id> --region <region> [--model <file> | --model-sha256 <hex>] [--commit <sha>] [--created-at <unix>] [--nitro-measurements <file>] [--out <dir>]');
  const modelPath = arg(args, 'model');
  // The image build has only the model's hash (the model itself is sealed under the model key).
  const modelSha256 = arg(args, 'model-sha256') ?? sha256Hex(modelPath ? new Uint8Array(readFileSync(modelPath)) : builtinModelBytes());
  const sourceCommit = arg(args, 'commit') ?? git(['rev-parse', 'HEAD']);
  const createdAt = Number(arg(args, 'created-at') ?? process.env.SOURCE_DATE_EPOCH ?? git(['log', '-1', '--format=%ct', sourceCommit]));
  const nitroPath = arg(args, 'nitro-measurements');
  const built = buildRelease({ releaseId, region, modelSha256, sourceCommit, createdAt, ...(nitroPath ? { nitroMeasurements: readFileSync(nitroPath, 'utf8') } : {}) });
  const out = join(arg(args, 'out') ?? join(ROOT, 'dist', 'release'), releaseId);
  for (const [path, bytes] of built.bundle.files) {
    mkdirSync(dirname(join(out, 'image', path)), { recursive: true });
    writeFileSync(join(out, 'image', path), bytes);
  }
  writeFileSync(join(out, 'manifest.json'), built.manifestJson);
  mkdirSync(join(out, 'parent'), { recursive: true });
  writeFileSync(join(out, 'parent', 'parent-proxy.js'), parentProxyBundle());
  process.stdout.write(`${built.manifest.kind} release ${releaseId}: PCR0 ${built.manifest.measurements.pcr0}\n${join(out, 'manifest.json')}\n`);
}

/** `revoke (--release <id> | --session-key-arn <arn>) --reason <text> [--effective-at <unix>] (--local | --log-writer <url> --region <r>)` */
async function revokeCommand(args: string[]): Promise<void> {
  const releaseId = arg(args, 'release');
  const sessionKeyArn = arg(args, 'session-key-arn');
  const reason = arg(args, 'reason');
  if ((!releaseId && !sessionKeyArn) || (releaseId && sessionKeyArn) || !reason) {
    throw new Error('usage: npm run release -- revoke (--release <id> | --session-key-arn <arn>) --reason <text> [--effective-at <unix>] (--local | --log-writer <url> --region <region>)');
  }
  const effectiveAt = Number(arg(args, 'effective-at') ?? Math.floor(Date.now() / 1000));
  if (!Number.isInteger(effectiveAt) || effectiveAt <= 0) throw new Error('--effective-at is Unix seconds');
  let append: (entry: LogEntry) => Promise<{ index: number }>;
  let kms: KMSClient | undefined;
  if (args.includes('--local')) {
    const local = readLocalOperatorFile();
    append = logWriterAppender(local.logWriterUrl, { bearer: local.publisherSecret });
  } else {
    const url = arg(args, 'log-writer');
    const region = arg(args, 'region');
    if (!url || !region) throw new Error('revoke needs --log-writer and --region (or --local)');
    kms = new KMSClient({ region });
    append = defaultChainAppender(url, region, kms);
  }
  const target = releaseId ? { releaseId } : { sessionKeyArn: sessionKeyArn! };
  let index: number;
  try {
    ({ index } = await append(revocationEntry(target, reason, effectiveAt)));
  } finally {
    kms?.destroy();
  }
  process.stdout.write(`revoked ${releaseId ? `release ${releaseId}` : `session key ${sessionKeyArn}`} from ${new Date(effectiveAt * 1000).toISOString()}: log index ${index}\n`);
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'publish') return publishCommand(argv.slice(1));
  if (argv[0] === 'revoke') return revokeCommand(argv.slice(1));
  if (argv[0] === 'image') return imageCommand(argv.slice(1));
  buildCommand(argv[0] === 'build' ? argv.slice(1) : argv);
}

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`release: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
