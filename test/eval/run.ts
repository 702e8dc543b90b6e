// `npm run eval`: the built-in engine on the evaluation chats (test/fixtures/chats/):
// precision and recall of action items and owners, topic coverage, decisions, open
// questions, language refusals, and the compose checks. `npm run eval -- --held-out`
// adds the held-out chats (test/fixtures/chats-heldout/), which tuning never looked at.
// `--misses` lists what each chat missed.

import { BuiltinEngine } from '../../enclave-app/features/builtin/engine';
import { builtinModelBytes } from '../../enclave-app/features/builtin/model-file';
import { EVAL_DIR, HELD_OUT_DIR, loadChats, loadComposeCases } from './fixtures';
import { ratio, scoreCompose, scoreSummaries, type Ratio } from './metrics';

const pct = (r: Ratio) => `${(100 * ratio(r)).toFixed(1).padStart(5)} %  (${r.hit}/${r.of})`;

function report(title: string, dir: string, engine: BuiltinEngine, misses: boolean): void {
  const chats = loadChats(dir);
  const cases = loadComposeCases(dir);
  const s = scoreSummaries(engine, chats);
  const c = scoreCompose(engine, cases, engine.model.compose.misspellings);
  const senders = chats.map((x) => new Set(x.chat.messages.map((m) => m.sender)).size);
  const sizes = chats.map((x) => x.chat.messages.length);
  const out = (l: string) => process.stdout.write(`${l}\n`);
  out(`\n${title}: ${chats.length} chats (${chats.filter((x) => x.unsupported).length} in other languages), ${Math.min(...sizes)}–${Math.max(...sizes)} messages, ${Math.min(...senders)}–${Math.max(...senders)} senders; ${cases.length} compose cases`);
  out(`  summarise`);
  out(`    action items, precision (owner and text)   ${pct(s.itemPrecision)}`);
  out(`    action items, recall (owner and text)      ${pct(s.itemRecall)}`);
  out(`    action items, recall (text only)           ${pct(s.itemTextRecall)}`);
  out(`    owners right, of items found               ${pct(s.ownerAccuracy)}`);
  out(`    topic coverage                             ${pct(s.topicCoverage)}`);
  out(`    decisions, recall / precision              ${pct(s.decisionRecall)} / ${pct(s.decisionPrecision)}`);
  out(`    open questions, recall / precision         ${pct(s.questionRecall)} / ${pct(s.questionPrecision)}`);
  out(`    language: refused iff not English          ${pct(s.languageCorrect)}`);
  out(`    summaries with only chat quotes and names  ${pct(s.faithful)}`);
  out(`  compose`);
  out(`    names, numbers, dates and links kept       ${pct(c.factsKept)}`);
  out(`    rewrites with no new number or name        ${pct(c.noNewFacts)}`);
  out(`    casing and end punctuation                 ${pct(c.casing)}`);
  out(`    known misspellings corrected               ${pct(c.spellingFixed)}`);
  out(`    tone applied                               ${pct(c.toneApplied)}`);
  out(`    suggestions short, ≤ 3, no new numbers     ${pct(c.suggestionsOk)}`);
  if (misses) for (const m of [...s.misses, ...c.misses]) out(`    · ${m}`);
}

const args = process.argv.slice(2);
const engine = BuiltinEngine.fromModel(builtinModelBytes());
report('Evaluation set', EVAL_DIR, engine, args.includes('--misses'));
if (args.includes('--held-out')) report('Held-out set', HELD_OUT_DIR, engine, args.includes('--misses'));
