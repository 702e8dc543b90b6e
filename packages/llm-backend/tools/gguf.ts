// A small GGUF (v3) writer for llama-architecture models with random weights, for the
// package's tests and bench: no model is downloaded anywhere. It frames the file as the
// GGUF format describes it (magic, version, counts, metadata key/values, tensor infos,
// then tensor data at the file's alignment); the weights come from a seeded PRNG, so the
// same options give the same bytes. The output proves decryption, hashing, loading and
// generation, never quality.

const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
const GGUF_VERSION = 3;
const ALIGNMENT = 32;

/** GGUF metadata value types. */
const T = { UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9 } as const;

/** ggml tensor types this writer emits. */
export const GGML_TYPE = { F32: 0, Q4_0: 2, Q8_0: 8 } as const;
export type WeightType = keyof typeof GGML_TYPE;
/** general.file_type (llama_ftype) for an all-`type` file (norms stay F32). */
const FILE_TYPE: Record<WeightType, number> = { F32: 0, Q4_0: 2, Q8_0: 7 };

/** SentencePiece token types as llama.cpp reads tokenizer.ggml.token_type. */
const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, BYTE: 6 } as const;

export interface TinyLlamaOptions {
  readonly seed?: number;
  readonly embedding?: number; // n_embd
  readonly layers?: number;
  readonly heads?: number;
  readonly kvHeads?: number;
  readonly feedForward?: number;
  readonly contextLength?: number;
  /** Extra normal (word-piece) tokens beyond the specials, the 256 byte tokens and the built-in pieces. */
  readonly extraTokens?: number;
  /** More whole words for the vocabulary (a bench's prompts then cost about a token a word, as with a real tokenizer). */
  readonly words?: readonly string[];
  readonly weights?: WeightType;
  /**
   * 'never': the output rows of the special tokens are zero, so greedy decoding (random
   * logits, almost surely some positive) never picks end-of-sequence and runs to its budget.
   * 'always': the end-of-sequence row dominates, so the first generated token ends it.
   */
  readonly eos?: 'never' | 'always';
  readonly name?: string;
}

/** A seeded PRNG (mulberry32): deterministic, not for secrets. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** IEEE 754 half-precision bits of a normal, finite number (enough for block scales). */
export function toHalf(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = (bits >>> 13) & 0x3ff;
  if (exponent <= 0) return sign; // too small: zero
  if (exponent >= 31) return sign | 0x7bff; // too large: the largest finite half
  return sign | (exponent << 10) | mantissa;
}

const WORDS = [
  'the', 'and', 'to', 'you', 'we', 'it', 'is', 'on', 'at', 'in', 'of', 'for', 'a', 'I', 'will', 'can', 'bring',
  'meet', 'today', 'tomorrow', 'lunch', 'picnic', 'lake', 'yes', 'no', 'thanks', 'please', 'summary', 'message',
  'chat', 'reply', 'draft', 'time', 'plan', 'decided', 'agreed', 'question', 'friendly', 'formal', 'concise',
];

/** The vocabulary: <unk>, <s>, </s>, the 256 byte tokens, letters, and words with their prefixes. */
export function tinyVocabulary(extra = 0, words: readonly string[] = []): { tokens: string[]; scores: number[]; types: number[] } {
  const tokens: string[] = ['<unk>', '<s>', '</s>'];
  const types: number[] = [TOKEN_TYPE.UNKNOWN, TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL];
  const scores: number[] = [0, 0, 0];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TOKEN_TYPE.BYTE);
    scores.push(0);
  }
  const pieces = ['\u2581'];
  for (let c = 97; c <= 122; c++) pieces.push(String.fromCharCode(c), `\u2581${String.fromCharCode(c)}`);
  // SentencePiece merges adjacent pieces only into pieces of the vocabulary: every prefix
  // of a word is one, so a word merges up to a single token.
  for (const w of [...WORDS, ...words]) for (let k = 1; k <= w.length; k++) pieces.push(`\u2581${w.slice(0, k)}`);
  for (let i = 0; i < extra; i++) pieces.push(`\u2581w${i}`);
  const seen = new Set<string>();
  for (const piece of pieces) {
    if (seen.has(piece)) continue;
    seen.add(piece);
    tokens.push(piece);
    types.push(TOKEN_TYPE.NORMAL);
    // Longer pieces score higher, so the SentencePiece merge prefers whole words.
    scores.push(-100 + [...piece].length);
  }
  return { tokens, scores, types };
}

class Writer {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  pad(): void {
    const rem = this.length % ALIGNMENT;
    if (rem) this.push(Buffer.alloc(ALIGNMENT - rem));
  }
  result(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

type Kv =
  | { type: 'u32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'str'; value: string }
  | { type: 'strs'; value: readonly string[] }
  | { type: 'f32s'; value: readonly number[] }
  | { type: 'i32s'; value: readonly number[] };

function writeKv(w: Writer, key: string, kv: Kv): void {
  w.str(key);
  switch (kv.type) {
    case 'u32':
      w.u32(T.UINT32);
      w.u32(kv.value);
      break;
    case 'f32':
      w.u32(T.FLOAT32);
      w.f32(kv.value);
      break;
    case 'bool':
      w.u32(T.BOOL);
      w.push(Buffer.of(kv.value ? 1 : 0));
      break;
    case 'str':
      w.u32(T.STRING);
      w.str(kv.value);
      break;
    case 'strs':
      w.u32(T.ARRAY);
      w.u32(T.STRING);
      w.u64(kv.value.length);
      for (const s of kv.value) w.str(s);
      break;
    case 'f32s':
      w.u32(T.ARRAY);
      w.u32(T.FLOAT32);
      w.u64(kv.value.length);
      for (const v of kv.value) w.f32(v);
      break;
    case 'i32s':
      w.u32(T.ARRAY);
      w.u32(T.INT32);
      w.u64(kv.value.length);
      for (const v of kv.value) w.i32(v);
      break;
  }
}

interface Tensor {
  readonly name: string;
  /** ggml order: dims[0] is the contiguous (row) dimension. */
  readonly dims: readonly number[];
  readonly type: WeightType;
  readonly data: Buffer;
}

/** Random tensor data: normal(0, std) for F32, random quants with a fixed scale for Q4_0/Q8_0. */
function randomData(count: number, type: WeightType, rand: () => number, std: number): Buffer {
  if (type === 'F32') {
    const out = Buffer.alloc(count * 4);
    for (let i = 0; i < count; i += 2) {
      // Box-Muller: two normal values per pair of uniforms.
      const r = Math.sqrt(-2 * Math.log(rand() || 1e-12)) * std;
      const t = 2 * Math.PI * rand();
      out.writeFloatLE(r * Math.cos(t), i * 4);
      if (i + 1 < count) out.writeFloatLE(r * Math.sin(t), (i + 1) * 4);
    }
    return out;
  }
  if (count % 32 !== 0) throw new Error('quantised rows are multiples of 32');
  const blocks = count / 32;
  const blockBytes = type === 'Q4_0' ? 18 : 34;
  const out = Buffer.alloc(blocks * blockBytes);
  // Uniform quants in [-8, 7] (Q4_0) or [-127, 127] (Q8_0) times d have this std.
  const d = type === 'Q4_0' ? std / 4.6 : std / 73;
  const half = toHalf(d);
  // Quants from a pool of at most 64k blocks, picked in a scattered order: large (bench)
  // models are made in seconds, and their speed does not depend on the values.
  const poolBlocks = Math.min(blocks, 65536);
  const pool = Buffer.alloc(poolBlocks * (blockBytes - 2));
  for (let j = 0; j < pool.length; j += 4) {
    const v = Math.floor(rand() * 4294967296) >>> 0;
    for (let k = 0; k < 4 && j + k < pool.length; k++) pool[j + k] = (v >>> (8 * k)) & 0xff;
  }
  const start = Math.floor(rand() * poolBlocks);
  for (let b = 0; b < blocks; b++) {
    const o = b * blockBytes;
    out.writeUInt16LE(half, o);
    const p = ((start + b * 7919) % poolBlocks) * (blockBytes - 2);
    pool.copy(out, o + 2, p, p + blockBytes - 2);
  }
  return out;
}

function fill(count: number, value: number): Buffer {
  const out = Buffer.alloc(count * 4);
  for (let i = 0; i < count; i++) out.writeFloatLE(value, i * 4);
  return out;
}

/** A complete GGUF file of a llama-architecture model with random weights. */
export function tinyLlamaGguf(options: TinyLlamaOptions = {}): Uint8Array {
  const rand = prng(options.seed ?? 1);
  const nEmbd = options.embedding ?? 64;
  const nLayer = options.layers ?? 2;
  const nHead = options.heads ?? 4;
  const nHeadKv = options.kvHeads ?? 2;
  const nFf = options.feedForward ?? 128;
  const ctx = options.contextLength ?? 2048;
  const weights = options.weights ?? 'F32';
  const headDim = nEmbd / nHead;
  if (!Number.isInteger(headDim) || nHead % nHeadKv !== 0) throw new Error('heads must divide the embedding and kv heads the heads');
  const vocab = tinyVocabulary(options.extraTokens ?? 0, options.words);
  const nVocab = vocab.tokens.length;

  const matrix = (name: string, cols: number, rows: number, type: WeightType = weights): Tensor => ({
    name,
    dims: [cols, rows],
    type,
    data: randomData(cols * rows, type, rand, 0.5 / Math.sqrt(cols)),
  });
  const norm = (name: string): Tensor => ({ name, dims: [nEmbd], type: 'F32', data: fill(nEmbd, 1) });

  const tensors: Tensor[] = [matrix('token_embd.weight', nEmbd, nVocab, weights === 'F32' ? 'F32' : 'Q8_0')];
  for (let l = 0; l < nLayer; l++) {
    tensors.push(
      norm(`blk.${l}.attn_norm.weight`),
      matrix(`blk.${l}.attn_q.weight`, nEmbd, nEmbd),
      matrix(`blk.${l}.attn_k.weight`, nEmbd, headDim * nHeadKv),
      matrix(`blk.${l}.attn_v.weight`, nEmbd, headDim * nHeadKv),
      matrix(`blk.${l}.attn_output.weight`, nEmbd, nEmbd),
      norm(`blk.${l}.ffn_norm.weight`),
      matrix(`blk.${l}.ffn_gate.weight`, nEmbd, nFf),
      matrix(`blk.${l}.ffn_down.weight`, nFf, nEmbd),
      matrix(`blk.${l}.ffn_up.weight`, nEmbd, nFf),
    );
  }
  tensors.push(norm('output_norm.weight'));
  // The output layer stays F32 so the special tokens' rows can be set exactly.
  const output = matrix('output.weight', nEmbd, nVocab, 'F32');
  const setRow = (t: Tensor, row: number, values: (c: number) => number) => {
    for (let c = 0; c < nEmbd; c++) t.data.writeFloatLE(values(c), (row * nEmbd + c) * 4);
  };
  if (options.eos === 'never') {
    // Zero logits for <unk>, <s>, </s>: greedy decoding picks the largest of the random ones.
    for (const id of [0, 1, 2]) setRow(output, id, () => 0);
  } else if (options.eos === 'always') {
    // Every embedding carries a large constant in dimension 0, which dominates the
    // residual stream, so after the final norm that dimension is positive; only </s>
    // reads it. Every other logit is zero: </s> wins at every step.
    if (weights !== 'F32') throw new Error("eos: 'always' needs F32 weights");
    const embd = tensors[0]!;
    for (let id = 0; id < nVocab; id++) {
      embd.data.writeFloatLE(10, id * nEmbd * 4);
      setRow(output, id, (c) => (id === 2 && c === 0 ? 1 : 0));
    }
  }
  tensors.push(output);

  const metadata: [string, Kv][] = [
    ['general.architecture', { type: 'str', value: 'llama' }],
    ['general.name', { type: 'str', value: options.name ?? 'pp-tiny-random-llama' }],
    ['general.alignment', { type: 'u32', value: ALIGNMENT }],
    ['general.file_type', { type: 'u32', value: FILE_TYPE[weights] }],
    ['llama.context_length', { type: 'u32', value: ctx }],
    ['llama.embedding_length', { type: 'u32', value: nEmbd }],
    ['llama.block_count', { type: 'u32', value: nLayer }],
    ['llama.feed_forward_length', { type: 'u32', value: nFf }],
    ['llama.attention.head_count', { type: 'u32', value: nHead }],
    ['llama.attention.head_count_kv', { type: 'u32', value: nHeadKv }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: 1e-5 }],
    ['llama.rope.dimension_count', { type: 'u32', value: headDim }],
    ['llama.rope.freq_base', { type: 'f32', value: 10000 }],
    ['llama.vocab_size', { type: 'u32', value: nVocab }],
    ['tokenizer.ggml.model', { type: 'str', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'strs', value: vocab.tokens }],
    ['tokenizer.ggml.scores', { type: 'f32s', value: vocab.scores }],
    ['tokenizer.ggml.token_type', { type: 'i32s', value: vocab.types }],
    ['tokenizer.ggml.unknown_token_id', { type: 'u32', value: 0 }],
    ['tokenizer.ggml.bos_token_id', { type: 'u32', value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: 2 }],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: true }],
    ['tokenizer.ggml.add_eos_token', { type: 'bool', value: false }],
  ];

  const w = new Writer();
  w.u32(GGUF_MAGIC);
  w.u32(GGUF_VERSION);
  w.u64(tensors.length);
  w.u64(metadata.length);
  for (const [key, kv] of metadata) writeKv(w, key, kv);
  let offset = 0;
  for (const t of tensors) {
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(GGML_TYPE[t.type]);
    w.u64(offset);
    offset += Math.ceil(t.data.length / ALIGNMENT) * ALIGNMENT;
  }
  w.pad();
  for (const t of tensors) {
    w.push(t.data);
    w.pad();
  }
  return new Uint8Array(w.result());
}
