// Session keys as clients see them: a KMS ECC_NIST_P256 key's public key (DER SPKI,
// as KMS GetPublicKey returns it) turned into the one RFC 9458 key configuration
// clients encrypt to: DHKEM(P-256, HKDF-SHA256) with the single suite
// HKDF-SHA256 / AES-128-GCM, key id = first byte of SHA-256 of the SPKI (DESIGN.md §2).

import { createHash, createPublicKey } from 'node:crypto';
import { concat, equalBytes } from '../bytes';
import { FormatError } from '../errors';
import { AEAD_AES_128_GCM, KDF_HKDF_SHA256, KEM_P256_HKDF_SHA256 } from '../hpke';
import { decodeKeyConfig, encodeKeyConfig, type KeyConfig, type SymmetricAlgorithm } from '../ohttp';

/** The one suite list of every session key configuration. */
export const SESSION_KEY_SUITES: readonly SymmetricAlgorithm[] = Object.freeze([{ kdfId: KDF_HKDF_SHA256, aeadId: AEAD_AES_128_GCM }]);

/** DER prefix of a P-256 SubjectPublicKeyInfo with an uncompressed point (RFC 5480). */
const P256_SPKI_PREFIX = Uint8Array.from(Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'));

export function p256SpkiFromRaw(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 65 || publicKey[0] !== 0x04) throw new FormatError('INVALID_FIELD', 'not an uncompressed P-256 point');
  return concat(P256_SPKI_PREFIX, publicKey);
}

/** The uncompressed point of a P-256 SPKI; anything else (another curve, compressed, off the curve) is refused. */
export function p256RawFromSpki(spki: Uint8Array): Uint8Array {
  if (spki.length !== P256_SPKI_PREFIX.length + 65 || !equalBytes(spki.subarray(0, P256_SPKI_PREFIX.length), P256_SPKI_PREFIX)) {
    throw new FormatError('INVALID_FIELD', 'not a P-256 SPKI');
  }
  try {
    createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    throw new FormatError('INVALID_FIELD', 'the point is not on the curve');
  }
  return spki.slice(P256_SPKI_PREFIX.length);
}

export function sessionKeyId(spki: Uint8Array): number {
  return createHash('sha256').update(spki).digest()[0]!;
}

/** The key configuration of a session key, from its SPKI. */
export function sessionKeyConfig(spki: Uint8Array): KeyConfig {
  return {
    keyId: sessionKeyId(spki),
    kemId: KEM_P256_HKDF_SHA256,
    publicKey: p256RawFromSpki(spki),
    symmetricAlgorithms: SESSION_KEY_SUITES,
  };
}

/** Encoded key configuration bytes of a session key. */
export function sessionKeyConfigBytes(spki: Uint8Array): Uint8Array {
  return encodeKeyConfig(sessionKeyConfig(spki));
}

/**
 * Checks that key configuration bytes are exactly what `sessionKeyConfigBytes` gives
 * for their own public key (P-256, the one suite, the derived key id).
 */
export function assertSessionKeyConfig(bytes: Uint8Array): KeyConfig {
  let config: KeyConfig;
  try {
    config = decodeKeyConfig(bytes);
  } catch {
    throw new FormatError('INVALID_FIELD', 'not a key configuration');
  }
  if (config.kemId !== KEM_P256_HKDF_SHA256) throw new FormatError('INVALID_FIELD', 'a session key is P-256');
  const expected = sessionKeyConfigBytes(p256SpkiFromRaw(config.publicKey));
  if (!equalBytes(expected, bytes)) throw new FormatError('INVALID_FIELD', 'not the canonical session key configuration');
  return config;
}
