// The GGUF writer: deterministic framing that node-llama-cpp's own GGUF reader parses.
import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tinyLlamaGguf, tinyVocabulary, toHalf } from '../tools/gguf';
import { sha256, tempDir } from './helpers';

test('the same seed gives the same bytes; another seed other weights, same layout', () => {
  const a = tinyLlamaGguf({ seed: 1 });
  assert.equal(sha256(a), sha256(tinyLlamaGguf({ seed: 1 })));
  const b = tinyLlamaGguf({ seed: 2 });
  assert.notEqual(sha256(a), sha256(b));
  assert.equal(a.length, b.length);
});

test('header: magic GGUF, version 3, tensor and metadata counts', () => {
  const bytes = Buffer.from(tinyLlamaGguf({ layers: 3 }));
  assert.equal(bytes.subarray(0, 4).toString('latin1'), 'GGUF');
  assert.equal(bytes.readUInt32LE(4), 3);
  assert.equal(bytes.readBigUInt64LE(8), BigInt(1 + 9 * 3 + 2)); // embeddings, 9 per block, output norm and output
  assert.equal(bytes.readBigUInt64LE(16), 23n);
});

test("node-llama-cpp's reader parses the metadata and tensor infos", async (t) => {
  const { readGgufFileInfo } = await import('node-llama-cpp');
  const path = join(tempDir(t), 'tiny.gguf');
  writeFileSync(path, tinyLlamaGguf({ embedding: 32, heads: 2, kvHeads: 1, layers: 1, weights: 'Q8_0' }));
  const info = await readGgufFileInfo(path, { readTensorInfo: true });
  const meta = info.metadata as unknown as {
    general: { architecture: string; file_type: number };
    llama: { embedding_length: number; block_count: number; attention: { head_count: number; head_count_kv: number } };
    tokenizer: { ggml: { model: string; tokens: string[]; bos_token_id: number; eos_token_id: number } };
  };
  assert.equal(meta.general.architecture, 'llama');
  assert.equal(meta.general.file_type, 7);
  assert.equal(meta.llama.embedding_length, 32);
  assert.equal(meta.llama.block_count, 1);
  assert.deepEqual([meta.llama.attention.head_count, meta.llama.attention.head_count_kv], [2, 1]);
  assert.equal(meta.tokenizer.ggml.model, 'llama');
  assert.deepEqual(meta.tokenizer.ggml.tokens, tinyVocabulary().tokens);
  assert.deepEqual([meta.tokenizer.ggml.bos_token_id, meta.tokenizer.ggml.eos_token_id], [1, 2]);
  const names = info.fullTensorInfo!.map((i) => i.name);
  assert.deepEqual(names.slice(0, 3), ['token_embd.weight', 'blk.0.attn_norm.weight', 'blk.0.attn_q.weight']);
  const q = info.fullTensorInfo!.find((i) => i.name === 'blk.0.attn_k.weight')!;
  assert.deepEqual(q.dimensions.map(Number), [32, 16]);
  for (const i of info.fullTensorInfo!) assert.equal(Number(i.offset) % 32, 0);
});

test('vocabulary: the specials, all 256 byte tokens, then word pieces', () => {
  const v = tinyVocabulary();
  assert.deepEqual(v.tokens.slice(0, 3), ['<unk>', '<s>', '</s>']);
  assert.equal(v.tokens[3 + 0x0a], '<0x0A>');
  assert.equal(v.types.filter((x) => x === 6).length, 256);
  assert.equal(new Set(v.tokens).size, v.tokens.length);
  assert.equal(v.scores.length, v.tokens.length);
});

test('half floats of block scales', () => {
  assert.equal(toHalf(1), 0x3c00);
  assert.equal(toHalf(-2), 0xc000);
  assert.equal(toHalf(0.5), 0x3800);
  assert.equal(toHalf(1e-9), 0);
});
