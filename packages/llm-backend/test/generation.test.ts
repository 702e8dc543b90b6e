// The real thing: a tiny random-weight llama GGUF made here, sealed, decrypted, hashed,
// loaded by node-llama-cpp (llama.cpp, CPU) and generating greedily within the bucket's
// budget. Proves the path, not quality.
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { LlmBackend, type GenerationStats, type TokenBudget } from '../src';
import { CHAT, tinyModel } from './helpers';

const BUDGETS: Readonly<Record<number, TokenBudget>> = {
  1024: { promptTokens: 128, outputTokens: 6, timeLimitMs: 60_000 },
  4096: { promptTokens: 192, outputTokens: 12, timeLimitMs: 60_000 },
};

describe('a model that never ends by itself (greedy, random weights): generation runs to the bucket budget', () => {
  const model = tinyModel({ eos: 'never' });
  const stats: GenerationStats[] = [];
  let backend: LlmBackend;
  before(async () => {
    backend = await LlmBackend.fromSealedModel(model.dataKey, model.sealed, { modelSha256: model.sha256, budgets: BUDGETS, onGeneration: (s) => stats.push(s) });
  });
  after(() => backend.close());

  test('summarise: a summary generated up to the 1 KiB budget, the same for the same chat', async () => {
    stats.length = 0;
    const a = await backend.summarize(CHAT, { bucket: 1024 });
    const b = await backend.summarize(CHAT, { bucket: 1024 });
    assert.equal(typeof a.summary, 'string');
    assert.ok(a.summary.length > 0);
    assert.deepEqual(a, b);
    assert.deepEqual({ ...a, summary: '' }, { summary: '', topics: [], actionItems: [], decisions: [], questions: [] });
    for (const s of stats) {
      assert.equal(s.stop, 'budget');
      assert.ok(s.tokens > 0 && s.tokens <= 6);
      assert.ok(s.promptTokens > 0);
    }
  });

  test('a larger bucket has a larger budget: more tokens', async () => {
    stats.length = 0;
    const small = await backend.compose({ draft: 'cant make it today', tone: 'formal' }, { bucket: 1024 });
    const large = await backend.compose({ draft: 'cant make it today', tone: 'formal' }, { bucket: 4096 });
    assert.deepEqual(stats.map((s) => [s.feature, s.bucket, s.stop]), [['compose', 1024, 'budget'], ['compose', 4096, 'budget']]);
    assert.ok(stats[1]!.tokens > 6 && stats[1]!.tokens <= 12);
    assert.ok(large.text.length > small.text.length);
    assert.deepEqual(small.suggestions, []);
  });

  test('another chat, another prompt: another output', async () => {
    const a = await backend.summarize(CHAT, { bucket: 4096 });
    const b = await backend.summarize({ requester: 'Ben', messages: [{ sender: 'Dee', time: 't', text: 'The train is late, start without me.' }] }, { bucket: 4096 });
    assert.notEqual(a.summary, b.summary);
  });

  test('each request has a context of its own, disposed when it ends; concurrent requests run one at a time with the same results', async () => {
    assert.equal(backend.liveContexts, 0);
    const one = await backend.summarize(CHAT, { bucket: 1024 });
    const two = await backend.compose({ draft: 'see you there', tone: 'friendly' }, { bucket: 1024 });
    assert.equal(backend.liveContexts, 0);
    const running = Promise.all([backend.summarize(CHAT, { bucket: 1024 }), backend.compose({ draft: 'see you there', tone: 'friendly' }, { bucket: 1024 })]);
    const seen = new Set<number>();
    let done = false;
    void running.finally(() => (done = true));
    while (!done) {
      seen.add(backend.liveContexts);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assert.deepEqual(await running, [one, two]);
    // Contexts existed while generating, never two at once.
    assert.ok(seen.has(1));
    assert.equal(Math.max(...seen), 1);
    assert.equal(backend.liveContexts, 0);
  });

  test('with a base engine, the lists come from it and the summary from the model', async () => {
    const withBase = await LlmBackend.fromVerifiedModel(model.gguf, {
      modelSha256: model.sha256,
      budgets: BUDGETS,
      base: {
        summarize: () => ({ summary: 'base', topics: ['picnic'], actionItems: [{ owner: 'Ben', text: 'sandwiches' }], decisions: [], questions: [] }),
        compose: () => ({ text: 'base', suggestions: ['Sure!'] }),
      },
    });
    try {
      const s = await withBase.summarize(CHAT, { bucket: 1024 });
      assert.deepEqual(s.topics, ['picnic']);
      assert.deepEqual(s.actionItems, [{ owner: 'Ben', text: 'sandwiches' }]);
      assert.equal(s.summary, (await backend.summarize(CHAT, { bucket: 1024 })).summary);
      assert.deepEqual((await withBase.compose({ draft: 'ok', tone: 'concise' }, { bucket: 1024 })).suggestions, ['Sure!']);
    } finally {
      await withBase.close();
    }
  });
});

describe('a model that ends at once', () => {
  test('end-of-sequence stops generation: an empty summary, and compose keeps the draft', async () => {
    const model = tinyModel({ eos: 'always' });
    const stats: GenerationStats[] = [];
    const backend = await LlmBackend.fromSealedModel(model.dataKey, model.sealed, { modelSha256: model.sha256, budgets: BUDGETS, onGeneration: (s) => stats.push(s) });
    try {
      assert.equal((await backend.summarize(CHAT, { bucket: 4096 })).summary, '');
      assert.deepEqual(await backend.compose({ draft: '  see   you ', tone: 'formal' }, { bucket: 4096 }), { text: 'see you', suggestions: [] });
      assert.deepEqual(stats.map((s) => [s.stop, s.tokens]), [['eos', 0], ['eos', 0]]);
    } finally {
      await backend.close();
    }
  });
});

describe('closing', () => {
  test('a closed backend refuses requests with CLOSED', async () => {
    const model = tinyModel({ eos: 'never' });
    const backend = await LlmBackend.fromVerifiedModel(model.gguf, { modelSha256: model.sha256, budgets: BUDGETS });
    await backend.close();
    await assert.rejects(backend.summarize(CHAT, { bucket: 1024 }), { code: 'CLOSED' });
  });
});
