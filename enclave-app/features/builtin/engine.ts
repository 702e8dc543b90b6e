// The built-in engine: summarise and compose with wink-nlp's English model, on the CPU,
// with no downloaded weights. Each request reads its text with a wink-nlp instance of
// its own (wink.ts), dropped with the request, so no word of a chat outlives it.

import { forgetRegExpInput } from '../regexp-statics';
import type { Chat, ComposeRequest, ComposeResult, ModelBackend, SummarizeResult } from '../api';
import { DraftComposer } from './compose';
import { parseEngineModel, type EngineModel } from './model';
import { ChatSummariser } from './summarize';
import { WinkFactory } from './wink';

export class BuiltinEngine implements ModelBackend {
  private readonly summariser: ChatSummariser;
  private readonly composer: DraftComposer;

  constructor(
    readonly model: EngineModel,
    private readonly wink: WinkFactory = new WinkFactory(),
  ) {
    this.summariser = new ChatSummariser(model);
    this.composer = new DraftComposer(model);
  }

  /** The engine from its model file's bytes (already decrypted and hash-checked). */
  static fromModel(bytes: Uint8Array): BuiltinEngine {
    return new BuiltinEngine(parseEngineModel(bytes));
  }

  summarize(chat: Chat): SummarizeResult {
    try {
      return this.summariser.summarise(this.wink.fresh(), (w) => this.wink.knows(w), chat);
    } finally {
      forgetRegExpInput();
    }
  }

  compose(request: ComposeRequest): ComposeResult {
    try {
      return this.composer.compose(this.wink.fresh(), (w) => this.wink.knows(w), request);
    } finally {
      forgetRegExpInput();
    }
  }

  warmUp(): void {
    const messages = [
      { sender: 'A', time: '2026-01-01T00:00:00Z', text: 'Shall we meet on Friday at the station?' },
      { sender: 'B', time: '2026-01-01T00:01:00Z', text: "Yes, I'll bring the tickets. Can you book the table?" },
    ];
    this.summarize({ requester: 'A', messages });
    this.compose({ draft: "sure, i'll book it", tone: 'formal', lastMessage: 'Can you book the table?' });
  }

  /** The English model shared by every request (read-only), for the isolation test. */
  get languageModel(): WinkFactory {
    return this.wink;
  }
}
