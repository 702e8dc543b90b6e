import { ProtocolError } from '../../protocol';

export const KMS_CLIENT_ERROR_CODES = [
  'ACCESS_DENIED',
  'NOT_FOUND',
  'KEY_UNUSABLE',
  'INVALID_RECIPIENT',
  'INVALID_RESPONSE',
  'UNAVAILABLE',
  'ENDPOINT_FORBIDDEN',
] as const;
export type KmsClientErrorCode = (typeof KMS_CLIENT_ERROR_CODES)[number];

/** A KMS call the enclave could not complete, by what the enclave should do about it. */
export class KmsClientError extends ProtocolError<KmsClientErrorCode> {
  readonly area = 'kms';
}
