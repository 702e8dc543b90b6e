// The release pipeline: reproducible builds, what changes PCR0, nitro-cli input, and
// publishing the release and its session key through the log writer.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeReleaseManifest, type LogEntry } from '../../protocol';
import { buildRelease, publishRelease, publishSessionKey, revocationEntry, type ReleaseBuildOptions } from '../../scripts/release';
import { LOCAL_ENDPOINT_MARKER } from '../../enclave-app/kms/local-endpoint';
import { kmsWorld } from '../helpers/kms';
import { logWorld } from '../helpers/tlog';

jest.setTimeout(120_000);
const ROOT = join(__dirname, '..', '..');
const WORK = join(ROOT, 'dist', `test-release-${process.pid}`);
const OPTIONS: ReleaseBuildOptions = { releaseId: '2026.11.27-1', region: 'eu-west-1', modelSha256: 'ab'.repeat(32), sourceCommit: 'c'.repeat(40), createdAt: 1_795_000_000 };

/** A checkout of the enclave's sources in its own directory. */
function checkout(name: string): string {
  const dir = join(WORK, name);
  mkdirSync(dir, { recursive: true });
  for (const folder of ['enclave-app', 'protocol']) cpSync(join(ROOT, folder), join(dir, folder), { recursive: true });
  return dir;
}

afterAll(() => rmSync(WORK, { recursive: true, force: true }));

test('the same commit built twice in different directories gives the same image and manifest', () => {
  const a = buildRelease({ ...OPTIONS, root: checkout('a') });
  const b = buildRelease({ ...OPTIONS, root: checkout('b') });
  expect(a.manifestJson).toBe(b.manifestJson);
  for (const [path, bytes] of a.bundle.files) expect(Buffer.from(b.bundle.files.get(path)!).equals(Buffer.from(bytes))).toBe(true);
  expect(decodeReleaseManifest(a.manifestJson)).toEqual(a.manifest);
  expect(a.manifest.kind).toBe('emulated');
});

test('changing the enclave code, the compiled-in model hash or a production constant changes PCR0', () => {
  const base = buildRelease({ ...OPTIONS, root: checkout('base') }).manifest.measurements.pcr0;
  const changed = checkout('changed');
  const handler = join(changed, 'enclave-app', 'server', 'handler.ts');
  writeFileSync(handler, readFileSync(handler, 'utf8').replace("plain(503, 'NOT_SERVING', 30)", "plain(503, 'NOT_SERVING', 31)"));
  const pcr0 = (o: Partial<ReleaseBuildOptions>) => buildRelease({ ...OPTIONS, root: checkout('base'), ...o }).manifest.measurements.pcr0;
  expect(buildRelease({ ...OPTIONS, root: changed }).manifest.measurements.pcr0).not.toBe(base);
  expect(pcr0({ modelSha256: 'cd'.repeat(32) })).not.toBe(base);
  expect(pcr0({ region: 'us-east-1' })).not.toBe(base);
  expect(pcr0({ releaseId: '2026.11.27-2' })).not.toBe(base);
  // The commit and date are recorded, not measured.
  expect(pcr0({ sourceCommit: 'd'.repeat(40), createdAt: 1_795_000_001 })).toBe(base);
});

test('the release image contains no endpoint override, no TCP listener and no emulator', () => {
  const text = new TextDecoder().decode(buildRelease(OPTIONS).bundle.files.get('enclave/main.js'));
  expect(text).not.toContain(LOCAL_ENDPOINT_MARKER);
  // Our TCP listener is compiled out (127.0.0.1 still appears inside the AWS SDK's container-credential code).
  expect(text).not.toMatch(/listen\(address\.port, address\.host/);
  expect(text).not.toMatch(/NsmEmulator|kms-emulator|createRoot\(/);
  expect(text).toContain('a production build listens on the vsock bridge socket only');
  expect(text).toContain('ab'.repeat(32));
});

test('nitro-cli measurements make a `nitro` release with those PCRs; anything else is refused', () => {
  const pcrs = { PCR0: '0a'.repeat(48), PCR1: '0b'.repeat(48), PCR2: '0c'.repeat(48) };
  const json = JSON.stringify({ Measurements: { HashAlgorithm: 'Sha384 { ... }', ...pcrs } });
  const built = buildRelease({ ...OPTIONS, nitroMeasurements: json });
  expect(built.manifest.kind).toBe('nitro');
  expect(built.manifest.measurements).toEqual({ pcr0: pcrs.PCR0, pcr1: pcrs.PCR1, pcr2: pcrs.PCR2 });
  expect(() => buildRelease({ ...OPTIONS, nitroMeasurements: JSON.stringify({ Measurements: { HashAlgorithm: 'Sha256', ...pcrs } }) })).toThrow('SHA-384');
  expect(() => buildRelease({ ...OPTIONS, nitroMeasurements: JSON.stringify({ Measurements: { HashAlgorithm: 'Sha384', ...pcrs, PCR0: 'zz' } }) })).toThrow('PCR0');
  expect(() => buildRelease({ ...OPTIONS, nitroMeasurements: '{"Measurements":{},"Measurements":{}}' })).toThrow();
});

test('publish appends the release and its session key, exactly as KMS describes it, through the log writer', async () => {
  const built = buildRelease(OPTIONS);
  const kms = await kmsWorld();
  const { log } = await logWorld({ witnesses: 2 });
  try {
    const sessionKeyArn = await kms.createKey({ spec: 'session', pcr0: built.manifest.measurements.pcr0 });
    const now = Math.floor(Date.now() / 1000);
    const indexes = await publishRelease({ manifest: built.manifest, sessionKeyArn, kms: kms.client('publisher'), append: (e, s) => log.append(e, s), window: { notBefore: now, notAfter: now + 30 * 86_400 } });
    expect(indexes).toEqual({ release: 0, sessionKey: 1 });
    const [release, key] = log.allEntries() as [LogEntry & { type: 'release' }, LogEntry & { type: 'session_key' }];
    expect(release).toMatchObject({ type: 'release', releaseId: OPTIONS.releaseId, kind: 'emulated', sourceCommit: OPTIONS.sourceCommit });
    expect(Buffer.from(release.pcr0).toString('hex')).toBe(built.manifest.measurements.pcr0);
    expect(key).toMatchObject({ type: 'session_key', releaseId: OPTIONS.releaseId, kmsKeyArn: sessionKeyArn });
    expect(log.checkpoint).toMatch(/\n2\n/);
    // A key whose policy names another measurement is refused by the log writer.
    const other = await kms.createKey({ spec: 'session', pcr0: 'ee'.repeat(48) });
    await expect(publishRelease({ manifest: { ...built.manifest, releaseId: '2026.11.27-9' }, sessionKeyArn: other, kms: kms.client('publisher'), append: (e, s) => log.append(e, s), window: { notBefore: now, notAfter: now + 86_400 } })).rejects.toMatchObject({ code: 'KEY_REJECTED' });
  } finally {
    await kms.stop();
  }
});

test('a rotation appends only the new session key; revocations name a logged release or key, or are refused', async () => {
  const manifest = { ...buildRelease(OPTIONS).manifest };
  const kms = await kmsWorld();
  const { log } = await logWorld({ witnesses: 2 });
  try {
    const now = Math.floor(Date.now() / 1000);
    const first = await kms.createKey({ spec: 'session', pcr0: manifest.measurements.pcr0 });
    await publishRelease({ manifest, sessionKeyArn: first, kms: kms.client('publisher'), append: (e, s) => log.append(e, s), window: { notBefore: now, notAfter: now + 30 * 86_400 }, keyWindow: { notBefore: now, notAfter: now + 8 * 86_400 } });
    const second = await kms.createKey({ spec: 'session', pcr0: manifest.measurements.pcr0 });
    const index = await publishSessionKey({ manifest, sessionKeyArn: second, kms: kms.client('publisher'), append: (e, s) => log.append(e, s), window: { notBefore: now + 7 * 86_400, notAfter: now + 15 * 86_400 } });
    expect(index).toBe(2);
    expect(log.allEntries().map((e) => e.type)).toEqual(['release', 'session_key', 'session_key']);
    await log.append(revocationEntry({ sessionKeyArn: first }, 'rotated out early', now + 60), 'publisher');
    expect(log.allEntries().at(-1)).toEqual({ type: 'revocation', target: { type: 'session_key', kmsKeyArn: first }, reason: 'rotated out early', effectiveAt: now + 60 });
    await expect(log.append(revocationEntry({ releaseId: '2026.11.27-unknown' }, 'never logged', now), 'publisher')).rejects.toMatchObject({ code: 'UNKNOWN_TARGET' });
  } finally {
    await kms.stop();
  }
});
