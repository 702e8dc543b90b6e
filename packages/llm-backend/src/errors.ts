// Typed errors of the LLM backend, with stable codes. Messages are fixed text: they
// never carry model bytes, prompts or generated text.

import { ProtocolError } from '../../../protocol/errors';

export { ModelError, MODEL_ERROR_CODES } from '../../../protocol/formats/model';

export const LLM_ERROR_CODES = [
  /** The expected SHA-256 is not 64 lower-case hex digits. */
  'BAD_EXPECTED_HASH',
  /** The hash matched, but the bytes are not a GGUF file (checked only after the hash). */
  'NOT_GGUF',
  /** The model file could not be placed in memory for the loader. */
  'MODEL_FILE_FAILED',
  /** llama.cpp refused the model. */
  'LOAD_FAILED',
  'GENERATION_FAILED',
  /** The backend was closed. */
  'CLOSED',
] as const;
export type LlmErrorCode = (typeof LLM_ERROR_CODES)[number];

export class LlmBackendError extends ProtocolError<LlmErrorCode> {
  readonly area = 'llm-backend';
}
