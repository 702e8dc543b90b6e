// The built-in engine's summary never contains a sentence or a name that is not in the
// chat: every quote is chat text, every other word a template word or a word of the
// chat. Checked on the evaluation set and on random chats (fast-check), which also
// check the answer's shape and the compose rewrite's numbers.
import fc from 'fast-check';
import { FeatureError } from '../../enclave-app/features/api';
import { BuiltinEngine } from '../../enclave-app/features/builtin/engine';
import { builtinModelBytes } from '../../enclave-app/features/builtin/model-file';
import { EVAL_DIR, HELD_OUT_DIR, loadChats } from '../eval/fixtures';
import { summaryIsFaithful } from '../eval/metrics';

const engine = BuiltinEngine.fromModel(builtinModelBytes());

test('on every evaluation and held-out chat', () => {
  let checked = 0;
  for (const c of [...loadChats(EVAL_DIR), ...loadChats(HELD_OUT_DIR)]) {
    if (c.unsupported) continue;
    const out = engine.summarize(c.chat);
    expect([c.id, summaryIsFaithful(out.summary, c.chat)]).toEqual([c.id, true]);
    checked++;
  }
  expect(checked).toBeGreaterThan(40);
});

const WORDS = ['I', "I'll", 'will', 'can', 'bring', 'book', 'the', 'a', 'table', 'cake', 'on', 'Friday', 'at', '7pm', 'we', 'decided', 'agreed', 'let’s', "let's", 'go', 'with', 'Sakura', 'instead', 'actually', 'someone', 'anyone', 'you', 'can', 'send', 'notes', 'sure', 'ok', 'no', 'not', 'lol', '🙄', '🎉', 'https://x.example/a?b=1', '@Ben', 'Ana,', 'it', 'is', 'then', 'so', 'tomorrow', '12', '£20', 'party', 'van', 'rent', 'sorry', "can't", 'anymore', 'take', 'over', 'got', 'it!', 'meeting', 'moved', 'to', '“quoted”', 'Mr.', 'Dr', 'e.g.', '...', '?', '!', '.', ','];
const sentence = fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 14 }).map((w) => w.join(' '));
const text = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.tuple(sentence, fc.constantFrom('. ', '? ', '! ', ' ', '\n')), { minLength: 1, maxLength: 3 }).map((s) => s.map(([t, end]) => t + end).join('').trim()) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }) },
);
const sender: fc.Arbitrary<string> = fc.constantFrom('Ana', 'Ben', 'Cai', 'Dee Ng', 'Élodie', 'O’Neil', 'x');
const chat = fc.record({
  requester: sender,
  messages: fc.array(fc.record({ sender, time: fc.constant('2026-11-27T09:00:00Z'), text }), { minLength: 1, maxLength: 15 }),
});

test('on random chats: faithful summaries, bounded lists, or a typed language refusal', () => {
  fc.assert(
    fc.property(chat, (c) => {
      let out;
      try {
        out = engine.summarize(c);
      } catch (err) {
        return err instanceof FeatureError && err.code === 'UNSUPPORTED_LANGUAGE';
      }
      const senders = new Set<string>(c.messages.map((m) => m.sender));
      return (
        summaryIsFaithful(out.summary, c) &&
        out.topics.length <= 5 &&
        out.actionItems.every((i) => senders.has(i.owner) && c.messages.some((m) => m.text.includes(i.text))) &&
        out.questions.every((q) => senders.has(q.asker) && q.asker !== c.requester) &&
        out.decisions.every((d) => c.messages.some((m) => m.text.includes(d)))
      );
    }),
    { numRuns: 40, seed: 17 },
  );
});

test('on random drafts: the rewrite has no number the draft lacks, and at most three suggestions', () => {
  fc.assert(
    fc.property(text, fc.constantFrom('friendly', 'formal', 'concise') as fc.Arbitrary<'friendly' | 'formal' | 'concise'>, fc.option(text, { nil: undefined }), (draft, tone, last) => {
      if (draft.trim() === '') return true;
      const out = engine.compose({ draft, tone, ...(last !== undefined ? { lastMessage: last } : {}) });
      const numbers = out.text.match(/\d+/g) ?? [];
      return numbers.every((n) => draft.includes(n)) && out.suggestions.length <= 3 && out.text.length > 0;
    }),
    { numRuns: 40, seed: 17 },
  );
});
