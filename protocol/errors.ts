// One typed error class per area, each with a closed set of stable codes.
// Messages are fixed descriptions chosen by us: they never contain input bytes,
// so an error can be logged or returned without echoing request content.

export abstract class ProtocolError<Code extends string = string> extends Error {
  abstract readonly area: string;
  constructor(
    readonly code: Code,
    message?: string,
  ) {
    super(message ?? code);
  }
  override get name(): string {
    return this.constructor.name;
  }
}

export const HPKE_ERROR_CODES = [
  'UNSUPPORTED_SUITE',
  'INVALID_KEY',
  'DECAP_FAILED',
  'OPEN_FAILED',
  'MESSAGE_LIMIT',
] as const;
export type HpkeErrorCode = (typeof HPKE_ERROR_CODES)[number];
export class HpkeError extends ProtocolError<HpkeErrorCode> {
  readonly area = 'hpke';
}

export const OHTTP_ERROR_CODES = [
  'TRUNCATED',
  'MALFORMED',
  'KEY_ID_UNKNOWN',
  'UNSUPPORTED_SUITE',
  'INVALID_KEY',
  'DECRYPT_FAILED',
  'BODY_TOO_LARGE',
  'CONTEXT_USED',
] as const;
export type OhttpErrorCode = (typeof OHTTP_ERROR_CODES)[number];
export class OhttpError extends ProtocolError<OhttpErrorCode> {
  readonly area = 'ohttp';
}

export const BHTTP_ERROR_CODES = [
  'TRUNCATED',
  'MALFORMED',
  'UNKNOWN_FRAMING',
  'WRONG_MESSAGE_TYPE',
  'INVALID_FIELD',
  'INVALID_STATUS',
  'NONZERO_PADDING',
  'BODY_TOO_LARGE',
] as const;
export type BhttpErrorCode = (typeof BHTTP_ERROR_CODES)[number];
export class BhttpError extends ProtocolError<BhttpErrorCode> {
  readonly area = 'bhttp';
}

export const MERKLE_ERROR_CODES = [
  'INVALID_ARGUMENT',
  'INDEX_OUT_OF_RANGE',
  'PROOF_INVALID',
] as const;
export type MerkleErrorCode = (typeof MERKLE_ERROR_CODES)[number];
export class MerkleError extends ProtocolError<MerkleErrorCode> {
  readonly area = 'merkle';
}

export const NOTE_ERROR_CODES = [
  'MALFORMED',
  'KEY_INVALID',
  'SIGNATURE_INVALID',
  'NO_TRUSTED_SIGNATURE',
  'CHECKPOINT_MALFORMED',
  'ORIGIN_MISMATCH',
] as const;
export type NoteErrorCode = (typeof NOTE_ERROR_CODES)[number];
export class NoteError extends ProtocolError<NoteErrorCode> {
  readonly area = 'note';
}

export const FORMAT_ERROR_CODES = [
  'TRUNCATED',
  'MALFORMED',
  'NOT_DETERMINISTIC',
  'UNKNOWN_FIELD',
  'DUPLICATE_FIELD',
  'MISSING_FIELD',
  'INVALID_FIELD',
  'UNSUPPORTED_VERSION',
] as const;
export type FormatErrorCode = (typeof FORMAT_ERROR_CODES)[number];
/** A shared format (user_data, key bundle, log entry, release manifest) that does not decode. */
export class FormatError extends ProtocolError<FormatErrorCode> {
  readonly area = 'format';
}

export const ATTESTATION_ERROR_CODES = [
  'POLICY_REQUIRED',
  'MALFORMED',
  'CHAIN_UNTRUSTED',
  'CERT_EXPIRED',
  'SIGNATURE_INVALID',
  'DEBUG_ENCLAVE',
  'PCR_NOT_RELEASED',
  'STALE',
  'NONCE_MISMATCH',
  'KEY_NOT_BOUND',
] as const;
export type AttestationErrorCode = (typeof ATTESTATION_ERROR_CODES)[number];
export class AttestationError extends ProtocolError<AttestationErrorCode> {
  readonly area = 'attestation';
}

export const KEY_POLICY_ERROR_CODES = [
  'POLICY_MALFORMED',
  'DUPLICATE_KEY',
  'FORBIDDEN_ELEMENT',
  'FORBIDDEN_CONDITION',
  'FORBIDDEN_PRINCIPAL',
  'FORBIDDEN_ACTION',
  'POLICY_MISMATCH',
  'WRONG_KEY_SPEC',
  'WRONG_KEY_USAGE',
  'WRONG_ORIGIN',
  'CUSTOM_KEY_STORE',
  'MULTI_REGION',
  'KEY_NOT_ENABLED',
  'GRANTS_PRESENT',
] as const;
export type KeyPolicyErrorCode = (typeof KEY_POLICY_ERROR_CODES)[number];
/** A KMS key whose policy, metadata or grants are not exactly what a release requires. */
export class KeyPolicyError extends ProtocolError<KeyPolicyErrorCode> {
  readonly area = 'key-policy';
}
