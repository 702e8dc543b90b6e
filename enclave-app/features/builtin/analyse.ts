// Reads each message with wink-nlp (tokens, normal forms with contractions expanded,
// lemmas, parts of speech, negation, entities, sentence boundaries) into plain arrays
// the rules work on. Everything here belongs to one request.

import type { ItemSentence, WinkMethods } from 'wink-nlp';
import type { ChatMessage } from '../api';

export interface Token {
  readonly value: string;
  readonly normal: string;
  readonly lemma: string;
  readonly pos: string;
  readonly type: string;
  readonly stop: boolean;
  readonly negated: boolean;
}

export interface Entity {
  readonly value: string;
  readonly type: string;
}

export interface Sentence {
  /** Verbatim text of the sentence, a substring of its message. */
  readonly text: string;
  readonly tokens: readonly Token[];
  /** ` ${normals joined by spaces} `, for phrase matching on word boundaries. */
  readonly normals: string;
  /** Lower-case verbatim text, for cues that are not words (emoji, "/s"). */
  readonly lower: string;
  readonly entities: readonly Entity[];
  readonly question: boolean;
}

export interface AnalysedMessage {
  readonly index: number;
  readonly sender: string;
  readonly time: string;
  readonly text: string;
  readonly sentences: readonly Sentence[];
  readonly normals: string;
  readonly lower: string;
}

const LETTER = /\p{L}/u;

export function analyseText(nlp: WinkMethods, text: string): Sentence[] {
  const its = nlp.its;
  const doc = nlp.readDoc(text);
  const sentences: Sentence[] = [];
  let searchFrom = 0;
  doc.sentences().each((s: ItemSentence) => {
    const tokens = s.tokens();
    const values = tokens.out(its.value) as string[];
    const normal = tokens.out(its.normal) as string[];
    const lemma = tokens.out(its.lemma as never) as string[];
    const pos = tokens.out(its.pos) as string[];
    const type = tokens.out(its.type) as string[];
    const stop = tokens.out(its.stopWordFlag) as boolean[];
    const negated = tokens.out(its.negationFlag) as boolean[];
    const list: Token[] = values.map((value, i) => ({
      value,
      normal: normal[i] ?? value.toLowerCase(),
      lemma: lemma[i] ?? value.toLowerCase(),
      pos: pos[i] ?? 'X',
      type: type[i] ?? 'word',
      stop: stop[i] ?? false,
      negated: negated[i] ?? false,
    }));
    // The sentence as the sender wrote it: located in the message, never rebuilt.
    const first = values[0];
    const last = values[values.length - 1];
    let verbatim = '';
    if (first !== undefined && last !== undefined) {
      const start = text.indexOf(first, searchFrom);
      const lastAt = start < 0 ? -1 : text.indexOf(last, start + (values.length > 1 ? first.length : 0));
      if (start >= 0 && lastAt >= 0) {
        verbatim = text.slice(start, lastAt + last.length);
        searchFrom = lastAt + last.length;
      }
    }
    if (!verbatim) return;
    const entities = (s.entities().out(its.detail) as unknown as Entity[]).map((e) => ({ value: e.value, type: e.type }));
    sentences.push({
      text: verbatim,
      tokens: list,
      normals: ` ${list.map((t) => t.normal).join(' ')} `,
      lower: verbatim.toLowerCase(),
      entities,
      question: /\?\s*\W*$/u.test(verbatim) || values[values.length - 1] === '?',
    });
  });
  return sentences;
}

export function analyseMessages(nlp: WinkMethods, messages: readonly ChatMessage[]): AnalysedMessage[] {
  return messages.map((m, index) => {
    const sentences = analyseText(nlp, m.text);
    return {
      index,
      sender: m.sender,
      time: m.time,
      text: m.text,
      sentences,
      normals: sentences.map((s) => s.normals).join(' '),
      lower: m.text.toLowerCase(),
    };
  });
}

/** Whether a token is a word (letters in any script). */
export const isWord = (t: Token): boolean => LETTER.test(t.value) && t.type !== 'url' && t.type !== 'email' && t.type !== 'mention' && t.type !== 'hashtag';

/** Whether `phrase` occurs in a sentence: on word boundaries of the normal forms, or verbatim for cues that are not words. */
export function hasPhrase(s: { normals: string; lower: string }, phrase: string): boolean {
  if (s.normals.includes(` ${phrase} `)) return true;
  return !/^[\p{L}\p{N} ']+$/u.test(phrase) && s.lower.includes(phrase);
}

export function hasAny(s: { normals: string; lower: string }, phrases: readonly string[]): boolean {
  return phrases.some((p) => hasPhrase(s, p));
}

/** The token index just after the first occurrence of `phrase` in the tokens' normal forms, or -1. */
export function phraseEnd(tokens: readonly Token[], phrase: string): number {
  const words = phrase.split(' ');
  outer: for (let i = 0; i + words.length <= tokens.length; i++) {
    for (let j = 0; j < words.length; j++) if (tokens[i + j]!.normal !== words[j]) continue outer;
    return i + words.length;
  }
  return -1;
}
