// The SDK's errors: one class per kind, each with a stable code. A TamperAlert means a
// verification step failed: nothing was sent and there is no fallback. Unavailable
// means the service could not be reached or refused for capacity: try again later.

import { ProtocolError } from '../protocol';

/** The pipeline step that failed, in order. */
export const VERIFICATION_STEPS = ['log', 'bundle', 'key-policy', 'attestation', 'binding', 'issuer-key'] as const;
export type VerificationStep = (typeof VERIFICATION_STEPS)[number];

/** Verification failed: the service or something between showed what it must not. */
export class TamperAlert extends ProtocolError<string> {
  readonly area = 'tamper';
  constructor(
    readonly step: VerificationStep,
    code: string,
    /** What was seen, for a report: hashes, ids, sizes; never message content. */
    readonly evidence: Readonly<Record<string, string | number>>,
    message?: string,
  ) {
    super(code, message ?? `${step}: ${code}`);
  }
}

export const CLIENT_ERROR_CODES = ['NOT_OPTED_IN', 'CHAT_PRIVATE', 'NO_TOKENS', 'INVALID_INPUT', 'REFUSED'] as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

/** The caller asked for something the SDK will not do (and it sent nothing). */
export class ClientError extends ProtocolError<ClientErrorCode> {
  readonly area = 'client';
}

/** `optIn()` has not been called: no feature works and no network call is made. */
export class NotOptedIn extends ClientError {
  constructor() {
    super('NOT_OPTED_IN', 'the user has not opted in to cloud AI features');
  }
}

/** The chat has Advanced Chat Privacy on: no feature may use its messages. */
export class ChatPrivate extends ClientError {
  constructor() {
    super('CHAT_PRIVATE', 'Advanced Chat Privacy is on for this chat');
  }
}

export const UNAVAILABLE_CODES = ['NETWORK', 'SERVICE', 'RATE_LIMITED', 'NO_TOKENS'] as const;
export type UnavailableCode = (typeof UNAVAILABLE_CODES)[number];

/** The service could not answer now; nothing suspicious was seen. */
export class Unavailable extends ProtocolError<UnavailableCode> {
  readonly area = 'unavailable';
  constructor(
    code: UnavailableCode,
    /** Seconds the service asked to wait, when it said. */
    readonly retryAfter?: number,
    message?: string,
  ) {
    super(code, message);
  }
}
