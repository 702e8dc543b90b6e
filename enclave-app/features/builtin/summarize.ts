// Summarising a group chat, extractively: every sentence the summary quotes and every
// name it gives is copied from the chat; the words around them come from a few fixed
// templates. The rules run on wink-nlp's analysis (analyse.ts) with the cue phrases
// and thresholds of the model file.
//
//   topics        nouns and noun pairs said in several messages, by several people
//   who said what the most informative sentence of each sender on each main topic
//   action items  first-person commitments ("I'll book it"), requests someone accepted
//                 ("Ben, can you…?" → "sure"), and hand-overs ("I can't anymore, can
//                 someone take it?" → "I got it"); withdrawn ones are dropped; negated,
//                 questioned and sarcastic ones never count
//   decisions     explicit ones ("we decided…") and proposals another person agreed to;
//                 a later change of mind ("actually… instead") replaces the earlier one
//   questions     questions to the requester (by name, or "you" in reply to them) or to
//                 everyone, that the requester has not answered yet

import { FeatureError, type Chat, type SummarizeResult } from '../api';
import { analyseMessages, hasAny, hasPhrase, isWord, phraseEnd, type AnalysedMessage, type Sentence, type Token } from './analyse';
import { checkLanguage } from './language';
import type { EngineModel } from './model';
import type { WinkMethods } from 'wink-nlp';

interface Item {
  owner: string;
  text: string;
  at: number;
  terms: Set<string>;
  open: boolean;
}

interface Request {
  from: string;
  /** A sender, or undefined for anyone. */
  to: string | undefined;
  text: string;
  at: number;
  terms: Set<string>;
  /** A withdrawn item that this request hands over. */
  handover?: Item;
  done: boolean;
}

interface Decision {
  text: string;
  at: number;
  terms: Set<string>;
}

interface Proposal {
  from: string;
  text: string;
  at: number;
  terms: Set<string>;
  change: boolean;
}

const CONTENT_POS = new Set(['NOUN', 'PROPN', 'VERB', 'ADJ', 'NUM']);
const OBJECT_PRONOUNS = new Set(['it', 'that', 'this', 'them', 'those']);
const TAG_QUESTION = /\b(right|correct|yes|no|ok|okay|yeah|agreed|yep)\s*\?+\s*\W*$/iu;
const QUOTE_MARKS = /[“”]/u;

/** Content lemmas of a sentence, for overlap between items, requests and decisions. */
function termsOf(s: Sentence): Set<string> {
  return new Set(s.tokens.filter((t) => CONTENT_POS.has(t.pos) && !t.stop && isWord(t) && t.lemma.length > 2).map((t) => t.lemma));
}

const overlap = (a: Set<string>, b: Set<string>): number => {
  let n = 0;
  for (const x of a) if (b.has(x)) n++;
  return n;
};

function joinNames(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

export class ChatSummariser {
  private readonly cues: EngineModel['cues'];
  private readonly limits: EngineModel['summary'];
  private readonly excludedTopics: Set<string>;
  private readonly excludedVerbs: Set<string>;
  private readonly skipBeforeVerb: Set<string>;

  constructor(private readonly model: EngineModel) {
    this.cues = model.cues;
    this.limits = model.summary;
    this.excludedTopics = new Set(model.topics.excluded);
    this.excludedVerbs = new Set(model.cues.commitmentVerbsExcluded);
    this.skipBeforeVerb = new Set(model.cues.skipBeforeVerb);
  }

  summarise(nlp: WinkMethods, knows: (normal: string) => boolean, chat: Chat): SummarizeResult {
    const messages = analyseMessages(nlp, chat.messages);
    const senders = [...new Set(chat.messages.map((m) => m.sender))];
    const nameWords = new Set(senders.flatMap((s) => s.toLowerCase().split(/[^\p{L}\p{N}]+/u)).filter((w) => w.length > 0));
    if (!checkLanguage(messages, knows, nameWords, this.model.language)) throw new FeatureError('UNSUPPORTED_LANGUAGE', 'Sorry, summaries are only available for chats in English for now.');

    const { items, decisions } = this.itemsAndDecisions(messages, senders);
    const questions = this.openQuestions(messages, chat.requester, senders);
    const salient = new Set([...items.map((i) => i.text), ...decisions.map((d) => d.text), ...questions.map((q) => q.text)]);
    const topics = this.topics(messages, nameWords, salient, knows);
    const summary = this.summaryText(messages, senders, topics, decisions, items, questions);
    return {
      summary,
      topics: topics.map((t) => t.label),
      actionItems: items.slice(0, this.limits.maxActionItems).map((i) => ({ owner: i.owner, text: i.text })),
      decisions: decisions.slice(-this.limits.maxDecisions).map((d) => d.text),
      questions: questions.slice(-this.limits.maxQuestions).map((q) => ({ asker: q.asker, text: q.text })),
    };
  }

  // -------------------------------------------------------------------------------
  // Action items and decisions, in one pass over the chat (they interact: a proposal
  // accepted is a decision, a request accepted is an item).

  private isSarcastic(m: AnalysedMessage): boolean {
    return hasAny(m, this.cues.sarcasm);
  }

  /** The main verb after a first-person commitment cue, if the sentence commits the speaker. */
  private commitment(s: Sentence): { verb: Token; after: number } | undefined {
    for (const cue of this.cues.commitment) {
      const end = phraseEnd(s.tokens, cue);
      if (end < 0) continue;
      // A question commits nobody ("can I bring anything?"), unless it opens with the promise ("I'll collect it, 5 each?").
      if (s.question && end !== cue.split(' ').length && cue !== 'let me') continue;
      let i = end;
      while (i < s.tokens.length && (this.skipBeforeVerb.has(s.tokens[i]!.normal) || s.tokens[i]!.pos === 'ADV')) {
        if (s.tokens[i]!.normal === 'not' || s.tokens[i]!.normal === 'never') return undefined;
        i++;
      }
      const verb = s.tokens[i];
      if (!verb || (verb.pos !== 'VERB' && verb.pos !== 'AUX') || verb.negated) continue;
      if (verb.normal === 'not' || verb.normal === 'never' || this.excludedVerbs.has(verb.lemma)) continue;
      // "I can" with a cue before it ("if I can…") is a condition, not a promise.
      const cueStart = end - cue.split(' ').length;
      if (cueStart > 0 && ['if', 'unless', 'whether', 'when'].includes(s.tokens[cueStart - 1]!.normal)) continue;
      return { verb, after: i + 1 };
    }
    return undefined;
  }

  /** Whether the object of a commitment is only a pronoun ("I'll do it"). */
  private refersBack(s: Sentence, after: number): boolean {
    const next = s.tokens[after];
    if (next !== undefined && OBJECT_PRONOUNS.has(next.normal)) return true;
    return s.tokens.slice(after).filter((t) => isWord(t) && !t.stop && (t.pos === 'NOUN' || t.pos === 'PROPN')).length === 0;
  }

  /** Nouns of a sentence that can name a task's object ("blanket", "van"). */
  private objects(s: Sentence): number {
    return s.tokens.filter((t) => (t.pos === 'NOUN' || t.pos === 'PROPN') && isWord(t) && !t.stop && !this.excludedTopics.has(t.normal)).length;
  }

  /** Who a request or question is addressed to: a sender named in it, everyone, or the sender of the message it replies to. */
  private addressee(m: AnalysedMessage, s: Sentence, senders: readonly string[], previousOther: string | undefined): { to: string | undefined; group: boolean; named: boolean } {
    for (const name of senders) {
      if (name === m.sender) continue;
      const first = name.toLowerCase().split(/\s+/)[0]!;
      if (first.length > 1 && (s.normals.includes(` ${first} `) || s.lower.includes(`@${first}`))) return { to: name, group: false, named: true };
    }
    if (hasAny(s, this.cues.groupAddress)) return { to: undefined, group: true, named: false };
    if (hasAny(s, this.cues.secondPerson) && previousOther) return { to: previousOther, group: false, named: false };
    return { to: undefined, group: true, named: false };
  }

  /**
   * A decision stated: a decision cue with something decided ("we agreed on 2M"), or the
   * chat idioms "Friday it is", "Monday then" and "so Saturday 9am at mine".
   */
  private isDecision(s: Sentence, terms: Set<string>): boolean {
    const words = s.tokens.filter(isWord).length;
    const when = s.entities.some((e) => e.type === 'DATE' || e.type === 'TIME');
    if (hasAny(s, this.cues.decision) && (terms.size > 0 || when) && words >= 2) return true;
    if (/ it is (?:[.!]+ )*$/.test(s.normals.replace(/ \p{Extended_Pictographic}+/gu, '')) && words >= 3) return true;
    if (/ then (?:[.!,]+ )*$/.test(s.normals) && words <= 7 && (terms.size > 0 || when)) return true;
    return /^ (ok |okay )?so /.test(s.normals) && when && !s.question;
  }

  private isRequest(s: Sentence): boolean {
    return /\b(can|could|would|will) (you|u|someone|somebody|anyone|anybody|one of you)\b/.test(s.normals) || / please /.test(s.normals) || /\b(who|anyone|someone) (can|could|wants to|will)\b/.test(s.normals);
  }

  private itemsAndDecisions(messages: readonly AnalysedMessage[], senders: readonly string[]): { items: Item[]; decisions: Decision[] } {
    const items: Item[] = [];
    const decisions: Decision[] = [];
    const requests: Request[] = [];
    const proposals: Proposal[] = [];
    const window = this.limits.replyWindow;
    let previousSender: string | undefined;
    const lastOther = new Map<string, string>();

    const addDecision = (text: string, at: number, terms: Set<string>, change: boolean) => {
      if (decisions.some((d) => d.text === text)) return;
      // Said again in other words ("I vote Piranesi" … "Piranesi it is"): the latest wording stands.
      const same = decisions.findIndex((d) => overlap(d.terms, terms) > 0);
      if (same >= 0 && !change) {
        decisions.splice(same, 1);
      } else if (change && decisions.length > 0) {
        // A change of mind replaces the decision it is about (most overlap; else the latest).
        let best = decisions.length - 1;
        let bestOverlap = 0;
        decisions.forEach((d, k) => {
          const o = overlap(d.terms, terms);
          if (o > bestOverlap || (o === bestOverlap && o > 0 && k > best)) [best, bestOverlap] = [k, o];
        });
        decisions.splice(best, 1);
      }
      decisions.push({ text, at, terms });
    };
    const addItem = (owner: string, text: string, at: number, terms: Set<string>) => {
      if (items.some((i) => i.open && i.owner === owner && i.text === text)) return;
      items.push({ owner, text, at, terms, open: true });
    };

    for (const m of messages) {
      const sarcastic = this.isSarcastic(m);
      const others = previousSender !== undefined && previousSender !== m.sender ? previousSender : lastOther.get(m.sender);
      const opening = m.sentences[0];
      // A bare "ok" accepts only as a short reply; a longer message accepts by committing.
      const short = opening !== undefined && opening.tokens.filter(isWord).length <= 4;
      const accepts = opening !== undefined && short && !sarcastic && hasAny(opening, this.cues.acceptance) && !hasAny(opening, this.cues.refusal) && !opening.question;
      const agrees = opening !== undefined && short && !sarcastic && hasAny(opening, this.cues.agreement) && !hasAny(opening, this.cues.refusal) && !opening.question;
      let acceptedRequest: Request | undefined;

      // Replies first: this message may accept an open request or agree to a proposal.
      if (accepts) {
        for (let k = requests.length - 1; k >= 0; k--) {
          const r = requests[k]!;
          if (r.done || r.from === m.sender || m.index - r.at > (r.to === undefined ? 2 : window)) continue;
          if (r.to !== undefined && r.to !== m.sender) continue;
          // Taking over someone's task takes more than "ok".
          if (r.handover) continue;
          acceptedRequest = r;
          break;
        }
      }
      if (agrees) {
        for (let k = proposals.length - 1; k >= 0; k--) {
          const p = proposals[k]!;
          if (p.from === m.sender || m.index - p.at > window) continue;
          addDecision(p.text, p.at, p.terms, p.change);
          // The proposals before the one agreed to are no longer on the table.
          proposals.splice(0, k + 1);
          break;
        }
      }

      let coveredRequest = false;
      for (const s of m.sentences) {
        const terms = termsOf(s);
        const change = hasAny(s, this.cues.change);

        // A withdrawal: the sender gives back an item they took.
        const mine = items.filter((i) => i.open && i.owner === m.sender);
        if (mine.length > 0 && hasAny(s, this.cues.withdrawal) && !this.commitment(s)) {
          const strong = this.cues.withdrawal.some((c) => c !== 'can not' && hasPhrase(s, c));
          const target = [...mine].reverse().find((i) => overlap(i.terms, terms) > 0) ?? (strong ? mine[mine.length - 1] : undefined);
          if (target) {
            target.open = false;
            if (hasAny(s, this.cues.handover) || s.question) {
              const address = this.addressee(m, s, senders, others);
              requests.push({ from: m.sender, to: address.to, text: target.text, at: m.index, terms: target.terms, handover: target, done: false });
            } else {
              requests.push({ from: m.sender, to: undefined, text: target.text, at: m.index, terms: target.terms, handover: target, done: false });
            }
            continue;
          }
        }

        // A commitment in the first person.
        const commitment = sarcastic ? undefined : this.commitment(s);
        const acceptanceCommitment = !sarcastic && !s.question && hasAny(s, this.cues.acceptanceCommitment);
        if (commitment || acceptanceCommitment) {
          const back = commitment ? this.refersBack(s, commitment.after) : true;
          // "I got it" / "I'll do it": takes over an open request or a handed-over item.
          const open = requests.filter((r) => !r.done && r.from !== m.sender && m.index - r.at <= window && (r.to === undefined || r.to === m.sender));
          const target = acceptedRequest ?? (back ? open[open.length - 1] : open.reverse().find((r) => overlap(r.terms, terms) > 0));
          if (target && (back || overlap(target.terms, terms) > 0)) {
            target.done = true;
            addItem(m.sender, back ? target.text : s.text, m.index, back ? target.terms : terms);
            if (target === acceptedRequest) coveredRequest = true;
            continue;
          }
          // The one who gave a task back takes it again ("I'll sort it after all").
          const given = back ? [...requests].reverse().find((r) => !r.done && r.handover && r.from === m.sender && m.index - r.at <= window) : undefined;
          if (given?.handover) {
            given.done = true;
            given.handover.open = true;
            continue;
          }
          if (commitment && back) {
            addItem(m.sender, s.text, m.index, terms);
            continue;
          }
          if (commitment && !back) {
            if (change) {
              // "Actually I'll bring salsa instead": the sender's earlier item is replaced.
              const earlier = [...items].reverse().find((i) => i.open && i.owner === m.sender && m.index - i.at <= window * 2);
              if (earlier) earlier.open = false;
            }
            addItem(m.sender, s.text, m.index, terms);
            if (acceptedRequest && overlap(acceptedRequest.terms, terms) > 0) {
              acceptedRequest.done = true;
              coveredRequest = true;
            }
            continue;
          }
        }

        // A decision, stated.
        const decisionStated = this.isDecision(s, terms) && (!s.question || TAG_QUESTION.test(s.text)) && !sarcastic && !s.tokens.some((t) => t.negated && t.pos === 'VERB');
        if (decisionStated) {
          addDecision(s.text, m.index, terms, change);
          continue;
        }
        // A proposal, a decision once someone else agrees.
        if (!sarcastic && hasAny(s, this.cues.proposal) && terms.size > 0) {
          proposals.push({ from: m.sender, text: s.text, at: m.index, terms, change });
        }
        // A request, an item once its addressee (or anyone) accepts.
        if (!sarcastic && this.isRequest(s) && this.objects(s) > 0) {
          const address = this.addressee(m, s, senders, others);
          requests.push({ from: m.sender, to: address.to, text: s.text, at: m.index, terms, done: false });
        }
      }
      if (acceptedRequest && !coveredRequest && !acceptedRequest.done) {
        acceptedRequest.done = true;
        addItem(m.sender, acceptedRequest.text, m.index, acceptedRequest.terms);
      }
      if (previousSender !== undefined && previousSender !== m.sender) lastOther.set(m.sender, previousSender);
      previousSender = m.sender;
    }
    return { items: items.filter((i) => i.open), decisions };
  }

  // -------------------------------------------------------------------------------
  // Open questions for the requester.

  private openQuestions(messages: readonly AnalysedMessage[], requester: string, senders: readonly string[]): { asker: string; text: string }[] {
    const out: { asker: string; text: string; at: number }[] = [];
    const window = this.limits.replyWindow;
    let previousSender: string | undefined;
    for (const m of messages) {
      const replyingTo = previousSender;
      previousSender = m.sender;
      if (m.sender === requester || this.isSarcastic(m)) continue;
      for (const s of m.sentences) {
        if (!s.question || s.tokens.filter(isWord).length < 3) continue;
        if (hasAny(s, this.cues.rhetorical) && s.tokens.filter(isWord).length <= 4) continue;
        const first = requester.toLowerCase().split(/\s+/)[0] ?? '';
        const named = first.length > 1 && (s.normals.includes(` ${first} `) || s.lower.includes(`@${first}`));
        const namesOther = senders.some((n) => n !== requester && n !== m.sender && s.normals.includes(` ${n.toLowerCase().split(/\s+/)[0]} `));
        // In a chat of two, every question is to the other one.
        const inReply = (replyingTo === requester && hasAny(s, this.cues.secondPerson)) || (senders.length === 2 && senders.includes(requester));
        const group = !namesOther && hasAny(s, this.cues.groupAddress);
        if (!named && !inReply && !group) continue;
        // Answered: the requester wrote after it, within the reply window.
        const answered = messages.slice(m.index + 1, m.index + 1 + window).some((later) => later.sender === requester);
        // A question to everyone is also settled when someone else took it on.
        const taken =
          group &&
          !named &&
          messages.slice(m.index + 1, m.index + 3).some((later) => {
            const opening = later.sentences[0];
            if (later.sender === m.sender || !opening) return false;
            const reply = !opening.question && opening.tokens.filter(isWord).length <= 6 && (hasAny(opening, this.cues.agreement) || hasAny(opening, this.cues.refusal) || hasAny(opening, this.cues.acceptance));
            return reply || later.sentences.some((ls) => hasAny(ls, this.cues.acceptanceCommitment) || this.commitment(ls) !== undefined);
          });
        if (!answered && !taken) out.push({ asker: m.sender, text: s.text, at: m.index });
      }
    }
    return out;
  }

  // -------------------------------------------------------------------------------
  // Topics.

  /**
   * Nouns and noun pairs, scored by the distinct messages that say them (a message said
   * again word for word counts once), the people who say them, and whether they occur
   * in an action item, decision or open question.
   */
  private topics(messages: readonly AnalysedMessage[], nameWords: Set<string>, salient: ReadonlySet<string>, knows: (normal: string) => boolean): { key: string; label: string; score: number; first: number }[] {
    const minLength = this.model.topics.minLength;
    const candidate = (t: Token) =>
      (t.pos === 'NOUN' || t.pos === 'PROPN') &&
      isWord(t) &&
      !t.stop &&
      t.value.length >= minLength &&
      /^[\p{L}][\p{L}-]*(['’]s)?$/u.test(t.value) &&
      !this.excludedTopics.has(t.normal) &&
      !this.excludedTopics.has(t.lemma) &&
      !nameWords.has(t.normal.replace(/['’]s$/, ''));
    interface Stat {
      messages: number;
      senders: Set<string>;
      first: number;
      forms: Map<string, number>;
      salient: boolean;
    }
    const said = new Set<string>();
    const stats = new Map<string, Stat>();
    const note = (key: string, form: string, m: AnalysedMessage, seen: Set<string>, inSalient: boolean) => {
      if (seen.has(key)) return;
      seen.add(key);
      const s = stats.get(key) ?? { messages: 0, senders: new Set<string>(), first: m.index, forms: new Map<string, number>(), salient: false };
      s.messages++;
      s.senders.add(m.sender);
      s.forms.set(form, (s.forms.get(form) ?? 0) + 1);
      s.salient ||= inSalient;
      stats.set(key, s);
    };
    for (const m of messages) {
      const text = m.text.trim().toLowerCase();
      if (said.has(text)) continue;
      said.add(text);
      const seen = new Set<string>();
      for (const s of m.sentences) {
        const inSalient = salient.has(s.text);
        s.tokens.forEach((t, i) => {
          if (!candidate(t)) return;
          const value = t.value.replace(/['’]s$/, '');
          const form = t.pos === 'PROPN' && /^\p{Lu}/u.test(value) ? value : value.toLowerCase();
          note(t.lemma.toLowerCase().replace(/['’]s$/, ''), form, m, seen, inSalient);
          const prev = s.tokens[i - 1];
          // A noun pair ("bike rack"), or a name in two words ("Elm Street"); the modifier an English word.
          const pair = prev && candidate(prev) && knows(prev.normal) && ((prev.pos !== 'PROPN' && t.pos === 'NOUN') || (prev.pos === 'PROPN' && t.pos === 'PROPN'));
          if (pair && prev) {
            const between = s.text.includes(`${prev.value} ${t.value}`);
            const form = t.pos === 'PROPN' ? `${prev.value} ${value}` : `${prev.value.toLowerCase()} ${value.toLowerCase()}`;
            if (between) note(`${prev.lemma.toLowerCase()} ${t.lemma.toLowerCase().replace(/['’]s$/, '')}`, form, m, seen, inSalient);
          }
        });
      }
    }
    // In a long chat a topic is said at least twice (or belongs to an item, decision or question).
    const minMessages = said.size >= 30 ? 2 : 1;
    const scored = [...stats.entries()]
      .filter(([, s]) => s.messages >= minMessages || s.salient)
      .map(([key, s]) => {
        const label = [...s.forms.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
        return { key, label, score: s.messages + 0.5 * (s.senders.size - 1) + (s.salient ? 1 : 0) + (key.includes(' ') ? 0.5 : 0), first: s.first, messages: s.messages };
      });
    // A pair said as often as its words stands for them ("birthday party", "Elm Street");
    // a pair said once, where a word of it is said more, gives way to that word.
    const dropped = new Set<string>();
    for (const p of scored.filter((t) => t.key.includes(' '))) {
      const parts = p.key.split(' ').map((w) => scored.find((t) => t.key === w));
      if (parts.every((x) => !x || x.messages <= p.messages)) for (const x of parts) if (x) dropped.add(x.key);
      else dropped.add(p.key);
    }
    return scored
      .filter((t) => !dropped.has(t.key))
      .sort((a, b) => b.score - a.score || a.first - b.first || (a.key < b.key ? -1 : 1))
      .slice(0, this.limits.maxTopics);
  }

  // -------------------------------------------------------------------------------
  // The summary text: fixed templates around names and verbatim sentences.

  private quotableText(text: string): boolean {
    return text.length <= this.limits.maxQuoteChars && !QUOTE_MARKS.test(text) && !/[\r\n]/.test(text);
  }

  private quotable(s: Sentence): boolean {
    return s.tokens.filter(isWord).length >= 3 && this.quotableText(s.text);
  }

  private summaryText(
    messages: readonly AnalysedMessage[],
    senders: readonly string[],
    topics: readonly { key: string; label: string }[],
    decisions: readonly Decision[],
    items: readonly Item[],
    questions: readonly { asker: string }[],
  ): string {
    const shown = senders.slice(0, this.limits.namesInSummary);
    const rest = senders.length - shown.length;
    const who = rest > 0 ? `${shown.join(', ')} and ${rest} ${rest === 1 ? 'other' : 'others'}` : joinNames(shown);
    const parts: string[] = [];
    const count = `${messages.length} ${messages.length === 1 ? 'message' : 'messages'}`;
    parts.push(topics.length > 0 ? `${who} talked about ${joinNames(topics.map((t) => t.label))} (${count}).` : `${who} exchanged ${count}.`);
    const quoted = new Set<string>();
    for (const topic of topics.slice(0, this.limits.topicsInSummary)) {
      const words = topic.key.split(' ');
      const bySender = new Map<string, { text: string; score: number; at: number }>();
      for (const m of messages) {
        for (const s of m.sentences) {
          if (!this.quotable(s) || quoted.has(s.text)) continue;
          const lemmas = s.tokens.map((t) => t.lemma.toLowerCase());
          if (!words.every((w) => lemmas.includes(w))) continue;
          const score = termsOf(s).size + 2 * s.entities.filter((e) => ['DATE', 'TIME', 'CARDINAL', 'MONEY', 'DURATION', 'ORDINAL', 'PERCENT'].includes(e.type)).length - (s.question ? 1 : 0);
          const best = bySender.get(m.sender);
          if (!best || score > best.score) bySender.set(m.sender, { text: s.text, score, at: m.index });
        }
      }
      const chosen = [...bySender.entries()]
        .sort((a, b) => b[1].score - a[1].score || a[1].at - b[1].at)
        .slice(0, this.limits.quotesPerTopic)
        .sort((a, b) => a[1].at - b[1].at);
      if (chosen.length === 0) continue;
      for (const [, q] of chosen) quoted.add(q.text);
      parts.push(`On ${topic.label}, ${chosen.map(([sender, q]) => `${sender} said “${q.text}”`).join(' and ')}`);
    }
    const lastDecision = decisions[decisions.length - 1];
    if (lastDecision && this.quotableText(lastDecision.text) && !quoted.has(lastDecision.text)) {
      parts.push(`Decided: “${lastDecision.text}”`);
    } else if (decisions.length > 0) {
      parts.push(`${decisions.length} ${decisions.length === 1 ? 'decision' : 'decisions'} made.`);
    }
    const owners = [...new Set(items.map((i) => i.owner))];
    if (owners.length > 0) parts.push(`Action items for ${joinNames(owners.slice(0, this.limits.namesInSummary))}${owners.length > this.limits.namesInSummary ? ' and others' : ''}.`);
    const askers = [...new Set(questions.map((q) => q.asker))];
    if (askers.length > 0) parts.push(`Open ${questions.length === 1 ? 'question' : 'questions'} for you from ${joinNames(askers.slice(0, this.limits.namesInSummary))}${askers.length > this.limits.namesInSummary ? ' and others' : ''}.`);
    return parts.join(' ');
  }
}
