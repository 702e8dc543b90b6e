// Prompts within the bucket's prompt budget, the budget table, and the time limit.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BUCKET_DEADLINES_MS, DEFAULT_BUDGETS, LlmBackend, budgetFor, composePrompt, summarizePrompt } from '../src';
import { PADDING_BUCKETS } from '../../../protocol/padding';
import { CHAT, fakeModel, sha256 } from './helpers';
import { tinyLlamaGguf } from '../tools/gguf';

const count = (t: string) => Math.ceil(t.length / 4);

test('a long chat keeps its newest messages that fit the prompt budget, in order', () => {
  const messages = Array.from({ length: 200 }, (_, i) => ({ sender: `S${i % 3}`, time: 't', text: `message number ${i} about the plan` }));
  const p = summarizePrompt({ requester: 'Ana', messages }, 200, count);
  assert.ok(count(p.system) + count(p.user) <= 200 + 4);
  const lines = p.user.split('\n').filter((l) => /^S\d: /.test(l));
  assert.ok(lines.length > 3 && lines.length < 200);
  assert.equal(lines[lines.length - 1], 'S1: message number 199 about the plan');
  const numbers = lines.map((l) => Number(/number (\d+)/.exec(l)![1]));
  assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b));
  assert.equal(numbers[0], 200 - lines.length);
});

test('a single message longer than the budget is cut to its start', () => {
  const p = summarizePrompt({ requester: 'Ana', messages: [{ sender: 'Ben', time: 't', text: 'x'.repeat(4000) }] }, 120, count);
  assert.ok(count(p.system) + count(p.user) <= 124);
  assert.match(p.user, /^Ben: x+\n\nSummarise this chat\.$/);
});

test('compose: the tone is in the instructions; draft and last message are cut to the budget', () => {
  const p = composePrompt({ draft: 'y'.repeat(4000), tone: 'formal', lastMessage: 'z'.repeat(4000) }, 150, count);
  assert.match(p.system, /formal and polite/);
  assert.ok(count(p.system) + count(p.user) <= 150 + 4);
  assert.match(p.user, /^They wrote: z+\nMy draft: y+$/);
  const short = composePrompt({ draft: 'see you', tone: 'concise' }, 150, count);
  assert.equal(short.user, 'My draft: see you');
  assert.match(short.system, /short and direct/);
});

test('budgets: one per padding bucket, growing with it, each time limit inside its published deadline', () => {
  assert.deepEqual(Object.keys(DEFAULT_BUDGETS).map(Number), [...PADDING_BUCKETS]);
  let previous = { promptTokens: 0, outputTokens: 0 };
  for (const bucket of PADDING_BUCKETS) {
    const b = DEFAULT_BUDGETS[bucket]!;
    assert.ok(b.promptTokens >= previous.promptTokens && b.outputTokens > previous.outputTokens);
    assert.ok(b.timeLimitMs < BUCKET_DEADLINES_MS[bucket]!);
    previous = b;
  }
  assert.equal(budgetFor(undefined), DEFAULT_BUDGETS[1024]);
  assert.equal(budgetFor(5000), DEFAULT_BUDGETS[4096]);
  assert.equal(budgetFor(10), DEFAULT_BUDGETS[1024]);
});

test("the deadlines here are the enclave's published ones (enclave-app/server/deadlines.ts)", () => {
  const source = readFileSync(join(__dirname, '../../../enclave-app/server/deadlines.ts'), 'utf8');
  const published = [...source.matchAll(/\[PADDING_BUCKETS\[(\d)\]!\]: ([\d_]+)/g)].map((m) => [PADDING_BUCKETS[Number(m[1])], Number(m[2]!.replace(/_/g, ''))]);
  assert.equal(published.length, PADDING_BUCKETS.length);
  assert.deepEqual(Object.fromEntries(published), BUCKET_DEADLINES_MS);
});

test('the bucket picks the budget given to the model, and its time limit aborts a generation that runs long', async () => {
  const gguf = tinyLlamaGguf({ seed: 3 });
  const model = fakeModel(async (r) => {
    if (r.maxTokens === 99) {
      await new Promise<void>((resolve) => r.signal!.addEventListener('abort', () => resolve()));
      return { text: 'partial', promptTokens: 1, tokens: 1, stop: 'deadline' };
    }
    return { text: ` rewritten ${r.maxTokens} `, promptTokens: 1, tokens: r.maxTokens, stop: 'budget' };
  });
  const backend = await LlmBackend.fromVerifiedModel(gguf, {
    modelSha256: sha256(gguf),
    loader: async () => model,
    budgets: { 1024: { promptTokens: 100, outputTokens: 5, timeLimitMs: 60_000 }, 4096: { promptTokens: 300, outputTokens: 99, timeLimitMs: 5 } },
  });
  assert.deepEqual(await backend.compose({ draft: 'hello', tone: 'friendly' }, { bucket: 1024 }), { text: 'rewritten 5', suggestions: [] });
  assert.deepEqual(await backend.summarize(CHAT, { bucket: 4096 }), { summary: 'partial', topics: [], actionItems: [], decisions: [], questions: [] });
  assert.equal(model.requests[0]!.signal!.aborted, false);
  assert.equal(model.requests[1]!.signal!.aborted, true);
  assert.ok(count(model.requests[1]!.system) + count(model.requests[1]!.user) <= 300);
  await backend.close();
});
