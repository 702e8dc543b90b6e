// The encrypted model file of a release: AES-256-GCM under the release's model data
// key (which KMS releases only to an attested enclave), laid out as a version byte,
// a 12-byte IV, then the ciphertext and tag. The enclave opens it only in memory and
// hashes the plaintext against the SHA-256 compiled into its bundle before parsing a
// byte of it.

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { equalBytes, fromHex } from '../bytes';
import { ProtocolError } from '../errors';

export const MODEL_ERROR_CODES = ['MALFORMED', 'DECRYPT_FAILED', 'HASH_MISMATCH'] as const;
export class ModelError extends ProtocolError<(typeof MODEL_ERROR_CODES)[number]> {
  readonly area = 'model';
}

const VERSION = 0x01;
const AAD = new TextEncoder().encode('private-processing model v1');

export function sealModel(dataKey: Uint8Array, model: Uint8Array): Uint8Array {
  if (dataKey.length !== 32) throw new ModelError('MALFORMED', 'the data key is 256 bits');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv).setAAD(AAD);
  return new Uint8Array(Buffer.concat([Buffer.of(VERSION), iv, cipher.update(model), cipher.final(), cipher.getAuthTag()]));
}

/** Decrypts, then refuses unless SHA-256 of the plaintext is `expectedSha256Hex`. */
export function openModel(dataKey: Uint8Array, sealed: Uint8Array, expectedSha256Hex: string): Uint8Array {
  if (sealed.length < 1 + 12 + 16 || sealed[0] !== VERSION) throw new ModelError('MALFORMED');
  let model: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, sealed.subarray(1, 13)).setAAD(AAD);
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    model = Buffer.concat([decipher.update(sealed.subarray(13, sealed.length - 16)), decipher.final()]);
  } catch {
    throw new ModelError('DECRYPT_FAILED');
  }
  const digest = new Uint8Array(createHash('sha256').update(model).digest());
  if (!equalBytes(digest, fromHex(expectedSha256Hex))) {
    model.fill(0);
    throw new ModelError('HASH_MISMATCH');
  }
  return new Uint8Array(model);
}
