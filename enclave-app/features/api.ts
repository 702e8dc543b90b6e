// The features' request and response shapes: versioned JSON with limits, validated
// before any processing. An invalid request gets a typed code inside the encrypted
// response (never a stack trace, never an echo).

import { ProtocolError } from '../../protocol';

export const FEATURE_ERROR_CODES = ['BAD_JSON', 'BAD_REQUEST', 'UNSUPPORTED_VERSION', 'TOO_LARGE', 'UNSUPPORTED_LANGUAGE'] as const;
export type FeatureErrorCode = (typeof FEATURE_ERROR_CODES)[number];
export class FeatureError extends ProtocolError<FeatureErrorCode> {
  readonly area = 'feature';
}

import { LIMITS, TONES, type Chat, type ComposeRequest, type ComposeResult, type SummarizeResult, type Tone } from '../../protocol';

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

const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;

export function parseSummarizeRequest(body: Uint8Array): Chat {
  const req = parse(body);
  const chat = req.chat as Record<string, unknown> | undefined;
  if (!chat || typeof chat !== 'object' || !isText(chat.requester, LIMITS.sender) || !Array.isArray(chat.messages)) throw new FeatureError('BAD_REQUEST');
  if (chat.messages.length > LIMITS.messages) throw new FeatureError('TOO_LARGE');
  const messages = chat.messages.map((m: unknown) => {
    const msg = m as Record<string, unknown>;
    if (!msg || typeof msg !== 'object' || !isText(msg.sender, LIMITS.sender) || !isText(msg.time, 64) || !isText(msg.text, LIMITS.text)) {
      throw new FeatureError('BAD_REQUEST');
    }
    return { sender: msg.sender, time: msg.time, text: msg.text };
  });
  return { requester: chat.requester, messages };
}

export function parseComposeRequest(body: Uint8Array): ComposeRequest {
  const req = parse(body);
  if (!isText(req.draft, LIMITS.draft) || req.draft.trim().length === 0) throw new FeatureError('BAD_REQUEST');
  if (!(TONES as readonly unknown[]).includes(req.tone)) throw new FeatureError('BAD_REQUEST');
  if (req.lastMessage !== undefined && !isText(req.lastMessage, LIMITS.text)) throw new FeatureError('BAD_REQUEST');
  return { draft: req.draft, tone: req.tone as Tone, ...(req.lastMessage !== undefined ? { lastMessage: req.lastMessage as string } : {}) };
}
