// npm run bench [-- --shape 360m|1b|tiny] [--model <file.gguf>] [--threads N]
//
// Model decrypt and load time and tokens per second on this machine, then the token
// budget per padding bucket that those speeds allow, next to the package's table and a
// run of each bucket at that table's budget. Speed depends on the model's shape and
// quantisation, not on its weights: by default a random-weight model of the reference
// shape (SmolLM2-360M's: 32 layers, 960 wide, 49k vocabulary, Q4_0; `1b`: TinyLlama
// 1.1B's, 22 layers, 2048 wide, 32k vocabulary) is made
// here; --model measures a real GGUF instead. Not run by `npm test`.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { sealModel } from '../../../protocol/formats/model';
import { BUCKET_DEADLINES_MS, DEFAULT_BUDGETS, LlmBackend, llamaLoader, loadLlamaRuntime, openSealedModel, verifyModel, assertGguf, withModelFile, type Generation, type GenerationStats, type LoadedModel } from '../src';
import { tinyLlamaGguf, type TinyLlamaOptions } from '../tools/gguf';
import { composePrompt, summarizePrompt } from '../src/prompts';

const CHAT_FOR_WORDS = { requester: 'P0', messages: [] };
import { createHash } from 'node:crypto';

const SHAPES: Record<string, TinyLlamaOptions> = {
  tiny: { eos: 'never' },
  // SmolLM2-360M's shape (960 wide, 32 layers, 15 heads, 5 kv heads, 49k vocabulary), Q4_0: the reference.
  '360m': { embedding: 960, layers: 32, heads: 15, kvHeads: 5, feedForward: 2560, extraTokens: 49152 - 395, weights: 'Q4_0', eos: 'never', contextLength: 8192, name: 'random-360m-q4_0' },
  '1b': { embedding: 2048, layers: 22, heads: 32, kvHeads: 4, feedForward: 5632, extraTokens: 32000 - 395, weights: 'Q4_0', eos: 'never', contextLength: 4096, name: 'random-1.1b-q4_0' },
};

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const fmt = (n: number, d = 0) => n.toFixed(d);

async function timeGenerate(model: LoadedModel, user: string, maxTokens: number): Promise<Generation> {
  return model.generate({ system: 'Summarise.', user, maxTokens });
}

function words(tokens: number, count: (t: string) => number): string {
  const vocab = ['we', 'will', 'meet', 'at', 'the', 'lake', 'tomorrow', 'and', 'bring', 'lunch', 'for', 'you'];
  const out: string[] = [];
  let i = 0;
  while (count(out.join(' ')) < tokens) out.push(vocab[i++ % vocab.length]!);
  return out.join(' ');
}

async function main(): Promise<void> {
  const threads = Number(arg('threads') ?? 1);
  const modelPath = arg('model');
  const shape = arg('shape') ?? '360m';
  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}, threads ${threads}`);

  let t = process.hrtime.bigint();
  // The instructions' words are whole tokens, as a real tokenizer would mostly make them.
  const instructionWords = [summarizePrompt(CHAT_FOR_WORDS, 1000, (x) => x.length).system, composePrompt({ draft: 'x', tone: 'formal' }, 1000, (x) => x.length).system, 'Summarise this chat. They wrote: My draft:']
    .join(' ')
    .split(/[^A-Za-z']+/)
    .filter((w) => w.length > 1);
  const gguf = modelPath ? new Uint8Array(readFileSync(modelPath)) : tinyLlamaGguf({ seed: 1, words: [...new Set(instructionWords)], ...SHAPES[shape] });
  console.log(`model: ${modelPath ?? `random weights, shape ${shape}`}, ${fmt(gguf.length / 2 ** 20, 1)} MiB (${modelPath ? 'read' : 'made'} in ${fmt(ms(t))} ms)`);
  const sha = createHash('sha256').update(gguf).digest('hex');
  const dataKey = new Uint8Array(randomBytes(32));
  const sealed = sealModel(dataKey, gguf);

  t = process.hrtime.bigint();
  await loadLlamaRuntime();
  console.log(`llama.cpp runtime (once per process) ${fmt(ms(t))} ms`);

  // Decrypt + hash, then the file and llama.cpp's load: the enclave's boot path.
  t = process.hrtime.bigint();
  const opened = openSealedModel(dataKey, sealed, sha);
  const decryptMs = ms(t);
  t = process.hrtime.bigint();
  verifyModel(opened, sha);
  const rehashMs = ms(t);
  assertGguf(opened);
  t = process.hrtime.bigint();
  const model = await withModelFile(opened, llamaLoader({ threads }));
  const loadMs = ms(t);
  opened.fill(0);
  console.log(`decrypt+hash ${fmt(decryptMs)} ms, re-hash ${fmt(rehashMs)} ms, file+load ${fmt(loadMs)} ms: ${fmt(decryptMs + loadMs)} ms to a loaded model`);

  // Prompt processing (prefill) and generation speed.
  const count = (s: string) => model.countTokens(s);
  await timeGenerate(model, 'warm up', 2);
  const runs = [await timeGenerate(model, words(100, count), 48), await timeGenerate(model, words(400, count), 48), await timeGenerate(model, words(700, count), 48)];
  // The slowest of the runs: the long prompts (the large buckets) read and generate slower.
  const prefill = Math.min(...runs.map((r) => r.promptTokens / (r.promptMs! / 1000)));
  const decode = Math.min(...runs.map((r) => (r.tokens - 1) / (r.generationMs! / 1000)));
  const t0 = process.hrtime.bigint();
  const tiny = await timeGenerate(model, 'hi', 1);
  const overhead = Math.max(0, ms(t0) - tiny.promptMs!);
  console.log(`prefill ${fmt(prefill, 1)} tokens/s, generation ${fmt(decode, 1)} tokens/s, fixed cost per request (context, template) ≈ ${fmt(overhead)} ms`);

  // What fits: the table's prompt at this run's prompt speed, then as many generated tokens
  // as this run's generation speed allows inside the bucket's time limit.
  console.log('\nbucket    deadline  limit    table prompt/output  output that fits  predicted  measured (prompt, tokens, stop)');
  const stats: GenerationStats[] = [];
  const backend = await LlmBackend.fromVerifiedModel(gguf, { modelSha256: sha, loader: async () => model, onGeneration: (s) => stats.push(s) });
  for (const [bucketText, deadline] of Object.entries(BUCKET_DEADLINES_MS)) {
    const bucket = Number(bucketText);
    const table = DEFAULT_BUDGETS[bucket]!;
    const fits = Math.floor(((table.timeLimitMs - overhead) / 1000 - table.promptTokens / prefill) * decode);
    const predicted = overhead + (table.promptTokens / prefill + table.outputTokens / decode) * 1000;
    const messages = Array.from({ length: 400 }, (_, i) => ({ sender: `P${i % 4}`, time: 't', text: words(12, count) }));
    const start = process.hrtime.bigint();
    await backend.summarize({ requester: 'P0', messages }, { bucket });
    const took = ms(start);
    const s = stats.pop()!;
    console.log(
      `${String(bucket / 1024).padStart(5)} KiB ${fmt(deadline).padStart(7)} ms ${fmt(table.timeLimitMs).padStart(6)} ms  ${`${table.promptTokens}/${table.outputTokens}`.padStart(11)}  ${String(fits).padStart(16)}  ${fmt(predicted).padStart(7)} ms  ${fmt(took).padStart(6)} ms (${s.promptTokens}, ${s.tokens}, ${s.stop})`,
    );
  }
  await backend.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
