// `npm run release -- image`: the hermetic enclave image build (enclave-app/image/).
//
// It checks the pins (base images by digest, the Debian snapshot and package versions,
// the nitro-cli version) and the vendored files' hashes, then prints — or with `--run`
// runs — the two commands that make a release's EIF: a BuildKit build with every pin as a
// build argument and timestamps rewritten to SOURCE_DATE_EPOCH, and `nitro-cli
// build-enclave`, whose measurements JSON `npm run release -- build --nitro-measurements`
// turns into a manifest of kind `nitro`. Neither Docker nor nitro-cli runs on the
// development machines; this is what an operator or an auditor runs on the build host.

import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseStrictJson } from '../protocol';

const ROOT = join(__dirname, '..');
export const IMAGE_DIR = join(ROOT, 'enclave-app', 'image');

export type ImagePinErrorCode = 'UNPINNED' | 'INVALID_PIN' | 'VENDORED_FILE_CHANGED';
export class ImagePinError extends Error {
  constructor(
    readonly code: ImagePinErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
  override get name(): string {
    return 'ImagePinError';
  }
}

export interface ImagePins {
  readonly buildImage: string;
  readonly runtimeImage: string;
  readonly debianSnapshot: string;
  readonly packages: Readonly<Record<string, string>>;
  readonly nitroCli: string;
  readonly vsock: { readonly parentChannelPort: number; readonly kmsProxyPort: number };
}

const IMAGE_BY_DIGEST = /^[a-z0-9.-]+(?::\d+)?(?:\/[a-z0-9._-]+)+(?::[A-Za-z0-9._-]+)?@sha256:[0-9a-f]{64}$/;
const SNAPSHOT = /^\d{8}T\d{6}Z$/;
const DEBIAN_VERSION = /^[0-9][A-Za-z0-9.+~:-]*$/;
const SEMVER = /^\d+\.\d+\.\d+$/;

/** Parses and checks enclave-app/image/pins.json; every pin must be exact. */
export function checkPins(json: string): ImagePins {
  const pins = parseStrictJson(json) as unknown as ImagePins;
  const unpinned: string[] = [];
  for (const key of ['buildImage', 'runtimeImage'] as const) {
    const ref = pins[key];
    if (typeof ref !== 'string') throw new ImagePinError('INVALID_PIN', `${key} is missing`);
    if (ref.endsWith('@UNPINNED')) unpinned.push(key);
    else if (!IMAGE_BY_DIGEST.test(ref)) throw new ImagePinError('INVALID_PIN', `${key} is not an image reference by sha256 digest`);
  }
  if (unpinned.length > 0) {
    throw new ImagePinError('UNPINNED', `${unpinned.join(' and ')} not pinned by digest yet: resolve them on a host with registry access (docker buildx imagetools inspect <image>) and commit the digests`);
  }
  if (typeof pins.debianSnapshot !== 'string' || !SNAPSHOT.test(pins.debianSnapshot)) throw new ImagePinError('INVALID_PIN', 'debianSnapshot is a snapshot.debian.org timestamp (YYYYMMDDThhmmssZ)');
  for (const name of ['socat', 'iproute2']) {
    const version = pins.packages?.[name];
    if (typeof version !== 'string' || !DEBIAN_VERSION.test(version)) throw new ImagePinError('INVALID_PIN', `packages.${name} needs an exact Debian version`);
  }
  if (typeof pins.nitroCli !== 'string' || !SEMVER.test(pins.nitroCli)) throw new ImagePinError('INVALID_PIN', 'nitroCli is an exact version');
  const ports = [pins.vsock?.parentChannelPort, pins.vsock?.kmsProxyPort];
  if (!ports.every((p) => Number.isInteger(p) && p! > 1023 && p! < 65536) || ports[0] === ports[1]) throw new ImagePinError('INVALID_PIN', 'vsock ports are two distinct unprivileged ports');
  return pins;
}

/** Checks enclave-app/image/vendor.sha256 (`<sha256>  <path>` lines) against the tree. */
export function checkVendoredFiles(root = ROOT): readonly string[] {
  const lines = readFileSync(join(root, 'enclave-app', 'image', 'vendor.sha256'), 'utf8').trim().split('\n');
  const files: string[] = [];
  for (const line of lines) {
    const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
    if (!m) throw new ImagePinError('INVALID_PIN', `vendor.sha256: malformed line`);
    const actual = createHash('sha256').update(readFileSync(join(root, m[2]!))).digest('hex');
    if (actual !== m[1]) throw new ImagePinError('VENDORED_FILE_CHANGED', `${m[2]} does not match its recorded SHA-256 (update vendor.sha256 in a reviewed commit)`);
    files.push(m[2]!);
  }
  return files;
}

export interface ImageBuildInput {
  readonly releaseId: string;
  readonly region: string;
  readonly modelSha256: string;
  readonly sourceCommit: string;
  readonly sourceDateEpoch: number;
}

/** The build host's two commands, as argument vectors. */
export function imageBuildCommands(pins: ImagePins, input: ImageBuildInput, out = 'dist/eif'): { docker: string[]; nitroCli: string[] } {
  const tag = `private-processing-enclave:${input.releaseId}`;
  const arg = (k: string, v: string | number) => ['--build-arg', `${k}=${v}`];
  return {
    docker: [
      'docker', 'buildx', 'build',
      '--file', 'enclave-app/image/Dockerfile',
      ...arg('BUILD_IMAGE', pins.buildImage),
      ...arg('RUNTIME_IMAGE', pins.runtimeImage),
      ...arg('DEBIAN_SNAPSHOT', pins.debianSnapshot),
      ...arg('SOCAT_VERSION', pins.packages.socat!),
      ...arg('IPROUTE2_VERSION', pins.packages.iproute2!),
      ...arg('SOURCE_DATE_EPOCH', input.sourceDateEpoch),
      ...arg('SOURCE_COMMIT', input.sourceCommit),
      ...arg('RELEASE_ID', input.releaseId),
      ...arg('REGION', input.region),
      ...arg('MODEL_SHA256', input.modelSha256),
      '--no-cache',
      '--provenance=false',
      '--output', `type=docker,name=${tag},rewrite-timestamp=true`,
      '.',
    ],
    nitroCli: ['nitro-cli', 'build-enclave', '--docker-uri', tag, '--output-file', `${out}/${input.releaseId}.eif`],
  };
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

/** `npm run release -- image --release-id <id> --region <r> --model-sha256 <hex> [--commit <sha>] [--run]` */
export function imageCommand(args: string[]): void {
  const releaseId = arg(args, 'release-id');
  const region = arg(args, 'region');
  const modelSha256 = arg(args, 'model-sha256');
  if (!releaseId || !region || !modelSha256) throw new Error('usage: npm run release -- image --release-id <id> --region <region> --model-sha256 <hex> [--commit <sha>] [--run]');
  const pins = checkPins(readFileSync(join(IMAGE_DIR, 'pins.json'), 'utf8'));
  checkVendoredFiles();
  const git = (a: string[]) => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim();
  const sourceCommit = arg(args, 'commit') ?? git(['rev-parse', 'HEAD']);
  const sourceDateEpoch = Number(git(['log', '-1', '--format=%ct', sourceCommit]));
  const commands = imageBuildCommands(pins, { releaseId, region, modelSha256, sourceCommit, sourceDateEpoch });
  const quote = (v: string) => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
  process.stdout.write(`# on the build host (Docker with BuildKit, nitro-cli ${pins.nitroCli}), in a clean checkout of ${sourceCommit}:\n`);
  for (const c of [commands.docker, commands.nitroCli]) process.stdout.write(`${c.map(quote).join(' ')}\n`);
  process.stdout.write(`# then: npm run release -- build --release-id ${releaseId} --region ${region} --commit ${sourceCommit} --created-at ${sourceDateEpoch} --nitro-measurements <nitro-cli output.json> ...\n`);
  if (args.includes('--run')) {
    for (const c of [commands.docker, commands.nitroCli]) execFileSync(c[0]!, c.slice(1), { cwd: ROOT, stdio: 'inherit' });
  }
}
