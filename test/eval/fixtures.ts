// The evaluation chats (test/fixtures/chats/*.chat, held out: chats-heldout/): one chat
// per file, written by hand in a small text format so they read like chats.
//
//   # requester: Ana                      whose summary it is
//   # topics: picnic | lake/park          reference topics; "/" separates accepted words
//   # item: Ben: sandwich/sandwiches      an action item: owner and words its text must hold
//   # decision: 11am/11                   a decision: words its text must hold
//   # question: Cai: blanket              an open question for the requester: asker, words
//   # unsupported                         a chat the engine must refuse (language)
//   # start: 2026-11-27T09:00:00Z         time of the first message (then one a minute)
//   Ana: Are we still doing the picnic?   a message: sender, colon, text ("\n" is a newline)
//   @chatter 40 Ana,Ben,Cai               40 lines of small talk from the FILLER list below,
//                                         round robin over those senders (to make long
//                                         chats; none of them holds a task, decision or question)

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Chat, ChatMessage } from '../../protocol';

export interface ReferenceItem {
  readonly owner: string;
  readonly words: readonly string[];
}

export interface EvalChat {
  readonly id: string;
  readonly chat: Chat;
  readonly topics: readonly (readonly string[])[];
  readonly items: readonly ReferenceItem[];
  readonly decisions: readonly (readonly string[])[];
  readonly questions: readonly ReferenceItem[];
  readonly unsupported: boolean;
}

export const FIXTURES = join(__dirname, '..', 'fixtures');
export const EVAL_DIR = join(FIXTURES, 'chats');
export const HELD_OUT_DIR = join(FIXTURES, 'chats-heldout');

/** Small talk for long chats: no task, decision or question in any of them. */
export const FILLER = [
  'haha', 'lol', '😂😂', 'true', 'omg', 'nice', 'same', 'ikr', 'fair enough', 'hmm', 'brb', 'back',
  'ok cool', 'so good', '🙌', 'that’s hilarious', 'no way 😅', 'love this', 'classic', 'oof',
  'I’m so tired today', 'coffee is not working', 'the weather is weird again', 'my cat just knocked over a plant',
  'this week is long', 'traffic was awful this morning', 'just saw the funniest video', 'yes exactly',
  'hahaha stop', '👀', 'big mood', 'I know right', 'wild', 'good point', 'fair', 'lmao',
  'the new season is out btw', 'I had pasta for lunch', 'anyway', 'all good here', '💯', 'honestly same',
];

const split = (v: string) => v.split('/').map((w) => w.trim().toLowerCase()).filter(Boolean);

export function parseChatFile(id: string, text: string): EvalChat {
  let requester = '';
  let start = Date.parse('2026-11-27T09:00:00Z');
  const topics: string[][] = [];
  const items: ReferenceItem[] = [];
  const decisions: string[][] = [];
  const questions: ReferenceItem[] = [];
  let unsupported = false;
  const lines: { sender: string; text: string }[] = [];
  let fillerAt = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (!line.trim()) continue;
    const header = /^#\s*(\w+)\s*:?\s*(.*)$/.exec(line);
    if (header) {
      const [, key, value] = header as unknown as [string, string, string];
      const ownerAndWords = () => {
        const at = value.indexOf(':');
        return { owner: value.slice(0, at).trim(), words: split(value.slice(at + 1)) };
      };
      if (key === 'requester') requester = value.trim();
      else if (key === 'start') start = Date.parse(value.trim());
      else if (key === 'topics') topics.push(...value.split('|').map(split));
      else if (key === 'item') items.push(ownerAndWords());
      else if (key === 'decision') decisions.push(split(value));
      else if (key === 'question') questions.push(ownerAndWords());
      else if (key === 'unsupported') unsupported = true;
      continue;
    }
    const chatter = /^@chatter\s+(\d+)\s+(.+)$/.exec(line);
    if (chatter) {
      const senders = chatter[2]!.split(',').map((s) => s.trim());
      for (let i = 0; i < Number(chatter[1]); i++) lines.push({ sender: senders[i % senders.length]!, text: FILLER[fillerAt++ % FILLER.length]! });
      continue;
    }
    const at = line.indexOf(':');
    if (at <= 0) throw new Error(`${id}: not a message line: ${line}`);
    lines.push({ sender: line.slice(0, at).trim(), text: line.slice(at + 1).trim().replace(/\\n/g, '\n') });
  }
  if (!requester) throw new Error(`${id}: no requester`);
  const messages: ChatMessage[] = lines.map((l, i) => ({ sender: l.sender, time: new Date(start + i * 60_000).toISOString(), text: l.text }));
  return { id, chat: { requester, messages }, topics, items, decisions, questions, unsupported };
}

export function loadChats(dir: string): EvalChat[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.chat'))
    .sort()
    .map((f) => parseChatFile(f.replace(/\.chat$/, ''), readFileSync(join(dir, f), 'utf8')));
}

export interface ComposeCase {
  readonly tone: 'friendly' | 'formal' | 'concise';
  readonly draft: string;
  readonly lastMessage?: string;
}

/** compose.cases: one case a line, `tone | draft | last message (optional)`. */
export function loadComposeCases(dir: string): ComposeCase[] {
  let text: string;
  try {
    text = readFileSync(join(dir, 'compose.cases'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => {
      const [tone, draft, last] = l.split('|').map((p) => p.trim());
      return { tone: tone as ComposeCase['tone'], draft: draft!, ...(last ? { lastMessage: last } : {}) };
    });
}
