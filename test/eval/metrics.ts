// How well an engine summarises and composes, measured on hand-written chats with
// reference answers (fixtures.ts). Used by `npm run eval` (test/eval/run.ts) and by the
// floors in test/eval/quality.test.ts.
//
// Matching is deliberately simple and stated: an output action item matches a
// reference when its owner is the reference owner and its text holds one of the
// reference words (case-insensitive); a topic is covered when an output topic holds
// one of its words; a decision or question likewise. Each output matches at most one
// reference.

import { FeatureError, type Chat, type ComposeRequest, type ComposeResult, type SummarizeResult } from '../../enclave-app/features/api';

/** The evaluation scores an engine that answers synchronously (the built-in one). */
interface EvaluatedEngine {
  summarize(chat: Chat): SummarizeResult;
  compose(request: ComposeRequest): ComposeResult;
}
import type { ComposeCase, EvalChat, ReferenceItem } from './fixtures';

export interface Ratio {
  hit: number;
  of: number;
}

export const ratio = (r: Ratio): number => (r.of === 0 ? 1 : r.hit / r.of);
const add = (a: Ratio, b: Ratio): Ratio => ({ hit: a.hit + b.hit, of: a.of + b.of });
const ZERO: Ratio = { hit: 0, of: 0 };

export interface SummaryScores {
  chats: number;
  /** Items whose owner and text both match / items output. */
  itemPrecision: Ratio;
  /** Reference items found with the right owner / reference items. */
  itemRecall: Ratio;
  /** Ignoring the owner: reference items whose text was found. */
  itemTextRecall: Ratio;
  /** Of the items whose text matched, those with the right owner. */
  ownerAccuracy: Ratio;
  topicCoverage: Ratio;
  decisionRecall: Ratio;
  decisionPrecision: Ratio;
  questionRecall: Ratio;
  questionPrecision: Ratio;
  /** Unsupported chats refused, and supported ones answered. */
  languageCorrect: Ratio;
  /** Summaries whose quotes are chat text and whose names are senders. */
  faithful: Ratio;
  misses: string[];
}

const holds = (text: string, words: readonly string[]) => {
  const t = text.toLowerCase();
  return words.some((w) => t.includes(w));
};

function matchItems(out: readonly { owner: string; text: string }[], refs: readonly ReferenceItem[], withOwner: boolean): { matched: number; pairs: [number, number][] } {
  const used = new Set<number>();
  const pairs: [number, number][] = [];
  refs.forEach((r, ri) => {
    const k = out.findIndex((o, oi) => !used.has(oi) && (!withOwner || o.owner.toLowerCase() === r.owner.toLowerCase()) && holds(o.text, r.words));
    if (k >= 0) {
      used.add(k);
      pairs.push([ri, k]);
    }
  });
  return { matched: pairs.length, pairs };
}

function matchTexts(out: readonly string[], refs: readonly (readonly string[])[]): number {
  const used = new Set<number>();
  let n = 0;
  for (const words of refs) {
    const k = out.findIndex((o, oi) => !used.has(oi) && holds(o, words));
    if (k >= 0) {
      used.add(k);
      n++;
    }
  }
  return n;
}

const stem = (w: string) => w.toLowerCase().replace(/(es|s)$/, '');

/** Quotes (“…”) are verbatim chat text and every other word is a template word, a sender's name or a chat word. */
export function summaryIsFaithful(summary: string, chat: EvalChat['chat']): boolean {
  const texts = chat.messages.map((m) => m.text);
  const quotes = [...summary.matchAll(/“([^”]*)”/g)].map((m) => m[1]!);
  if (!quotes.every((q) => texts.some((t) => t.includes(q)))) return false;
  const outside = summary.replace(/“[^”]*”/g, ' ');
  const all = [...chat.messages.map((m) => m.text), ...chat.messages.map((m) => m.sender)].join('\n').toLowerCase();
  // A word of the chat: found in it, starting at a word boundary ("Anna" in "Anna's").
  const inChat = (w: string) => {
    for (let at = all.indexOf(w); at >= 0; at = all.indexOf(w, at + 1)) if (at === 0 || !/[\p{L}\p{N}]/u.test(all[at - 1]!)) return true;
    return false;
  };
  return (outside.match(/[\p{L}][\p{L}'’-]*/gu) ?? []).every((w) => TEMPLATE_WORDS.has(w.toLowerCase()) || inChat(w.toLowerCase()));
}

/** The words the summary templates add around names, topics and quotes. */
export const TEMPLATE_WORDS = new Set(['talked', 'about', 'and', 'exchanged', 'message', 'messages', 'other', 'others', 'on', 'said', 'decided', 'decision', 'decisions', 'made', 'action', 'items', 'for', 'open', 'question', 'questions', 'you', 'from']);

export function scoreSummaries(engine: EvaluatedEngine, chats: readonly EvalChat[]): SummaryScores {
  const s: SummaryScores = {
    chats: chats.length,
    itemPrecision: ZERO,
    itemRecall: ZERO,
    itemTextRecall: ZERO,
    ownerAccuracy: ZERO,
    topicCoverage: ZERO,
    decisionRecall: ZERO,
    decisionPrecision: ZERO,
    questionRecall: ZERO,
    questionPrecision: ZERO,
    languageCorrect: ZERO,
    faithful: ZERO,
    misses: [],
  };
  for (const c of chats) {
    let out: SummarizeResult | undefined;
    try {
      out = engine.summarize(c.chat);
    } catch (err) {
      if (!(err instanceof FeatureError) || err.code !== 'UNSUPPORTED_LANGUAGE') throw err;
    }
    s.languageCorrect = add(s.languageCorrect, { hit: (out === undefined) === c.unsupported ? 1 : 0, of: 1 });
    if (c.unsupported) {
      if (out) s.misses.push(`${c.id}: answered a chat it should refuse`);
      continue;
    }
    if (!out) {
      s.misses.push(`${c.id}: refused an English chat`);
      continue;
    }
    const withOwner = matchItems(out.actionItems, c.items, true);
    const textOnly = matchItems(out.actionItems, c.items, false);
    const ownersRight = textOnly.pairs.filter(([ri, oi]) => out.actionItems[oi]!.owner.toLowerCase() === c.items[ri]!.owner.toLowerCase()).length;
    s.itemPrecision = add(s.itemPrecision, { hit: withOwner.matched, of: out.actionItems.length });
    s.itemRecall = add(s.itemRecall, { hit: withOwner.matched, of: c.items.length });
    s.itemTextRecall = add(s.itemTextRecall, { hit: textOnly.matched, of: c.items.length });
    s.ownerAccuracy = add(s.ownerAccuracy, { hit: ownersRight, of: textOnly.matched });
    const topics = out.topics.map(stem);
    const covered = c.topics.filter((alts) => alts.some((a) => topics.some((t) => t.includes(stem(a)) || stem(a).includes(t)))).length;
    s.topicCoverage = add(s.topicCoverage, { hit: covered, of: c.topics.length });
    const decisions = matchTexts(out.decisions, c.decisions);
    s.decisionRecall = add(s.decisionRecall, { hit: decisions, of: c.decisions.length });
    s.decisionPrecision = add(s.decisionPrecision, { hit: decisions, of: out.decisions.length });
    const questions = matchItems(out.questions.map((q) => ({ owner: q.asker, text: q.text })), c.questions, true).matched;
    s.questionRecall = add(s.questionRecall, { hit: questions, of: c.questions.length });
    s.questionPrecision = add(s.questionPrecision, { hit: questions, of: out.questions.length });
    const faithful = summaryIsFaithful(out.summary, c.chat);
    s.faithful = add(s.faithful, { hit: faithful ? 1 : 0, of: 1 });
    const missedItems = c.items.filter((_, ri) => !withOwner.pairs.some(([r]) => r === ri)).map((r) => `${r.owner}:${r.words[0]}`);
    const extraItems = out.actionItems.filter((_, oi) => !withOwner.pairs.some(([, o]) => o === oi)).map((o) => `${o.owner}:"${o.text.slice(0, 50)}"`);
    if (missedItems.length || extraItems.length) s.misses.push(`${c.id}: items missed [${missedItems.join(', ')}] extra [${extraItems.join(', ')}]`);
    if (covered < c.topics.length) s.misses.push(`${c.id}: topics ${JSON.stringify(out.topics)} vs ${JSON.stringify(c.topics.map((t) => t[0]))}`);
    if (!faithful) s.misses.push(`${c.id}: summary not faithful`);
    if (decisions < c.decisions.length || decisions < out.decisions.length) s.misses.push(`${c.id}: decisions ${JSON.stringify(out.decisions.map((d) => d.slice(0, 50)))} vs ${JSON.stringify(c.decisions.map((d) => d[0]))}`);
    if (questions < c.questions.length || questions < out.questions.length) s.misses.push(`${c.id}: questions ${JSON.stringify(out.questions.map((q) => `${q.asker}: ${q.text.slice(0, 40)}`))} vs ${JSON.stringify(c.questions.map((q) => q.owner))}`);
  }
  return s;
}

// ---------------------------------------------------------------------------------
// Compose.

export interface ComposeScores {
  cases: number;
  /** Numbers, times, links and capitalised names of the draft found in the rewrite. */
  factsKept: Ratio;
  /** Rewrites with no number or name that the draft does not have. */
  noNewFacts: Ratio;
  /** Rewrites that start with a capital letter, have no lone "i" and end with punctuation (or a link or emoji). */
  casing: Ratio;
  /** Known misspellings in the drafts that were corrected. */
  spellingFixed: Ratio;
  /** Formal: no contractions, no emoji; concise: not longer than the draft; friendly: warm opening or "!". */
  toneApplied: Ratio;
  /** At most three suggestions, short, with no number or name the last message does not have. */
  suggestionsOk: Ratio;
  misses: string[];
}

const NUMBER = /\d[\d,.:/-]*\d|\d/g;
const LINK = /\bhttps?:\/\/\S+[^\s.,!?]/g;

/** The draft's facts: numbers and times, links, and capitalised words that do not start a sentence. */
export function factsOf(text: string): string[] {
  const facts = [...(text.match(LINK) ?? []), ...(text.replace(LINK, ' ').match(NUMBER) ?? [])];
  const words = text.replace(LINK, ' ').split(/\s+/);
  words.forEach((w, i) => {
    const clean = w.replace(/^[^\p{L}]+|[^\p{L}'’]+$/gu, '');
    const startsSentence = i === 0 || /[.!?]$/.test(words[i - 1] ?? '');
    if (/^\p{Lu}\p{Ll}+/u.test(clean) && !startsSentence && !/^I('|’|$)/.test(clean)) facts.push(clean.replace(/['’]s$/, ''));
  });
  return facts;
}

const TONE_WORDS = new Set(['hello', 'hi', 'i', "i'm", 'i’m', "i'll", 'i’ll', "i've", "i'd", 'goodbye', 'everyone', 'thank', 'you', 'yes', 'sorry']);
const EMOJI = /\p{Extended_Pictographic}/u;

export function scoreCompose(engine: EvaluatedEngine, cases: readonly ComposeCase[], misspellings: Readonly<Record<string, string>>): ComposeScores {
  const s: ComposeScores = { cases: cases.length, factsKept: ZERO, noNewFacts: ZERO, casing: ZERO, spellingFixed: ZERO, toneApplied: ZERO, suggestionsOk: ZERO, misses: [] };
  for (const c of cases) {
    const out: ComposeResult = engine.compose({ draft: c.draft, tone: c.tone, ...(c.lastMessage ? { lastMessage: c.lastMessage } : {}) });
    const lower = out.text.toLowerCase();
    const facts = factsOf(c.draft);
    const kept = facts.filter((f) => lower.includes(f.toLowerCase()) || lower.includes((misspellings[f.toLowerCase()] ?? '\u0000').toLowerCase()));
    s.factsKept = add(s.factsKept, { hit: kept.length, of: facts.length });
    const draftLower = c.draft.toLowerCase();
    const corrected = Object.values(misspellings).map((v) => v.toLowerCase());
    const newFacts = factsOf(out.text).filter((f) => !draftLower.includes(f.toLowerCase()) && !TONE_WORDS.has(f.toLowerCase()) && !corrected.includes(f.toLowerCase()));
    // A new sentence-initial word is not a fact; numbers and names are.
    s.noNewFacts = add(s.noNewFacts, { hit: newFacts.length === 0 ? 1 : 0, of: 1 });
    const casingOk = /^[\p{Lu}\p{N}"“(]|^\p{Extended_Pictographic}/u.test(out.text) && !/(^|\s)i(\s|'|’|$)/.test(out.text) && /([.!?…)]|\p{Extended_Pictographic}|\S+\/\S*)$/u.test(out.text.trim());
    s.casing = add(s.casing, { hit: casingOk ? 1 : 0, of: 1 });
    const misspelled = (c.draft.toLowerCase().match(/[\p{L}']+/gu) ?? []).filter((w) => misspellings[w] !== undefined && w.length > 2 && !/^(u|r|ur)$/.test(w));
    const fixed = misspelled.filter((w) => !new RegExp(`(^|[^\\p{L}'])${w}([^\\p{L}']|$)`, 'u').test(lower));
    s.spellingFixed = add(s.spellingFixed, { hit: fixed.length, of: misspelled.length });
    const tone =
      c.tone === 'formal'
        ? !/\b\w+(n't|'ll|'re|'m|'ve)\b/i.test(out.text.replace(/’/g, "'")) && !EMOJI.test(out.text)
        : c.tone === 'concise'
          ? out.text.length <= c.draft.trim().length
          : /^(hi|hey|hello)\b/i.test(out.text) || out.text.includes('!');
    s.toneApplied = add(s.toneApplied, { hit: tone ? 1 : 0, of: 1 });
    const last = (c.lastMessage ?? '').toLowerCase();
    const suggestionFacts = out.suggestions.flatMap((x) => (x.match(NUMBER) ?? []).filter((n) => !last.includes(n)));
    const ok = out.suggestions.length <= 3 && out.suggestions.every((x) => x.length <= 60) && suggestionFacts.length === 0 && (c.lastMessage ? out.suggestions.length > 0 : out.suggestions.length === 0);
    s.suggestionsOk = add(s.suggestionsOk, { hit: ok ? 1 : 0, of: 1 });
    if (kept.length < facts.length || newFacts.length || !casingOk || !tone || fixed.length < misspelled.length) {
      s.misses.push(`${c.tone} "${c.draft.slice(0, 40)}…" → "${out.text}"${kept.length < facts.length ? ` lost ${JSON.stringify(facts.filter((f) => !kept.includes(f)))}` : ''}${newFacts.length ? ` new ${JSON.stringify(newFacts)}` : ''}`);
    }
  }
  return s;
}
