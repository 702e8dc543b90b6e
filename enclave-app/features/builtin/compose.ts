// Composing: a draft rewritten in a tone, with spelling and casing fixed, and up to
// three short replies to the last message. The rewrite only edits the draft's own
// tokens (wink-nlp's, with their spacing): it corrects, expands, contracts, drops
// filler and adds at most a greeting and punctuation, so names, numbers, dates and
// links pass through unchanged and no fact is added.

import type { WinkMethods } from 'wink-nlp';
import type { ComposeRequest, ComposeResult, Tone } from '../api';
import { analyseText, hasAny, isWord } from './analyse';
import type { EngineModel } from './model';

interface Piece {
  text: string;
  space: string;
  normal: string;
  type: string;
  contraction: boolean;
}

const WORD_CHUNK = /[\p{L}][\p{L}'’]*/gu;
const TERMINAL = /^[.!?…]+$/u;
const SYMBOLIC = new Set(['emoji', 'emoticon']);

const capitalise = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);
const likeCase = (original: string, replacement: string) => (/^\p{Lu}/u.test(original) && /^\p{Ll}/u.test(replacement) ? capitalise(replacement) : replacement);

export class DraftComposer {
  private readonly misspellings: Map<string, string>;
  private readonly capitalised: Set<string>;

  constructor(private readonly model: EngineModel) {
    this.misspellings = new Map(Object.entries(model.compose.misspellings));
    this.capitalised = new Set(model.compose.alwaysCapitalised);
  }

  compose(nlp: WinkMethods, knows: (word: string) => boolean, request: ComposeRequest): ComposeResult {
    const spelled = this.fixSpelling(request.draft.replace(/[^\S\n]+/g, ' ').replace(/ *\n+ */g, '\n').trim(), knows);
    let pieces = this.pieces(nlp, spelled);
    const c = this.model.compose;
    if (request.tone === 'formal') {
      pieces = this.expandContractions(pieces);
      pieces = this.drop(pieces, (p) => c.formal.drop.includes(p.normal) || (c.formal.dropEmoji && SYMBOLIC.has(p.type)))
        .map((p) => {
          const r = c.formal.replace[p.normal];
          if (r !== undefined && p.type === 'word' && !p.contraction) return { ...p, text: likeCase(p.text, r) };
          if (/^!+$|^!+\.*$/.test(p.text)) return { ...p, text: '.' };
          return p;
        });
    } else if (request.tone === 'concise') {
      pieces = this.dropPhrases(pieces, c.concise.dropPhrases);
      pieces = this.contract(pieces, c.concise.contract);
      pieces = this.drop(pieces, (p) => c.concise.dropEmoji && SYMBOLIC.has(p.type)).map((p) => (/^([!?.])\1+$/.test(p.text) ? { ...p, text: p.text[0]! } : p));
    }
    pieces = this.tidy(pieces);
    pieces = this.fixCase(pieces);
    let text = pieces.map((p, i) => (i === 0 ? '' : p.space) + p.text).join('');
    // Punctuation after a link or an address would break it.
    const endsInLink = ['url', 'email'].includes(pieces[pieces.length - 1]?.type ?? '');
    if (request.tone === 'friendly') text = this.friendly(text, endsInLink);
    if (!endsInLink && !/[.!?…)\p{Extended_Pictographic}]$/u.test(text) && text.length > 0) text += request.tone === 'friendly' ? '!' : '.';
    if (text.length === 0) text = spelled;
    return { text, suggestions: request.lastMessage !== undefined ? this.replies(nlp, request.lastMessage, request.tone) : [] };
  }

  /** Known misspellings and chat spellings, then a swapped pair of letters when exactly one swap is an English word. */
  private fixSpelling(draft: string, knows: (word: string) => boolean): string {
    return draft
      .split(/(\s+)/)
      .map((chunk) => {
        if (/:\/\/|^www\.|@|^#/.test(chunk)) return chunk;
        return chunk.replace(WORD_CHUNK, (word) => {
          const lower = word.toLowerCase();
          const fixed = this.misspellings.get(lower);
          if (fixed !== undefined) return likeCase(word, fixed);
          if (lower === 'i' || /^i['’](m|ll|ve|d)$/.test(lower)) return `I${word.slice(1)}`;
          if (lower.length >= 4 && /^\p{Ll}+$/u.test(word) && !knows(lower)) {
            const swaps = new Set<string>();
            for (let i = 0; i + 1 < lower.length; i++) {
              const swapped = lower.slice(0, i) + lower[i + 1] + lower[i] + lower.slice(i + 2);
              if (swapped !== lower && knows(swapped)) swaps.add(swapped);
            }
            if (swaps.size === 1) return [...swaps][0]!;
          }
          return word;
        });
      })
      .join('');
  }

  private pieces(nlp: WinkMethods, text: string): Piece[] {
    const its = nlp.its;
    const doc = nlp.readDoc(text);
    const values = doc.tokens().out(its.value) as string[];
    const spaces = doc.tokens().out(its.precedingSpaces) as string[];
    const normals = doc.tokens().out(its.normal) as string[];
    const types = doc.tokens().out(its.type) as string[];
    const contractions = doc.tokens().out(its.contractionFlag) as boolean[];
    return values.map((v, i) => ({ text: v, space: spaces[i] ?? ' ', normal: normals[i] ?? v.toLowerCase(), type: types[i] ?? 'word', contraction: contractions[i] ?? false }));
  }

  /** "I'll" → "I will", "can't" → "cannot", from wink's expansion of each contraction. */
  private expandContractions(pieces: Piece[]): Piece[] {
    const out: Piece[] = [];
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i]!;
      const next = pieces[i + 1];
      if (p.contraction && next?.contraction && next.space === '') {
        if (p.normal === 'can' && next.normal === 'not') out.push({ ...p, text: likeCase(p.text, 'cannot'), contraction: false });
        else out.push({ ...p, text: likeCase(p.text, p.normal === 'i' ? 'I' : p.normal), contraction: false }, { ...next, text: next.normal, space: ' ', contraction: false });
        i++;
        continue;
      }
      out.push(p);
    }
    return out;
  }

  private dropPhrases(pieces: Piece[], phrases: readonly string[]): Piece[] {
    const lists = phrases.map((p) => p.replace(/,/g, ' ,').split(/\s+/).filter(Boolean)).sort((a, b) => b.length - a.length);
    const out: Piece[] = [];
    for (let i = 0; i < pieces.length; ) {
      const match = lists.find((words) => words.every((w, j) => pieces[i + j]?.normal === w));
      if (match) {
        // The next piece takes the dropped one's place (and its spacing).
        const next = pieces[i + match.length];
        if (next && next.type !== 'punctuation') pieces[i + match.length] = { ...next, space: pieces[i]!.space };
        i += match.length;
        continue;
      }
      out.push(pieces[i]!);
      i++;
    }
    return out;
  }

  private contract(pieces: Piece[], table: Readonly<Record<string, string>>): Piece[] {
    const out: Piece[] = [];
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i]!;
      const next = pieces[i + 1];
      const pair = next ? table[`${p.normal} ${next.normal}`] : undefined;
      if (pair !== undefined && next && (!p.contraction || !next.contraction)) {
        out.push({ ...p, text: likeCase(p.text, pair), normal: pair.toLowerCase() });
        i++;
        continue;
      }
      out.push(p);
    }
    return out;
  }

  /** Drops pieces; an emoji that ended a sentence leaves a full stop behind. */
  private drop(pieces: Piece[], dropped: (p: Piece) => boolean): Piece[] {
    const out: Piece[] = [];
    pieces.forEach((p, i) => {
      if (!dropped(p)) {
        out.push(p);
        return;
      }
      const prev = out[out.length - 1];
      const next = pieces.slice(i + 1).find((q) => !dropped(q));
      if (SYMBOLIC.has(p.type) && prev && !TERMINAL.test(prev.text) && prev.text !== ',' && next?.type === 'word' && /^\p{Lu}/u.test(next.text)) {
        out.push({ text: '.', space: '', normal: '.', type: 'punctuation', contraction: false });
      }
    });
    return out;
  }

  /** Punctuation left alone at the start of a sentence or doubled by a drop. */
  private tidy(pieces: Piece[]): Piece[] {
    const out: Piece[] = [];
    for (const p of pieces) {
      const prev = out[out.length - 1];
      const atStart = !prev || TERMINAL.test(prev.text);
      if ((p.text === ',' || p.text === ';') && (atStart || prev?.text === ',' || prev?.text === ';')) continue;
      if (TERMINAL.test(p.text) && prev?.text === ',') out.pop();
      out.push(p);
    }
    return out;
  }

  private fixCase(pieces: Piece[]): Piece[] {
    let sentenceStart = true;
    return pieces.map((p) => {
      let text = p.text;
      if (p.type === 'word' && /^\p{L}/u.test(text)) {
        const capital = sentenceStart || text === 'i' || this.capitalised.has(text.toLowerCase());
        if (capital && /^\p{Ll}/u.test(text)) text = capitalise(text);
        sentenceStart = false;
      } else if (TERMINAL.test(text)) {
        sentenceStart = true;
      } else if (p.type !== 'punctuation' && !SYMBOLIC.has(p.type)) {
        sentenceStart = false;
      }
      return text === p.text ? p : { ...p, text };
    });
  }

  private friendly(text: string, endsInLink: boolean): string {
    const f = this.model.compose.friendly;
    const lower = text.toLowerCase();
    let out = text;
    if (f.exclaimLast && !endsInLink) out = out.replace(/\.$/, '!');
    if (!f.greetingWords.some((g) => lower.startsWith(g) && !/^[\p{L}]/u.test(lower.charAt(g.length)))) out = `${f.greeting} ${out}`;
    return out;
  }

  // -------------------------------------------------------------------------------
  // Suggested replies: the kind of the last message picks a set of short replies; a
  // date or place it names may be echoed, nothing else from outside it.

  private replies(nlp: WinkMethods, lastMessage: string, tone: Tone): string[] {
    const sentences = analyseText(nlp, lastMessage.slice(0, 2000));
    const last = sentences[sentences.length - 1];
    if (!last) return [];
    const all = { normals: sentences.map((s) => s.normals).join(' '), lower: lastMessage.toLowerCase() };
    const words = sentences.flatMap((s) => s.tokens.filter(isWord));
    const questionSentence = [...sentences].reverse().find((s) => s.question);
    let kind: string;
    if (questionSentence) {
      const q = questionSentence;
      const first = q.tokens.find(isWord)?.normal ?? '';
      if (first === 'when' || hasAny(q, ['what time', 'which day'])) kind = 'whenQuestion';
      else if (first === 'where') kind = 'whereQuestion';
      else if (hasAny(q, ['let us', 'shall we', 'how about', 'what about', 'want to', 'wanna', 'should we'])) kind = 'proposal';
      else if (hasAny(q, ['can you', 'could you', 'would you', 'will you', 'please', 'can u'])) kind = 'request';
      else if (this.model.cues.questionWords.includes(first) && !['what', 'who', 'which', 'why', 'how'].includes(first)) kind = 'yesNoQuestion';
      else if (/\b(right|ok|okay|correct|yes|no|yeah)\s*\?+\W*$/iu.test(q.text)) kind = 'yesNoQuestion';
      else kind = 'openQuestion';
    } else if (hasAny(all, ['thanks', 'thank you', 'thx', 'ty', 'appreciate it', 'cheers'])) kind = 'thanks';
    else if (words.length <= 4 && hasAny(all, ['hi', 'hey', 'hello', 'hiya', 'good morning', 'morning', 'yo'])) kind = 'greeting';
    else if (hasAny(all, ['let us', 'how about', 'we should', 'why do not we'])) kind = 'proposal';
    else {
      const doc = nlp.readDoc(lastMessage.slice(0, 2000));
      const sentiment = doc.out(nlp.its.sentiment) as unknown as number;
      kind = sentiment >= 0.35 ? 'goodNews' : sentiment <= -0.3 ? 'badNews' : 'statement';
    }
    const r = this.model.replies;
    const toned = tone === 'formal' ? r.formal : tone === 'concise' ? r.concise : undefined;
    const templates = toned?.[kind] ?? r[kind] ?? r.statement ?? [];
    const date = sentences.flatMap((s) => s.entities).find((e) => e.type === 'DATE' || e.type === 'TIME')?.value;
    const place = sentences.flatMap((s) => s.tokens).find((t) => t.pos === 'PROPN' && /^\p{Lu}/u.test(t.value))?.value;
    const filled = templates
      .map((t) => (t.includes('{date}') ? (date ? t.replace('{date}', capitalise(date)) : undefined) : t))
      .map((t) => (t?.includes('{place}') ? (place ? t.replace('{place}', place) : undefined) : t))
      .filter((t): t is string => t !== undefined);
    const fallback = (toned?.openQuestion ?? r.openQuestion ?? []).filter((t) => !filled.includes(t));
    return [...filled, ...fallback].slice(0, 3);
  }
}
