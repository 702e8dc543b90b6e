// KMS `CiphertextForRecipient`: CMS EnvelopedData (RFC 5652) that KMS returns,
// instead of plaintext, to a caller that presents an attestation document as its
// `Recipient`. Layout observed in every genuine response (test/fixtures/kms/README.md):
// ContentInfo → EnvelopedData v2, BER with indefinite lengths on the outer layers,
// one KeyTransRecipientInfo v2 identified by subjectKeyIdentifier = SHA-256 of the
// recipient's SPKI, RSAES-OAEP with SHA-256 and MGF1-SHA-256, content in
// AES-256-CBC with the encrypted content as a constructed or a primitive [0].
//
// Parsing: @peculiar/asn1-cms (reads that BER). Building (the KMS emulator): asn1js,
// which writes the indefinite lengths. Cryptography: node:crypto.

import 'reflect-metadata';
import { constants, createCipheriv, createDecipheriv, createHash, createPublicKey, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { ContentInfo, EnvelopedData, KeyTransRecipientInfo, id_envelopedData, id_data } from '@peculiar/asn1-cms';
import { RsaEsOaepParams, id_RSAES_OAEP, id_mgf1, id_sha256 } from '@peculiar/asn1-rsa';
import * as asn1js from 'asn1js';
import { equalBytes } from './bytes';
import { ProtocolError } from './errors';

export const CMS_ERROR_CODES = ['MALFORMED', 'UNSUPPORTED_ALGORITHM', 'RECIPIENT_MISMATCH', 'DECRYPT_FAILED'] as const;
export type CmsErrorCode = (typeof CMS_ERROR_CODES)[number];
export class CmsError extends ProtocolError<CmsErrorCode> {
  readonly area = 'cms';
}

/** aes256-CBC (NIST). */
export const ID_AES256_CBC = '2.16.840.1.101.3.4.1.42';
const MAX_CMS_LENGTH = 64 * 1024;

function fail(code: CmsErrorCode, message?: string): never {
  throw new CmsError(code, message);
}

/** The subject key identifier KMS uses for a recipient: SHA-256 of its SPKI DER. */
export function recipientKeyId(spki: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(spki).digest());
}

function checkOaepParams(params: ArrayBuffer | undefined): void {
  // RSAES-OAEP-params: hash SHA-256, MGF1 with SHA-256, no label (NULL parameters allowed or absent).
  if (!params) fail('UNSUPPORTED_ALGORITHM', 'OAEP parameters missing (SHA-1 defaults are not accepted)');
  let oaep: RsaEsOaepParams;
  try {
    oaep = AsnConvert.parse(params, RsaEsOaepParams);
  } catch {
    return fail('MALFORMED', 'OAEP parameters do not parse');
  }
  if (oaep.hashAlgorithm.algorithm !== id_sha256) fail('UNSUPPORTED_ALGORITHM', 'OAEP hash is not SHA-256');
  if (oaep.maskGenAlgorithm.algorithm !== id_mgf1) fail('UNSUPPORTED_ALGORITHM', 'OAEP mask generation is not MGF1');
  const mgfHash = oaep.maskGenAlgorithm.parameters;
  if (!mgfHash) fail('UNSUPPORTED_ALGORITHM', 'MGF1 hash missing');
  let mgfHashOid: string;
  try {
    mgfHashOid = (asn1js.fromBER(mgfHash).result as asn1js.Sequence).valueBlock.value[0]!.valueBlock.toString();
  } catch {
    return fail('MALFORMED', 'MGF1 parameters do not parse');
  }
  if (mgfHashOid !== id_sha256) fail('UNSUPPORTED_ALGORITHM', 'MGF1 hash is not SHA-256');
  // pSourceAlgorithm ([2]) is absent in KMS's responses: the DEFAULT, an empty label.
  // (The library fills in its own default when absent, so look at the encoding itself.)
  const raw = asn1js.fromBER(params).result as asn1js.Sequence;
  const pSource = raw.valueBlock?.value?.find((v) => v.idBlock.tagClass === 3 && v.idBlock.tagNumber === 2);
  if (pSource) {
    const label = oaep.pSourceAlgorithm.parameters;
    let labelBytes = 1;
    try {
      labelBytes = label ? AsnConvert.parse(label, OctetString).buffer.byteLength : 0;
    } catch {
      fail('MALFORMED', 'OAEP label does not parse');
    }
    if (labelBytes !== 0) fail('UNSUPPORTED_ALGORITHM', 'a non-empty OAEP label');
  }
}

/** The parts of a CiphertextForRecipient, after every structural and algorithm check. */
export interface CiphertextForRecipientParts {
  /** The recipient's subject key identifier (SHA-256 of its SPKI for KMS). */
  readonly recipientKeyId: Uint8Array;
  readonly encryptedKey: Uint8Array;
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
}

export function parseCiphertextForRecipient(ber: Uint8Array): CiphertextForRecipientParts {
  if (ber.length === 0 || ber.length > MAX_CMS_LENGTH) fail('MALFORMED', 'empty or oversized');
  let enveloped: EnvelopedData;
  try {
    // Pass the bytes themselves: a pooled Buffer's .buffer has an offset.
    const info = AsnConvert.parse(Uint8Array.from(ber), ContentInfo);
    if (info.contentType !== id_envelopedData) fail('MALFORMED', 'not enveloped data');
    enveloped = AsnConvert.parse(info.content, EnvelopedData);
  } catch (err) {
    if (err instanceof CmsError) throw err;
    return fail('MALFORMED', 'does not parse as CMS');
  }
  if (enveloped.version !== 2 || enveloped.originatorInfo || enveloped.unprotectedAttrs) fail('MALFORMED', 'unexpected EnvelopedData form');
  if (enveloped.recipientInfos.length !== 1) fail('MALFORMED', 'exactly one recipient expected');
  const recipient = enveloped.recipientInfos[0]!.ktri;
  if (!(recipient instanceof KeyTransRecipientInfo) || recipient.version !== 2) fail('MALFORMED', 'not a key-transport recipient v2');
  const ski = recipient.rid.subjectKeyIdentifier;
  if (!ski) fail('MALFORMED', 'recipient not identified by key identifier');
  if (recipient.keyEncryptionAlgorithm.algorithm !== id_RSAES_OAEP) fail('UNSUPPORTED_ALGORITHM', 'key encryption is not RSAES-OAEP');
  checkOaepParams(recipient.keyEncryptionAlgorithm.parameters ?? undefined);

  const content = enveloped.encryptedContentInfo;
  if (content.contentType !== id_data) fail('MALFORMED', 'content is not id-data');
  if (content.contentEncryptionAlgorithm.algorithm !== ID_AES256_CBC) fail('UNSUPPORTED_ALGORITHM', 'content encryption is not AES-256-CBC');
  let iv: Uint8Array;
  try {
    iv = new Uint8Array(AsnConvert.parse(content.contentEncryptionAlgorithm.parameters!, OctetString).buffer);
  } catch {
    return fail('MALFORMED', 'AES-CBC parameters do not parse');
  }
  if (iv.length !== 16) fail('MALFORMED', 'AES-CBC IV must be 16 bytes');
  const encrypted = content.encryptedContent;
  const chunks = encrypted?.value ? [encrypted.value] : (encrypted?.constructedValue ?? []);
  const ciphertext = new Uint8Array(Buffer.concat(chunks.map((c) => new Uint8Array(c.buffer))));
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) fail('MALFORMED', 'AES-CBC ciphertext length');
  return { recipientKeyId: new Uint8Array(ski.buffer), encryptedKey: new Uint8Array(recipient.encryptedKey.buffer), iv, ciphertext };
}

/**
 * Opens a CiphertextForRecipient with the private key whose SPKI was in the
 * attestation document. Refuses anything but KMS's algorithms, and a recipient
 * identifier other than SHA-256 of `ourSpki` (`RECIPIENT_MISMATCH`): KMS accepts a
 * document carrying any RSA key, so this check is the enclave's.
 */
export function openCiphertextForRecipient(ber: Uint8Array, privateKey: KeyObject, ourSpki: Uint8Array): Uint8Array {
  const parts = parseCiphertextForRecipient(ber);
  if (!equalBytes(parts.recipientKeyId, recipientKeyId(ourSpki))) fail('RECIPIENT_MISMATCH');
  let cek: Buffer;
  try {
    cek = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, parts.encryptedKey);
  } catch {
    return fail('DECRYPT_FAILED', 'the content key does not decrypt');
  }
  try {
    if (cek.length !== 32) fail('DECRYPT_FAILED', 'the content key is not 256 bits');
    const decipher = createDecipheriv('aes-256-cbc', cek, parts.iv);
    return new Uint8Array(Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]));
  } catch (err) {
    if (err instanceof CmsError) throw err;
    return fail('DECRYPT_FAILED', 'the content does not decrypt');
  } finally {
    cek.fill(0);
  }
}

// ---------------------------------------------------------------------------
// Building (the KMS emulator's side), in KMS's exact layout.

const oid = (value: string) => new asn1js.ObjectIdentifier({ value });
const octets = (bytes: Uint8Array) => new asn1js.OctetString({ valueHex: bytes });
const NULL = () => new asn1js.Null();
const indefinite = (value: asn1js.AsnType[]) => new asn1js.Sequence({ lenBlock: { isIndefiniteForm: true }, value } as never);
const contextConstructed = (tag: number, value: asn1js.AsnType[], isIndefiniteForm: boolean) =>
  new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: tag }, lenBlock: { isIndefiniteForm }, value } as never);

export interface SealOptions {
  /** Write the encrypted content as primitive [0] (KMS emits both forms). Default: constructed. */
  readonly primitiveContent?: boolean;
}

/** Encrypts `plaintext` to the RSA-2048 key `recipientSpki` as KMS does. */
export function sealCiphertextForRecipient(plaintext: Uint8Array, recipientSpki: Uint8Array, options: SealOptions = {}): Uint8Array {
  const publicKey = createPublicKey({ key: Buffer.from(recipientSpki), format: 'der', type: 'spki' });
  const cek = randomBytes(32);
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', cek, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const encryptedKey = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
  cek.fill(0);

  const sha256Alg = () => new asn1js.Sequence({ value: [oid(id_sha256), NULL()] });
  const oaepParams = new asn1js.Sequence({
    value: [
      contextConstructed(0, [sha256Alg()], false),
      contextConstructed(1, [new asn1js.Sequence({ value: [oid(id_mgf1), sha256Alg()] })], false),
    ],
  });
  const recipientInfo = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 2 }),
      new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: recipientKeyId(recipientSpki) } as never),
      new asn1js.Sequence({ value: [oid(id_RSAES_OAEP), oaepParams] }),
      octets(new Uint8Array(encryptedKey)),
    ],
  });
  const encryptedContent = options.primitiveContent
    ? new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: new Uint8Array(ciphertext) } as never)
    : contextConstructed(0, [octets(new Uint8Array(ciphertext))], true);
  const envelopedData = indefinite([
    new asn1js.Integer({ value: 2 }),
    new asn1js.Set({ value: [recipientInfo] }),
    indefinite([oid(id_data), new asn1js.Sequence({ value: [oid(ID_AES256_CBC), octets(new Uint8Array(iv))] }), encryptedContent]),
  ]);
  const contentInfo = indefinite([oid(id_envelopedData), contextConstructed(0, [envelopedData], true)]);
  return new Uint8Array(contentInfo.toBER(false));
}
