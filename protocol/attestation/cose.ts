// COSE_Sign1 (RFC 9052 §4.2) as AWS Nitro attestation documents use it:
// [protected: bstr {1: -35 (ES384)}, unprotected: {}, payload: bstr, signature: bstr(96)],
// untagged or with tag 18. The signature is checked over the payload bytes as
// received, inside a Sig_structure we encode ourselves (RFC 9052 §4.4).

import { verify, type KeyObject } from 'node:crypto';
import { Tag } from 'cbor-x';
import { equalBytes } from '../bytes';
import { cborDecode, cborEncode } from '../cbor';
import { AttestationError } from '../errors';

export const COSE_SIGN1_TAG = 18;
/** The only protected header AWS emits: {1 (alg): -35 (ES384)}. */
export const ES384_PROTECTED_HEADER = Uint8Array.of(0xa1, 0x01, 0x38, 0x22);
const ES384_SIGNATURE_LENGTH = 96;


export interface CoseSign1 {
  readonly protectedHeader: Uint8Array;
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
  readonly tagged: boolean;
}

function malformed(message: string): never {
  throw new AttestationError('MALFORMED', message);
}

export function decodeCbor(bytes: Uint8Array): unknown {
  try {
    return cborDecode(bytes);
  } catch {
    return malformed('not well-formed CBOR');
  }
}

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;

export function parseCoseSign1(bytes: Uint8Array): CoseSign1 {
  let value = decodeCbor(bytes);
  let tagged = false;
  if (value instanceof Tag) {
    if (value.tag !== COSE_SIGN1_TAG) malformed('unexpected CBOR tag');
    value = value.value;
    tagged = true;
  }
  if (!Array.isArray(value) || value.length !== 4) malformed('not a COSE_Sign1 array');
  const [protectedHeader, unprotected, payload, signature] = value as unknown[];
  if (!isBytes(protectedHeader) || !isBytes(payload) || !isBytes(signature)) malformed('COSE_Sign1 fields are not byte strings');
  if (!(unprotected instanceof Map) || unprotected.size !== 0) malformed('unexpected unprotected header');
  if (!equalBytes(protectedHeader, ES384_PROTECTED_HEADER)) malformed('protected header is not ES384');
  if (signature.length !== ES384_SIGNATURE_LENGTH) malformed('ES384 signature must be 96 bytes');
  return { protectedHeader, payload, signature, tagged };
}

/** Sig_structure = ["Signature1", protected, external_aad = h'', payload]. */
export function sigStructure(protectedHeader: Uint8Array, payload: Uint8Array): Uint8Array {
  return cborEncode(['Signature1', protectedHeader, new Uint8Array(0), payload]);
}

export function verifyCoseSignature(cose: CoseSign1, publicKey: KeyObject): boolean {
  try {
    return verify('sha384', sigStructure(cose.protectedHeader, cose.payload), { key: publicKey, dsaEncoding: 'ieee-p1363' }, cose.signature);
  } catch {
    return false;
  }
}

/** Encodes a COSE_Sign1 (the emulator's side). */
export function encodeCoseSign1(payload: Uint8Array, signature: Uint8Array, options: { tagged?: boolean } = {}): Uint8Array {
  const body = [ES384_PROTECTED_HEADER, new Map(), payload, signature];
  return cborEncode(options.tagged ? new Tag(body, COSE_SIGN1_TAG) : body);
}
