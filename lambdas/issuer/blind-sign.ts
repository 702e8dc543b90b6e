// RSA blind signing (RFC 9474 §4.3 BlindSign) with node:crypto: s = m^d mod n is the
// raw RSA private operation (`privateDecrypt` with no padding), and the result is
// checked with the public operation before it leaves (§4.3 step 3; RFC 9474 §7.3: a
// faulty CRT signature would otherwise leak the key's factors).

import { constants, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';
import { equalBytes } from '../../protocol';

export type RawRsa = (privateKey: KeyObject, input: Uint8Array) => Uint8Array;

export const rawRsaPrivate: RawRsa = (privateKey, input) =>
  new Uint8Array(privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, input));

export class BlindSignError extends Error {
  constructor(readonly code: 'INVALID_BLINDED_MESSAGE' | 'SIGNING_FAULT') {
    super(code);
    this.name = 'BlindSignError';
  }
}

/**
 * Signs a blinded message of exactly the modulus length. INVALID_BLINDED_MESSAGE if it
 * is not an integer below the modulus; SIGNING_FAULT (nothing returned) if the
 * signature does not verify.
 */
export function blindSign(privateKey: KeyObject, publicKey: KeyObject, blindedMsg: Uint8Array, raw: RawRsa = rawRsaPrivate): Uint8Array {
  const modulusBytes = (publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
  if (blindedMsg.length !== modulusBytes) throw new BlindSignError('INVALID_BLINDED_MESSAGE');
  let signature: Uint8Array;
  try {
    signature = raw(privateKey, blindedMsg);
  } catch {
    // OpenSSL refuses inputs not below the modulus.
    throw new BlindSignError('INVALID_BLINDED_MESSAGE');
  }
  let check: Uint8Array;
  try {
    check = new Uint8Array(publicEncrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, signature));
  } catch {
    throw new BlindSignError('SIGNING_FAULT');
  }
  if (signature.length !== modulusBytes || !equalBytes(check, blindedMsg)) throw new BlindSignError('SIGNING_FAULT');
  return signature;
}
