// The features' request and response shapes (versioned JSON, `v: 1`), shared by the
// client SDK, which builds them, and the enclave, which validates them before any
// processing (enclave-app/features/api.ts).

export const LIMITS = { messages: 2000, text: 4000, sender: 100, draft: 4000 } as const;
export const TONES = ['friendly', 'formal', 'concise'] as const;
export type Tone = (typeof TONES)[number];

export interface ChatMessage {
  readonly sender: string;
  readonly time: string;
  readonly text: string;
}

export interface Chat {
  readonly requester: string;
  readonly messages: readonly ChatMessage[];
}

export interface SummarizeResult {
  readonly summary: string;
  readonly topics: readonly string[];
  readonly actionItems: readonly { owner: string; text: string }[];
  readonly decisions: readonly string[];
  readonly questions: readonly { asker: string; text: string }[];
}

export interface ComposeRequest {
  readonly draft: string;
  readonly tone: Tone;
  readonly lastMessage?: string;
}

export interface ComposeResult {
  readonly text: string;
  readonly suggestions: readonly string[];
}

