// Which chats the engine can read: English only (its language model is English). A chat
// counts as English when most of its words are in the English model's lexicon and
// enough of them are English stop words. Senders' names, mentions, links and numbers
// do not count. A chat with too few words to tell is read as it is.

import { isWord, type AnalysedMessage } from './analyse';
import type { EngineModel } from './model';

export function checkLanguage(messages: readonly AnalysedMessage[], knows: (normal: string) => boolean, nameWords: ReadonlySet<string>, limits: EngineModel['language']): boolean {
  let words = 0;
  let known = 0;
  let stop = 0;
  for (const m of messages) {
    for (const s of m.sentences) {
      for (const t of s.tokens) {
        if (!isWord(t) || /\p{N}/u.test(t.value) || nameWords.has(t.normal)) continue;
        words++;
        if (knows(t.normal) || knows(t.value.toLowerCase())) known++;
        if (t.stop) stop++;
      }
    }
  }
  if (words < limits.minWords) return true;
  return known / words >= limits.minEnglishShare && stop / words >= limits.minStopWordShare;
}
