// Nothing of a chat outlives its request in the built-in engine. wink-nlp caches every
// new word in its model instance; the engine gives each request an instance of its own
// over a frozen, shared English model (enclave-app/features/builtin/wink.ts). Here: the
// shared model's lexeme count and contents are unchanged after many requests full of
// new words, a new instance does not know a word an earlier request taught its own, and
// the engine keeps working past the point where the model package's own loader breaks.
import { createHash } from 'node:crypto';
import englishModel from 'wink-eng-lite-web-model';
import { BuiltinEngine } from '../../enclave-app/features/builtin/engine';
import { builtinModelBytes } from '../../enclave-app/features/builtin/model-file';
import { WinkFactory } from '../../enclave-app/features/builtin/wink';
import { SAMPLE_CHAT } from '../helpers/enclave';

/** A digest of everything reachable from `value` (typed arrays by their bytes, sets by their members). */
function fingerprint(value: unknown): string {
  const hash = createHash('sha256');
  const seen = new Set<unknown>();
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object') {
      hash.update(`${typeof v}:${String(v)};`);
      return;
    }
    if (seen.has(v)) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      hash.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      return;
    }
    if (v instanceof Set) {
      for (const x of v) walk(x);
      return;
    }
    const keys = Object.keys(v);
    hash.update(`{${keys.length}`);
    for (const k of keys) {
      hash.update(k);
      walk((v as Record<string, unknown>)[k]);
    }
  };
  walk(value);
  return hash.digest('hex');
}

const shared = englishModel as unknown as Record<string, () => { machines?: unknown }>;
const sharedMachines = () => ['sbd', 'ner', 'pos', 'negation', 'sa'].map((part) => fingerprint(shared[part]!().machines));

const word = (i: number) => `zqx${i.toString(36)}vorp`;
const chatWithNewWords = (n: number) => ({
  requester: 'Ana',
  messages: [
    ...SAMPLE_CHAT.messages,
    { sender: 'Ben', time: '2026-11-27T09:04:00Z', text: `I will bring the ${word(n)} and the ${word(n + 1)}Canary to the Lake${word(n + 2)}.` },
  ],
});

test('the shared English model is unchanged by 40 requests full of new words; each request starts from it', () => {
  const wink = new WinkFactory();
  const engine = new BuiltinEngine(BuiltinEngine.fromModel(builtinModelBytes()).model, wink);
  const lexemes = wink.pristineLexemeCount;
  const core = fingerprint(wink.pristineCore);
  const machines = sharedMachines();
  for (let i = 0; i < 20; i++) {
    const out = engine.summarize(chatWithNewWords(i * 3));
    expect(out.actionItems.some((item) => item.text.includes(word(i * 3)))).toBe(true);
    engine.compose({ draft: `i'll bring the ${word(i * 3 + 1)} tommorow`, tone: 'formal', lastMessage: `${word(i)}?` });
  }
  expect(wink.pristineLexemeCount).toBe(lexemes);
  expect(fingerprint(wink.pristineCore)).toBe(core);
  expect(sharedMachines()).toEqual(machines);
  for (let i = 0; i < 60; i++) expect(wink.knows(word(i))).toBe(false);
});

test('a request’s new words live in its own instance only', () => {
  const wink = new WinkFactory();
  const first = wink.fresh();
  const its = first.its;
  // In the first instance the new word gets a lexeme id past the shared model's.
  const id = first.readDoc(`the ${word(999)} is here`).tokens().out(its.uniqueId as never) as unknown as number[];
  expect(id[1]).toBeGreaterThanOrEqual(wink.pristineLexemeCount);
  // A second instance has never seen it: reading an unrelated text adds its own words from the same start.
  const second = wink.fresh();
  const other = second.readDoc(`the ${word(1000)} is here`).tokens().out(its.uniqueId as never) as unknown as number[];
  expect(other[1]).toBe(id[1]);
  expect(wink.knows(word(999))).toBe(false);
});

test('the model package’s own loader cannot be used per request (it breaks after a few dozen instances); the factory can', () => {
  // The package's custom-entity loader re-serialises its own state on each call: the
  // string it returns grows with every instance.
  const lengths = [0, 1, 2].map(() => String(shared.metaCER!().machines).length);
  expect(lengths[1]!).toBeGreaterThan(lengths[0]!);
  expect(lengths[2]!).toBeGreaterThan(lengths[1]!);
  const wink = new WinkFactory();
  for (let i = 0; i < 40; i++) wink.fresh();
  expect(wink.fresh().readDoc('Still fine.').sentences().length()).toBe(1);
});
