// Privacy Pass issuer keys for token type 0x0002 (RFC 9578 §6): RSA-2048, encoded as a
// SubjectPublicKeyInfo with id-RSASSA-PSS and parameters SHA-384, MGF1-SHA-384 and a
// 48-byte salt; token_key_id is SHA-256 of that encoding (checked on the RFC 9578 vectors).

import { createPublicKey } from 'node:crypto';
import { FormatError } from '../errors';
import { tokenKeyIdOf } from './log-entries';

/** Throws INVALID_FIELD unless `tokenKey` is an RFC 9578 token key; returns its token_key_id. */
export function checkTokenKey(tokenKey: Uint8Array): Uint8Array {
  let details;
  let type;
  try {
    const key = createPublicKey({ key: Buffer.from(tokenKey), format: 'der', type: 'spki' });
    type = key.asymmetricKeyType;
    details = key.asymmetricKeyDetails;
  } catch {
    throw new FormatError('INVALID_FIELD', 'the token key is not a public key');
  }
  const ok =
    type === 'rsa-pss' &&
    details?.modulusLength === 2048 &&
    details.publicExponent === 65537n &&
    details.hashAlgorithm === 'sha384' &&
    details.mgf1HashAlgorithm === 'sha384' &&
    details.saltLength === 48;
  if (!ok) throw new FormatError('INVALID_FIELD', 'the token key is not RSA-2048 PSS with SHA-384 and a 48-byte salt');
  return tokenKeyIdOf(tokenKey);
}
