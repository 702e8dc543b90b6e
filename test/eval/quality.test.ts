// Floors the built-in engine meets on the evaluation set (npm run eval prints the
// measured values; the floors sit a little below them, so a regression fails here).
import { BuiltinEngine } from '../../enclave-app/features/builtin/engine';
import { builtinModelBytes } from '../../enclave-app/features/builtin/model-file';
import { EVAL_DIR, loadChats, loadComposeCases } from './fixtures';
import { ratio, scoreCompose, scoreSummaries } from './metrics';

const engine = BuiltinEngine.fromModel(builtinModelBytes());
const chats = loadChats(EVAL_DIR);

test('the evaluation set is what the issue asks for: ≥ 40 chats, 2–12 senders, up to hundreds of messages, several languages', () => {
  expect(chats.length).toBeGreaterThanOrEqual(40);
  const senders = chats.map((c) => new Set(c.chat.messages.map((m) => m.sender)).size);
  expect([Math.min(...senders), Math.max(...senders)]).toEqual([2, 12]);
  expect(Math.max(...chats.map((c) => c.chat.messages.length))).toBeGreaterThanOrEqual(200);
  expect(chats.filter((c) => c.unsupported).length).toBeGreaterThanOrEqual(4);
  expect(chats.reduce((n, c) => n + c.items.length, 0)).toBeGreaterThanOrEqual(80);
});

test('summaries: action items, owners, topics, decisions, questions and language above their floors', () => {
  const s = scoreSummaries(engine, chats);
  expect(ratio(s.itemPrecision)).toBeGreaterThanOrEqual(0.9);
  expect(ratio(s.itemRecall)).toBeGreaterThanOrEqual(0.9);
  expect(ratio(s.ownerAccuracy)).toBeGreaterThanOrEqual(0.95);
  expect(ratio(s.topicCoverage)).toBeGreaterThanOrEqual(0.55);
  expect(ratio(s.decisionRecall)).toBeGreaterThanOrEqual(0.85);
  expect(ratio(s.decisionPrecision)).toBeGreaterThanOrEqual(0.85);
  expect(ratio(s.questionRecall)).toBeGreaterThanOrEqual(0.9);
  expect(ratio(s.questionPrecision)).toBeGreaterThanOrEqual(0.9);
  // These two are properties, not rates: every refusal right, every summary faithful.
  expect(s.languageCorrect.hit).toBe(s.languageCorrect.of);
  expect(s.faithful.hit).toBe(s.faithful.of);
});

test('compose: facts kept, none added, casing, spelling, tone and suggestions above their floors', () => {
  const c = scoreCompose(engine, loadComposeCases(EVAL_DIR), engine.model.compose.misspellings);
  expect(c.cases).toBeGreaterThanOrEqual(20);
  expect(ratio(c.factsKept)).toBeGreaterThanOrEqual(0.95);
  expect(c.noNewFacts.hit).toBe(c.noNewFacts.of);
  expect(ratio(c.casing)).toBeGreaterThanOrEqual(0.9);
  expect(ratio(c.spellingFixed)).toBeGreaterThanOrEqual(0.9);
  expect(ratio(c.toneApplied)).toBeGreaterThanOrEqual(0.9);
  expect(ratio(c.suggestionsOk)).toBeGreaterThanOrEqual(0.95);
});
