// The built-in engine (summarise and compose) on chats of 10, 100 and 1 000 messages
// made of the evaluation set's English messages: latency in the engine, and through the
// enclave (client encrypt → parent → enclave with the KMS emulator → back, deadlines
// off) with the request's padding bucket and that bucket's published deadline. Also
// what a fresh wink-nlp instance per request costs, against building one the
// package's own way.
import winkNLP from 'wink-nlp';
import englishModel from 'wink-eng-lite-web-model';
import { bucketFor, encodeBhttpRequest, type Chat } from '../protocol';
import { BuiltinEngine } from '../enclave-app/features/builtin/engine';
import { WinkFactory } from '../enclave-app/features/builtin/wink';
import { DEFAULT_DEADLINES_MS } from '../enclave-app/server/deadlines';
import { MODEL, enclaveWorld, exchange, runInProcess } from '../test/helpers/enclave';
import { EVAL_DIR, loadChats } from '../test/eval/fixtures';
import { percentile } from './harness';

function chatOf(size: number): Chat {
  const source = loadChats(EVAL_DIR).filter((c) => !c.unsupported).flatMap((c) => c.chat.messages);
  const messages = Array.from({ length: size }, (_, i) => ({ ...source[i % source.length]!, time: new Date(Date.UTC(2026, 10, 27, 9, 0, i)).toISOString() }));
  return { requester: messages[0]!.sender, messages };
}

function timed(runs: number, op: () => unknown): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    op();
    out.push(performance.now() - t);
  }
  return out.sort((a, b) => a - b);
}

const fmt = (ms: number[]) => `p50 ${percentile(ms, 50).toFixed(1).padStart(7)} ms, p99 ${percentile(ms, 99).toFixed(1).padStart(7)} ms`;

export async function featureBenchmarks(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const lines: string[] = [];
  let t = performance.now();
  const engine = BuiltinEngine.fromModel(MODEL);
  lines.push(`engine start (English model decoded and frozen once): ${(performance.now() - t).toFixed(0)} ms`);

  const factory = new WinkFactory();
  lines.push(`fresh wink-nlp instance per request (copy-on-write view): ${fmt(timed(50, () => factory.fresh()))}`);
  // The package's own way decodes the whole model again; past ~25 instances its loader breaks (see wink.ts), so only 10.
  lines.push(`wink-nlp instance the package's own way (for comparison): ${fmt(timed(10, () => winkNLP(englishModel)))}`);

  for (const [size, runs] of [[10, 60], [100, 20], [1000, 5]] as const) {
    const chat = chatOf(size);
    engine.summarize(chat);
    const bytes = encodeBhttpRequest({ method: 'POST', scheme: 'https', authority: 'enclave', path: '/v1/summarize', headers: [], content: new TextEncoder().encode(JSON.stringify({ v: 1, chat })), trailers: [] }).length;
    const bucket = bucketFor(bytes);
    lines.push(`summarise ${String(size).padStart(4)} messages in the engine: ${fmt(timed(runs, () => engine.summarize(chat)))}   (request ${(bytes / 1024).toFixed(1)} KiB → bucket ${bucket / 1024} KiB, deadline ${DEFAULT_DEADLINES_MS[bucket]! / 1000} s)`);
  }
  const last = 'Can you send me the notes from Monday and book the room for Thursday at 3pm?';
  for (const [label, draft] of [
    ['short draft', "sure, i'll send them tonight"],
    ['long draft', "hey, i just wanted to say that i cant make it tommorow, teh car broke down. i'll call u at 5pm about the Lisbon trip and we can book the flights then, they're 142 euros. ".repeat(8)],
  ] as const) {
    for (const tone of ['friendly', 'formal', 'concise'] as const) {
      lines.push(`compose ${label} (${draft.length} chars), ${tone.padEnd(8)}: ${fmt(timed(30, () => engine.compose({ draft, tone, lastMessage: last })))}`);
    }
  }

  const world = await enclaveWorld();
  const stack = await runInProcess(world, { kmsRatePerSecond: 100_000 });
  await stack.enclave.booted;
  try {
    for (const [size, runs] of [[10, 30], [100, 10], [1000, 4]] as const) {
      const body = { v: 1, chat: chatOf(size) };
      await exchange(stack, world.keyConfig, { path: '/v1/summarize', body });
      const ms: number[] = [];
      for (let i = 0; i < runs; i++) {
        t = performance.now();
        const r = await exchange(stack, world.keyConfig, { path: '/v1/summarize', body });
        if (r.status !== 200) throw new Error(`status ${r.status}`);
        ms.push(performance.now() - t);
      }
      lines.push(`summarise ${String(size).padStart(4)} messages through the enclave: ${fmt(ms.sort((a, b) => a - b))}`);
    }
    const ms: number[] = [];
    for (let i = 0; i < 30; i++) {
      t = performance.now();
      await exchange(stack, world.keyConfig, { path: '/v1/compose', body: { v: 1, draft: "sure, i'll send them tonight", tone: 'formal', lastMessage: last } });
      ms.push(performance.now() - t);
    }
    lines.push(`compose through the enclave: ${fmt(ms.sort((a, b) => a - b))}`);
  } finally {
    await stack.stop();
    await world.stop();
  }
  process.stdout.write(`\nFeatures: the built-in engine (wink-nlp, English), one request at a time\n${lines.join('\n')}\n`);
}
