// The features' request and response shapes: versioned JSON with limits, validated
// before any processing. An invalid request gets a typed code inside the encrypted
// response (never a stack trace, never an echo).

import { ProtocolError } from '../../protocol';

export const FEATURE_ERROR_CODES = ['BAD_JSON', 'BAD_REQUEST', 'UNSUPPORTED_VERSION', 'TOO_LARGE', 'UNSUPPORTED_LANGUAGE'] as const;
export type FeatureErrorCode = (typeof FEATURE_ERROR_CODES)[number];
export class FeatureError extends ProtocolError<FeatureErrorCode> {
  readonly area = 'feature';
}

import { CHAT_SCHEMA, COMPOSE_REQUEST_SCHEMA, LIMITS, conforms, type Chat, type ComposeRequest, type ComposeResult, type SummarizeResult, type Tone } from '../../protocol';

export { LIMITS, TONES, type Chat, type ChatMessage, type ComposeRequest, type ComposeResult, type SummarizeResult, type Tone } from '../../protocol';

/** What the handler tells an engine about the request it answers. */
export interface FeatureContext {
  /** The request's padding bucket (bytes): an engine whose cost grows with its output (an LLM) sizes its work to the bucket's deadline. */
  readonly bucket: number;
}

/**
 * What an engine (built-in, or an LLM backend) implements. An engine may answer
 * synchronously (the built-in one) or asynchronously (an LLM: packages/llm-backend).
 */
export interface ModelBackend {
  summarize(chat: Chat, context?: FeatureContext): SummarizeResult | Promise<SummarizeResult>;
  compose(request: ComposeRequest, context?: FeatureContext): ComposeResult | Promise<ComposeResult>;
  /** Runs once at boot on fixed text, so the first user's request pays no first-run costs. */
  warmUp?(): void | Promise<void>;
}

function parse(body: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw new FeatureError('BAD_JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new FeatureError('BAD_REQUEST');
  const v = (value as Record<string, unknown>).v;
  if (v !== 1) throw new FeatureError('UNSUPPORTED_VERSION');
  return value as Record<string, unknown>;
}

/** A summarize request's chat, checked against its schema (protocol/feature-schema.ts); only the known fields are kept. */
export function parseSummarizeRequest(body: Uint8Array): Chat {
  const req = parse(body);
  const chat = req.chat as { requester: string; messages: { sender: string; time: string; text: string }[] };
  if (Array.isArray((chat as { messages?: unknown } | undefined)?.messages) && chat.messages.length > LIMITS.messages) throw new FeatureError('TOO_LARGE');
  if (!conforms(CHAT_SCHEMA, chat)) throw new FeatureError('BAD_REQUEST');
  return { requester: chat.requester, messages: chat.messages.map((m) => ({ sender: m.sender, time: m.time, text: m.text })) };
}

export function parseComposeRequest(body: Uint8Array): ComposeRequest {
  const req = parse(body);
  if (!conforms(COMPOSE_REQUEST_SCHEMA, req)) throw new FeatureError('BAD_REQUEST');
  const { draft, tone, lastMessage } = req as { draft: string; tone: Tone; lastMessage?: string };
  return { draft, tone, ...(lastMessage !== undefined ? { lastMessage } : {}) };
}
