// Privacy Pass issuer keys for token type 0x0002 (RFC 9578 §6): RSA-2048, encoded as a
// SubjectPublicKeyInfo with id-RSASSA-PSS and parameters SHA-384, MGF1-SHA-384 and a
// 48-byte salt; token_key_id is SHA-256 of that encoding (checked on the RFC 9578 vectors).

import { createPublicKey, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { id_mgf1, id_RSASSA_PSS, id_sha384, RsaSaPssParams } from '@peculiar/asn1-rsa';
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

/**
 * The RFC 9578 token key of an RSA public key: SubjectPublicKeyInfo with id-RSASSA-PSS
 * and RSASSA-PSS-params (SHA-384, MGF1 with SHA-384, salt 48), the hash
 * AlgorithmIdentifiers without NULL parameters as in the RFC's vectors. (Node's own
 * `rsa-pss` export adds NULLs, which would give a different token_key_id.)
 */
export function encodeTokenKey(publicKey: KeyObject): Uint8Array {
  if (publicKey.type !== 'public' || (publicKey.asymmetricKeyType !== 'rsa' && publicKey.asymmetricKeyType !== 'rsa-pss')) {
    throw new FormatError('INVALID_FIELD', 'not an RSA public key');
  }
  const rsaPublicKey = publicKey.export({ format: 'der', type: 'pkcs1' });
  const hash = new AlgorithmIdentifier({ algorithm: id_sha384 });
  const params = new RsaSaPssParams({
    hashAlgorithm: hash,
    maskGenAlgorithm: new AlgorithmIdentifier({ algorithm: id_mgf1, parameters: AsnConvert.serialize(hash) }),
    saltLength: 48,
  });
  const spki = new SubjectPublicKeyInfo({
    algorithm: new AlgorithmIdentifier({ algorithm: id_RSASSA_PSS, parameters: AsnConvert.serialize(params) }),
    subjectPublicKey: new Uint8Array(rsaPublicKey).buffer,
  });
  const bytes = new Uint8Array(AsnConvert.serialize(spki));
  checkTokenKey(bytes);
  return bytes;
}
