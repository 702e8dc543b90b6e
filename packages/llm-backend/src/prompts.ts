// The prompts: fixed instructions (system) and the request's content (user). A chat is
// cut to its newest messages that fit the bucket's prompt budget; a draft or last message
// longer than the budget is cut to its start. Nothing here logs or keeps the content.

import type { Chat, ComposeRequest } from '../../../protocol/features';

export interface Prompt {
  readonly system: string;
  readonly user: string;
}

export type CountTokens = (text: string) => number;

const TONE_WORDS = { friendly: 'friendly and warm', formal: 'formal and polite', concise: 'short and direct' } as const;

/** The largest prefix of `text` (at a character boundary) of at most `max` tokens. */
function cutToTokens(text: string, max: number, count: CountTokens): string {
  if (max <= 0) return '';
  if (count(text) <= max) return text;
  const chars = [...text];
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (count(chars.slice(0, mid).join('')) <= max) lo = mid;
    else hi = mid - 1;
  }
  return chars.slice(0, lo).join('');
}

export function summarizePrompt(chat: Chat, promptTokens: number, count: CountTokens): Prompt {
  const system =
    `You summarise a group chat for ${chat.requester}. Write a short, neutral summary in plain sentences: ` +
    'what was discussed, decided and asked. Use only what the messages say.';
  const ask = 'Summarise this chat.';
  let left = promptTokens - count(system) - count(ask) - 2;
  const kept: string[] = [];
  // Newest first, until the budget is spent; then back in order.
  for (let i = chat.messages.length - 1; i >= 0 && left > 0; i--) {
    const m = chat.messages[i]!;
    const line = `${m.sender}: ${m.text.replace(/\s+/g, ' ').trim()}`;
    const cost = count(line) + 1;
    if (cost > left) {
      if (kept.length === 0) kept.push(cutToTokens(line, left - 1, count));
      break;
    }
    kept.push(line);
    left -= cost;
  }
  kept.reverse();
  return { system, user: `${kept.join('\n')}\n\n${ask}` };
}

export function composePrompt(request: ComposeRequest, promptTokens: number, count: CountTokens): Prompt {
  const system =
    `Rewrite the user's draft message so it sounds ${TONE_WORDS[request.tone]}. Keep its meaning and language. ` +
    'Answer with the rewritten message only.';
  let left = promptTokens - count(system) - 8;
  const draft = cutToTokens(request.draft.trim(), Math.max(1, Math.ceil(left * (request.lastMessage ? 0.6 : 1))), count);
  left -= count(draft);
  const context = request.lastMessage ? cutToTokens(request.lastMessage.trim(), left, count) : '';
  return { system, user: (context ? `They wrote: ${context}\n` : '') + `My draft: ${draft}` };
}
