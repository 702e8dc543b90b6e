// The loading path: decrypt, hash, and only then the first parse and the loader; the
// model file is private (anonymous, or 0600 in a 0700 directory) and gone after the load.
import { strict as assert } from 'node:assert';
import { existsSync, fstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { LlmBackend, LlmBackendError, ModelError, withModelFile } from '../src';
import { sha256, spyLoader, tempDir, tinyModel } from './helpers';

const codeOf = (err: unknown) => ({ type: err instanceof ModelError ? 'ModelError' : err instanceof LlmBackendError ? 'LlmBackendError' : 'other', code: (err as { code?: string }).code });

test('a GGUF whose hash differs from the compiled-in one is refused with HASH_MISMATCH: the loader is never called, no file is written', async (t) => {
  const dir = tempDir(t);
  const release = tinyModel({ seed: 1 });
  const other = tinyModel({ seed: 2 }); // a valid GGUF too, sealed under the release's key
  const { sealModel } = await import('../../../protocol/formats/model');
  const loader = spyLoader();
  const err = await LlmBackend.fromSealedModel(release.dataKey, sealModel(release.dataKey, other.gguf), { modelSha256: release.sha256, loader, file: { dir, strategy: 'named' } }).catch((e) => e);
  assert.deepEqual(codeOf(err), { type: 'ModelError', code: 'HASH_MISMATCH' });
  assert.deepEqual(loader.calls, []);
  assert.deepEqual(readdirSync(dir), []);
});

test('bytes the enclave already opened are hashed again: a mismatch is refused before the loader', async (t) => {
  const dir = tempDir(t);
  const release = tinyModel({ seed: 1 });
  const loader = spyLoader();
  const tampered = new Uint8Array(release.gguf);
  tampered[tampered.length - 1]! ^= 1;
  const err = await LlmBackend.fromVerifiedModel(tampered, { modelSha256: release.sha256, loader, file: { dir, strategy: 'named' } }).catch((e) => e);
  assert.deepEqual(codeOf(err), { type: 'ModelError', code: 'HASH_MISMATCH' });
  assert.deepEqual(loader.calls, []);
  assert.deepEqual(readdirSync(dir), []);
});

test('the wrong data key, a flipped ciphertext bit and a truncated file fail decryption; the loader is never called', async () => {
  const m = tinyModel();
  const loader = spyLoader();
  const flipped = new Uint8Array(m.sealed);
  flipped[40]! ^= 1;
  const cases: [Uint8Array, Uint8Array, string][] = [
    [new Uint8Array(32).fill(7), m.sealed, 'DECRYPT_FAILED'],
    [m.dataKey, flipped, 'DECRYPT_FAILED'],
    [m.dataKey, m.sealed.subarray(0, 20), 'MALFORMED'],
  ];
  for (const [key, sealed, code] of cases) {
    const err = await LlmBackend.fromSealedModel(key, sealed, { modelSha256: m.sha256, loader }).catch((e) => e);
    assert.deepEqual(codeOf(err), { type: 'ModelError', code });
  }
  assert.deepEqual(loader.calls, []);
});

test('a file that hashes right but is not GGUF: NOT_GGUF, only after the hash, and no loader', async () => {
  const notGguf = new TextEncoder().encode(JSON.stringify({ stopwords: [] }));
  const loader = spyLoader();
  const err = await LlmBackend.fromVerifiedModel(notGguf, { modelSha256: sha256(notGguf), loader }).catch((e) => e);
  assert.deepEqual(codeOf(err), { type: 'LlmBackendError', code: 'NOT_GGUF' });
  assert.deepEqual(loader.calls, []);
});

test('an expected hash that is not 64 lower-case hex digits: BAD_EXPECTED_HASH', async () => {
  const m = tinyModel();
  for (const bad of ['', m.sha256.toUpperCase(), m.sha256.slice(2)]) {
    const err = await LlmBackend.fromSealedModel(m.dataKey, m.sealed, { modelSha256: bad, loader: spyLoader() }).catch((e) => e);
    assert.deepEqual(codeOf(err), { type: 'LlmBackendError', code: 'BAD_EXPECTED_HASH' });
  }
});

test('named file: 0600 in a 0700 directory while loading, the exact model bytes, gone with its directory after', async (t) => {
  const dir = tempDir(t);
  const m = tinyModel();
  let seen: { mode: number; dirMode: number; same: boolean } | undefined;
  const loader = spyLoader({
    onLoad: (path) => {
      seen = { mode: statSync(path).mode & 0o777, dirMode: statSync(dirname(path)).mode & 0o777, same: sha256(readFileSync(path)) === m.sha256 };
    },
  });
  await LlmBackend.fromSealedModel(m.dataKey, m.sealed, { modelSha256: m.sha256, loader, file: { dir, strategy: 'named' } });
  assert.deepEqual(seen, { mode: 0o600, dirMode: 0o700, same: true });
  assert.equal(loader.calls.length, 1);
  assert.equal(existsSync(loader.calls[0]!), false);
  assert.deepEqual(readdirSync(dir), []);
});

test('named file: removed as well when the loader fails (LOAD_FAILED)', async (t) => {
  const dir = tempDir(t);
  const m = tinyModel();
  const loader = spyLoader({ fail: new LlmBackendError('LOAD_FAILED') });
  const err = await LlmBackend.fromSealedModel(m.dataKey, m.sealed, { modelSha256: m.sha256, loader, file: { dir, strategy: 'named' } }).catch((e) => e);
  assert.deepEqual(codeOf(err), { type: 'LlmBackendError', code: 'LOAD_FAILED' });
  assert.equal(loader.calls.length, 1);
  assert.deepEqual(readdirSync(dir), []);
});

test('anonymous file (O_TMPFILE): no name in the directory while loading, 0600, closed after', async (t) => {
  const dir = tempDir(t);
  const m = tinyModel();
  let during: { entries: string[]; mode: number; same: boolean; fd: number } | undefined;
  const placed: string[] = [];
  await withModelFile(
    m.gguf,
    async (path) => {
      during = { entries: readdirSync(dir), mode: statSync(path).mode & 0o777, same: sha256(readFileSync(path)) === m.sha256, fd: Number(path.split('/').pop()) };
    },
    { dir, onPlaced: (p) => placed.push(p.strategy) },
  );
  assert.deepEqual(placed, ['anonymous']);
  assert.deepEqual({ ...during, fd: undefined }, { entries: [], mode: 0o600, same: true, fd: undefined });
  assert.throws(() => fstatSync(during!.fd), /EBADF/);
});

test('the default place is tmpfs (/dev/shm) when the machine has it', async () => {
  const { defaultModelDir } = await import('../src');
  assert.equal(defaultModelDir(), existsSync('/dev/shm') ? '/dev/shm' : (await import('node:os')).tmpdir());
});
