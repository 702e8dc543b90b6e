// The model owner's CLI: a new data key, sealing a GGUF, the printed hash.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openModel } from '../../../protocol/formats/model';
import { LlmBackend } from '../src';
import { tinyLlamaGguf } from '../tools/gguf';
import { sha256, spyLoader, tempDir } from './helpers';

const CLI = join(__dirname, '../bin/seal-model.ts');
const TSX = join(__dirname, '../node_modules/.bin/tsx');
const run = (...args: string[]) => JSON.parse(execFileSync(TSX, [CLI, ...args], { encoding: 'utf8' }));

test('new-data-key writes 32 bytes 0600; seal writes a file only that key opens, and prints the hash to compile in', async (t) => {
  const dir = tempDir(t);
  const gguf = tinyLlamaGguf({ seed: 5 });
  writeFileSync(join(dir, 'm.gguf'), gguf);
  run('new-data-key', join(dir, 'k'));
  assert.equal(statSync(join(dir, 'k')).mode & 0o777, 0o600);
  const key = new Uint8Array(readFileSync(join(dir, 'k')));
  assert.equal(key.length, 32);
  const out = run('seal', join(dir, 'm.gguf'), '--data-key-file', join(dir, 'k'));
  assert.deepEqual(out, { modelSha256: sha256(gguf), sealed: join(dir, 'm.gguf.sealed'), bytes: gguf.length + 29 });
  const sealed = new Uint8Array(readFileSync(out.sealed));
  assert.deepEqual(openModel(key, sealed, out.modelSha256), gguf);
  const loader = spyLoader();
  await LlmBackend.fromSealedModel(key, sealed, { modelSha256: out.modelSha256, loader });
  assert.equal(loader.calls.length, 1);
});

test('the key may be given as hex or base64 (aws kms generate-data-key Plaintext)', (t) => {
  const dir = tempDir(t);
  const gguf = tinyLlamaGguf({ seed: 6 });
  writeFileSync(join(dir, 'm.gguf'), gguf);
  const key = Buffer.alloc(32, 9);
  writeFileSync(join(dir, 'hex'), `${key.toString('hex')}\n`);
  writeFileSync(join(dir, 'b64'), key.toString('base64'));
  const a = run('seal', join(dir, 'm.gguf'), '--data-key-file', join(dir, 'hex'), '--out', join(dir, 'a'));
  const b = run('seal', join(dir, 'm.gguf'), '--data-key-file', join(dir, 'b64'), '--out', join(dir, 'b'));
  assert.deepEqual(openModel(key, new Uint8Array(readFileSync(a.sealed)), a.modelSha256), gguf);
  assert.deepEqual(openModel(key, new Uint8Array(readFileSync(b.sealed)), b.modelSha256), gguf);
});

test('refusals: not a GGUF, a key of the wrong size, an existing output, no key file', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'notes.txt'), 'not a model at all, just some text');
  writeFileSync(join(dir, 'm.gguf'), tinyLlamaGguf({ seed: 6 }));
  writeFileSync(join(dir, 'short'), Buffer.alloc(16));
  writeFileSync(join(dir, 'k'), Buffer.alloc(32, 1));
  writeFileSync(join(dir, 'exists'), 'x');
  const fail = (...args: string[]) => {
    const r = spawnSync(TSX, [CLI, ...args], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr.trim().split('\n').pop() };
  };
  assert.deepEqual(fail('seal', join(dir, 'notes.txt'), '--data-key-file', join(dir, 'k')), { status: 1, stdout: '', stderr: 'NOT_GGUF' });
  assert.equal(fail('seal', join(dir, 'm.gguf'), '--data-key-file', join(dir, 'short')).status, 2);
  assert.equal(fail('seal', join(dir, 'm.gguf'), '--data-key-file', join(dir, 'k'), '--out', join(dir, 'exists')).status, 1);
  assert.equal(fail('seal', join(dir, 'm.gguf')).status, 2);
  assert.equal(readFileSync(join(dir, 'exists'), 'utf8'), 'x');
});
