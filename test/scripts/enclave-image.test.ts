// The hermetic enclave image: what can be checked without Docker or nitro-cli. The
// Dockerfile takes every input from a pin, the pins are exact (and refused while a base
// image digest is still unresolved), vendored files match their recorded hashes, the
// init script forwards only what it must, and the build commands carry every pin.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPins, checkVendoredFiles, IMAGE_DIR, imageBuildCommands, ImagePinError } from '../../scripts/enclave-image';
import { enclaveImageFiles, RELEASE_PLATFORM } from '../../scripts/release';
import { measure } from '../../protocol';

const ROOT = join(__dirname, '..', '..');
const dockerfile = readFileSync(join(IMAGE_DIR, 'Dockerfile'), 'utf8');
const init = readFileSync(join(IMAGE_DIR, 'init.sh'), 'utf8');
const committedPins = readFileSync(join(IMAGE_DIR, 'pins.json'), 'utf8');
const DIGEST = `@sha256:${'ab'.repeat(32)}`;
const pinned = () => {
  const p = JSON.parse(committedPins);
  return { ...p, buildImage: p.buildImage.replace('@UNPINNED', DIGEST), runtimeImage: p.runtimeImage.replace('@UNPINNED', DIGEST) };
};

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ImagePinError ? err.code : `not an ImagePinError: ${String(err)}`;
  }
  return undefined;
}

describe('Dockerfile', () => {
  const instructions = dockerfile.split('\n').filter((l) => l && !l.startsWith('#'));
  test('every FROM is a build argument without a default (pins.json provides it by digest)', () => {
    const froms = instructions.filter((l) => l.startsWith('FROM '));
    expect(froms).toEqual(['FROM ${BUILD_IMAGE} AS build', 'FROM ${RUNTIME_IMAGE}']);
    expect(instructions).toContain('ARG BUILD_IMAGE');
    expect(instructions).toContain('ARG RUNTIME_IMAGE');
    expect(dockerfile).not.toMatch(/ARG (BUILD|RUNTIME)_IMAGE=/);
  });
  test('SOURCE_DATE_EPOCH in both stages, npm ci without install scripts, vendored files checked before use', () => {
    expect(instructions.filter((l) => l.startsWith('ENV SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH}'))).toHaveLength(2);
    expect(instructions).toContain('RUN npm ci --ignore-scripts');
    expect(dockerfile.indexOf('sha256sum --check --strict enclave-app/image/vendor.sha256')).toBeLessThan(dockerfile.indexOf('nsm-bridge.c'));
    expect(dockerfile).toContain('--model-sha256 "${MODEL_SHA256}"');
  });
  test('nothing is fetched unpinned: no ADD of URLs, no :latest, Debian from a fixed snapshot at fixed versions', () => {
    expect(instructions.filter((l) => l.startsWith('ADD '))).toEqual([]);
    expect(dockerfile).not.toMatch(/:latest\b/);
    expect(dockerfile).toContain('snapshot.debian.org/archive/debian/%s bookworm main');
    const installs = [...dockerfile.matchAll(/apt-get install ([^\\\n]+)/g)].map((m) => m[1]!);
    expect(installs).toHaveLength(1);
    const packages = installs[0]!.split(/\s+/).filter((w) => w && !w.startsWith('-'));
    expect(packages).toEqual(['"socat=${SOCAT_VERSION}"', '"iproute2=${IPROUTE2_VERSION}"']);
  });
});

describe('pins.json', () => {
  test('the committed pins are refused until the base image digests are resolved (this machine has no registry)', () => {
    expect(code(() => checkPins(committedPins))).toBe('UNPINNED');
  });
  test('a complete set passes; each malformed pin is INVALID_PIN', () => {
    expect(checkPins(JSON.stringify(pinned())).packages.socat).toBe('1.7.4.4-2');
    const bad: [string, (p: ReturnType<typeof pinned>) => void][] = [
      ['a tag instead of a digest', (p) => (p.runtimeImage = 'public.ecr.aws/docker/library/node:20-bookworm-slim')],
      ['a short digest', (p) => (p.buildImage = 'public.ecr.aws/docker/library/node@sha256:abcd')],
      ['a moving snapshot', (p) => (p.debianSnapshot = 'latest')],
      ['a package range', (p) => (p.packages = { ...p.packages, socat: '>=1.7' })],
      ['a missing package', (p) => (p.packages = { socat: '1.7.4.4-2' })],
      ['a nitro-cli range', (p) => (p.nitroCli = '^1.4')],
      ['equal vsock ports', (p) => (p.vsock = { parentChannelPort: 5000, kmsProxyPort: 5000 })],
    ];
    for (const [name, change] of bad) {
      const p = pinned();
      change(p);
      expect([name, code(() => checkPins(JSON.stringify(p)))]).toEqual([name, 'INVALID_PIN']);
    }
  });
});

test('vendored files match vendor.sha256; a change without a new hash is refused', () => {
  expect(checkVendoredFiles()).toEqual(['enclave-app/nsm/bridge/nsm-bridge.c', 'enclave-app/image/init.sh']);
  const copy = mkdtempSync(join(tmpdir(), 'pp-vendor-'));
  cpSync(join(ROOT, 'enclave-app'), join(copy, 'enclave-app'), { recursive: true });
  writeFileSync(join(copy, 'enclave-app', 'nsm', 'bridge', 'nsm-bridge.c'), `${readFileSync(join(ROOT, 'enclave-app', 'nsm', 'bridge', 'nsm-bridge.c'), 'utf8')}\n/* changed */\n`);
  expect(code(() => checkVendoredFiles(copy))).toBe('VENDORED_FILE_CHANGED');
});

test('init.sh: valid sh; forwards KMS only to the parent (CID 3) on the pinned port and the parent channel only to the app socket', () => {
  expect(spawnSync('sh', ['-n', join(IMAGE_DIR, 'init.sh')]).status).toBe(0);
  const pins = JSON.parse(committedPins);
  const bridges = init.split('\n').filter((l) => l.startsWith('socat '));
  expect(bridges).toEqual([
    `socat TCP-LISTEN:443,bind=127.0.0.1,reuseaddr,fork VSOCK-CONNECT:3:${pins.vsock.kmsProxyPort} &`,
    `socat VSOCK-LISTEN:${pins.vsock.parentChannelPort},reuseaddr,fork UNIX-CONNECT:/run/pp/enclave.sock &`,
  ]);
  expect(init).not.toMatch(/socat\s+-v|-d -d/);
  expect(init.trimEnd().split('\n').at(-1)).toBe('exec /usr/local/bin/node --use-bundled-ca /app/enclave/main.js');
});

test('the init script is part of the measured image: changing it changes PCR0', () => {
  const files = enclaveImageFiles({ releaseId: 'r', region: 'eu-west-1', modelSha256: 'ab'.repeat(32), sourceCommit: 'f'.repeat(40), createdAt: 1 });
  expect(new TextDecoder().decode(files.get('enclave/init.sh'))).toBe(init);
  const changed = new Map(files).set('enclave/init.sh', new TextEncoder().encode(init.replace('VSOCK-CONNECT:3:', 'VSOCK-CONNECT:2:')));
  expect(measure({ platform: RELEASE_PLATFORM, files: changed }).pcr0).not.toBe(measure({ platform: RELEASE_PLATFORM, files }).pcr0);
});

test('the build commands carry every pin, rewrite timestamps and name the pinned nitro-cli output', () => {
  const pins = checkPins(JSON.stringify(pinned()));
  const { docker, nitroCli } = imageBuildCommands(pins, { releaseId: '2026.11.27-a', region: 'eu-west-1', modelSha256: 'cd'.repeat(32), sourceCommit: 'e'.repeat(40), sourceDateEpoch: 1_795_000_000 });
  const buildArgs = Object.fromEntries(docker.flatMap((a, i) => (docker[i - 1] === '--build-arg' ? [a.split(/=(.*)/s).slice(0, 2)] : [])));
  expect(buildArgs).toEqual({
    BUILD_IMAGE: pins.buildImage,
    RUNTIME_IMAGE: pins.runtimeImage,
    DEBIAN_SNAPSHOT: pins.debianSnapshot,
    SOCAT_VERSION: '1.7.4.4-2',
    IPROUTE2_VERSION: '6.1.0-3',
    SOURCE_DATE_EPOCH: '1795000000',
    SOURCE_COMMIT: 'e'.repeat(40),
    RELEASE_ID: '2026.11.27-a',
    REGION: 'eu-west-1',
    MODEL_SHA256: 'cd'.repeat(32),
  });
  // Every ARG the Dockerfile reads is given.
  const declared = new Set([...dockerfile.matchAll(/^ARG (\w+)$/gm)].map((m) => m[1]!));
  expect([...declared].sort()).toEqual(Object.keys(buildArgs).sort());
  expect(docker).toContain('type=docker,name=private-processing-enclave:2026.11.27-a,rewrite-timestamp=true');
  expect(nitroCli).toEqual(['nitro-cli', 'build-enclave', '--docker-uri', 'private-processing-enclave:2026.11.27-a', '--output-file', 'dist/eif/2026.11.27-a.eif']);
});

test('the AMI recipe: valid sh; vsock-proxy allows one host, KMS, on the pinned port; the parent channel reaches the pinned vsock port', () => {
  const ami = readFileSync(join(ROOT, 'enclave-app', 'parent', 'ami', 'build-ami.sh'), 'utf8');
  expect(spawnSync('sh', ['-n', join(ROOT, 'enclave-app', 'parent', 'ami', 'build-ami.sh')]).status).toBe(0);
  const pins = JSON.parse(committedPins);
  const allowlist = /allowlist:\n((?:- .*\n)+)YAML/.exec(ami)![1]!.trim().split('\n');
  expect(allowlist).toEqual(['- {address: kms.${REGION}.amazonaws.com, port: 443}']);
  expect(ami).toContain(`ExecStart=/usr/bin/vsock-proxy ${pins.vsock.kmsProxyPort} kms.\${REGION}.amazonaws.com 443 --config /etc/nitro_enclaves/vsock-proxy.yaml`);
  expect(ami).toContain(`VSOCK-CONNECT:16:${pins.vsock.parentChannelPort}`);
  expect(ami).toContain('"aws-nitro-enclaves-cli-${NITRO_CLI_VERSION}"');
});
