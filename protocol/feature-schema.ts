// The features' JSON shapes as data: one small schema per request and answer, checked by
// `conforms` — by the enclave on every request (before any processing) and on every
// answer it is about to seal, and by the client on every answer it receives. Limits
// (string lengths, list sizes) are part of the schema. Fields not in a schema are
// ignored, so a later version can add some.

import { LIMITS, TONES } from './features';

export type Schema =
  | { readonly type: 'string'; readonly max: number; readonly nonEmpty?: boolean }
  | { readonly type: 'enum'; readonly values: readonly unknown[] }
  | { readonly type: 'array'; readonly max: number; readonly items: Schema }
  | { readonly type: 'object'; readonly fields: Readonly<Record<string, Schema>>; readonly optional?: readonly string[] };

const text = (max: number, nonEmpty = false): Schema => ({ type: 'string', max, ...(nonEmpty ? { nonEmpty } : {}) });

/** Whether `value` has the shape and limits of `schema`. */
export function conforms(schema: Schema, value: unknown): boolean {
  switch (schema.type) {
    case 'string':
      return typeof value === 'string' && value.length <= schema.max && (!schema.nonEmpty || value.trim().length > 0);
    case 'enum':
      return schema.values.includes(value);
    case 'array':
      return Array.isArray(value) && value.length <= schema.max && value.every((v) => conforms(schema.items, v));
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
      const record = value as Record<string, unknown>;
      return Object.entries(schema.fields).every(([k, s]) => (record[k] === undefined && schema.optional?.includes(k)) || conforms(s, record[k]));
    }
  }
}

export const CHAT_MESSAGE_SCHEMA: Schema = { type: 'object', fields: { sender: text(LIMITS.sender), time: text(64), text: text(LIMITS.text) } };

/** `chat` of a summarize request; the message count is checked apart (`TOO_LARGE`, not `BAD_REQUEST`). */
export const CHAT_SCHEMA: Schema = { type: 'object', fields: { requester: text(LIMITS.sender), messages: { type: 'array', max: Number.MAX_SAFE_INTEGER, items: CHAT_MESSAGE_SCHEMA } } };

export const COMPOSE_REQUEST_SCHEMA: Schema = {
  type: 'object',
  fields: { draft: text(LIMITS.draft, true), tone: { type: 'enum', values: TONES }, lastMessage: text(LIMITS.text) },
  optional: ['lastMessage'],
};

/** Longest text of an answer's entry: a message (a quoted sentence is part of one). */
const ANSWER_TEXT = LIMITS.text;

export const SUMMARIZE_RESULT_SCHEMA: Schema = {
  type: 'object',
  fields: {
    summary: text(16 * ANSWER_TEXT),
    topics: { type: 'array', max: 20, items: text(200) },
    actionItems: { type: 'array', max: 50, items: { type: 'object', fields: { owner: text(LIMITS.sender), text: text(ANSWER_TEXT) } } },
    decisions: { type: 'array', max: 50, items: text(ANSWER_TEXT) },
    questions: { type: 'array', max: 50, items: { type: 'object', fields: { asker: text(LIMITS.sender), text: text(ANSWER_TEXT) } } },
  },
};

export const COMPOSE_RESULT_SCHEMA: Schema = {
  type: 'object',
  fields: { text: text(2 * LIMITS.draft), suggestions: { type: 'array', max: 3, items: text(200) } },
};
