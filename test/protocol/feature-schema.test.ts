// The features' schemas: shapes and limits of requests and answers.
import { CHAT_SCHEMA, COMPOSE_REQUEST_SCHEMA, COMPOSE_RESULT_SCHEMA, LIMITS, SUMMARIZE_RESULT_SCHEMA, conforms } from '../../protocol';
import { SAMPLE_CHAT } from '../helpers/enclave';

test('requests: limits, enums, optional fields; extra fields are ignored', () => {
  expect(conforms(CHAT_SCHEMA, SAMPLE_CHAT)).toBe(true);
  expect(conforms(CHAT_SCHEMA, { ...SAMPLE_CHAT, extra: 1 })).toBe(true);
  expect(conforms(CHAT_SCHEMA, { ...SAMPLE_CHAT, requester: 'x'.repeat(LIMITS.sender + 1) })).toBe(false);
  expect(conforms(CHAT_SCHEMA, { requester: 'Ana', messages: [{ sender: 'Ben', time: 't', text: 'x'.repeat(LIMITS.text + 1) }] })).toBe(false);
  expect(conforms(CHAT_SCHEMA, { requester: 'Ana', messages: [{ sender: 'Ben', text: 'hi' }] })).toBe(false);
  expect(conforms(CHAT_SCHEMA, { requester: 'Ana', messages: 'none' })).toBe(false);
  expect(conforms(COMPOSE_REQUEST_SCHEMA, { draft: 'hi', tone: 'formal' })).toBe(true);
  expect(conforms(COMPOSE_REQUEST_SCHEMA, { draft: 'hi', tone: 'formal', lastMessage: 'x' })).toBe(true);
  expect(conforms(COMPOSE_REQUEST_SCHEMA, { draft: 'hi', tone: 'angry' })).toBe(false);
  expect(conforms(COMPOSE_REQUEST_SCHEMA, { draft: '   ', tone: 'formal' })).toBe(false);
  expect(conforms(COMPOSE_REQUEST_SCHEMA, { draft: 'hi', tone: 'formal', lastMessage: 7 })).toBe(false);
});

test('answers: the shapes ppx --json prints', () => {
  const summary = { summary: 's', topics: ['picnic'], actionItems: [{ owner: 'Ben', text: 'I will' }], decisions: [], questions: [{ asker: 'Cai', text: '?' }] };
  expect(conforms(SUMMARIZE_RESULT_SCHEMA, summary)).toBe(true);
  expect(conforms(SUMMARIZE_RESULT_SCHEMA, { ...summary, actionItems: [{ owner: 'Ben' }] })).toBe(false);
  expect(conforms(SUMMARIZE_RESULT_SCHEMA, { ...summary, questions: undefined })).toBe(false);
  expect(conforms(COMPOSE_RESULT_SCHEMA, { text: 'Hi!', suggestions: ['a', 'b', 'c'] })).toBe(true);
  expect(conforms(COMPOSE_RESULT_SCHEMA, { text: 'Hi!', suggestions: ['a', 'b', 'c', 'd'] })).toBe(false);
});
