// A small extractive engine, until the built-in NLP engine of the features issue: it
// only copies and counts what the chat contains (participants, frequent words,
// sentences that commit, decide or ask), and rewrites a draft with fixed rules. It
// invents nothing. Its "model" is a lexicon (stop words, contractions) delivered as
// the release's encrypted model file.

import type { Chat, ComposeRequest, ComposeResult, ModelBackend, SummarizeResult } from './api';

interface Lexicon {
  readonly stopwords: readonly string[];
  readonly contractions: Readonly<Record<string, string>>;
  readonly fillers: readonly string[];
}

const COMMITMENT = /\b(i'll|i will|i can|let me|i'm going to|i am going to)\b/i;
const DECISION = /\b(decided|agreed|let's go with|we'll go with|we will go with)\b/i;
const WORD = /[\p{L}\p{N}][\p{L}\p{N}'-]*/gu;

/**
 * Legacy RegExp statics (RegExp.$_, lastMatch…) keep the last input a regular
 * expression saw: run one over an empty string so no chat text stays reachable.
 */
export function forgetRegExpInput(): void {
  /(?:)/.exec('');
}

export class PlaceholderEngine implements ModelBackend {
  private readonly stopwords: ReadonlySet<string>;

  constructor(private readonly lexicon: Lexicon) {
    this.stopwords = new Set(lexicon.stopwords);
  }

  /** The engine from its model bytes (already decrypted and hash-checked). */
  static fromModel(model: Uint8Array): PlaceholderEngine {
    const lexicon = JSON.parse(new TextDecoder().decode(model)) as Lexicon;
    if (!Array.isArray(lexicon.stopwords) || typeof lexicon.contractions !== 'object' || !Array.isArray(lexicon.fillers)) {
      throw new Error('the model is not a lexicon');
    }
    return new PlaceholderEngine(lexicon);
  }

  summarize(chat: Chat): SummarizeResult {
    const counts = new Map<string, number>();
    const participants: string[] = [];
    for (const m of chat.messages) {
      if (!participants.includes(m.sender)) participants.push(m.sender);
      for (const w of m.text.toLowerCase().match(WORD) ?? []) {
        if (w.length >= 4 && !this.stopwords.has(w)) counts.set(w, (counts.get(w) ?? 0) + 1);
      }
    }
    const topics = [...counts.entries()]
      .filter(([, n]) => n >= 2)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 3)
      .map(([w]) => w);
    const actionItems = chat.messages.filter((m) => COMMITMENT.test(m.text)).map((m) => ({ owner: m.sender, text: m.text.trim() }));
    const decisions = chat.messages.filter((m) => DECISION.test(m.text)).map((m) => m.text.trim());
    const questions = chat.messages
      .filter((m) => m.sender !== chat.requester && m.text.trim().endsWith('?'))
      .map((m) => ({ asker: m.sender, text: m.text.trim() }));
    const about = topics.length ? ` about ${topics.join(', ')}` : '';
    const summary = `${participants.length} participants (${participants.join(', ')}) exchanged ${chat.messages.length} messages${about}.`;
    forgetRegExpInput();
    return { summary, topics, actionItems, decisions, questions };
  }

  compose(request: ComposeRequest): ComposeResult {
    let text = request.draft.replace(/\s+/g, ' ').trim();
    if (request.tone === 'formal') {
      for (const [short, long] of Object.entries(this.lexicon.contractions)) {
        text = text.replace(new RegExp(`\\b${short.replace(/'/g, "'")}\\b`, 'gi'), long);
      }
    }
    if (request.tone === 'concise') {
      const fillers = new Set(this.lexicon.fillers);
      text = text
        .split(' ')
        .filter((w) => !fillers.has(w.toLowerCase()))
        .join(' ');
    }
    text = text.charAt(0).toUpperCase() + text.slice(1);
    if (!/[.!?]$/.test(text)) text += request.tone === 'friendly' ? '!' : '.';
    const asked = request.lastMessage?.trim().endsWith('?') ?? false;
    const suggestions = asked ? ['Yes, that works.', 'Let me check and get back to you.', 'No, sorry.'] : ['Thanks!', 'Sounds good.', 'Got it.'];
    forgetRegExpInput();
    return { text, suggestions };
  }
}

/** The lexicon the local stack ships as its (encrypted) model file. */
export const DEFAULT_LEXICON: Lexicon = {
  stopwords: ['that', 'this', 'with', 'have', 'will', 'from', 'what', 'when', 'just', 'there', 'they', 'then', 'them', 'your', 'about', 'would', 'could', 'should', 'also', 'been', 'were', 'okay', 'yeah', 'sure', 'i’ll', "i'll", 'let’s', "let's"],
  contractions: { "don't": 'do not', "can't": 'cannot', "won't": 'will not', "i'm": 'I am', "it's": 'it is', "we're": 'we are', "i'll": 'I will', "isn't": 'is not' },
  fillers: ['just', 'really', 'very', 'basically', 'actually', 'literally', 'totally'],
};
