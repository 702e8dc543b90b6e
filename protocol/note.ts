// C2SP signed-note (https://c2sp.org/signed-note): notes, Ed25519 note keys, and
// signing and verification. Ed25519 is node:crypto's. Checkpoints (./checkpoint)
// are signed notes; witness cosignatures (a further key type) build on this.

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { concat, equalBytes, toHex, utf8 } from './bytes';
import { NoteError } from './errors';

/** Signature algorithm byte of an Ed25519 note key (signed-note §Signatures). */
export const NOTE_KEY_TYPE_ED25519 = 0x01;
/** Signature algorithm byte of an Ed25519 cosignature/v1 key (C2SP tlog-cosignature). */
export const NOTE_KEY_TYPE_COSIGNATURE_V1 = 0x04;

/** At most this many signature lines are read; more is `MALFORMED` (as Go's sumdb/note). */
export const MAX_NOTE_SIGNATURES = 100;

const EM_DASH_PREFIX = '\u2014 ';
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** A signature line of a note: who claims to have signed, and the raw bytes. */
export interface NoteSignature {
  readonly name: string;
  /** The 4-byte key ID that prefixes the signature. */
  readonly keyId: Uint8Array;
  /** The signature without its key ID. */
  readonly signature: Uint8Array;
}

export interface Note {
  /** The signed text, ending in a newline. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: Uint8Array;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

export interface NoteSigner {
  readonly name: string;
  readonly keyId: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

function fail(code: NoteError['code'], message?: string): never {
  throw new NoteError(code, message);
}

/** Key names: non-empty, no whitespace, no '+' (signed-note §Keys). */
function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name) && isPrintable(name);
}

function isPrintable(text: string): boolean {
  // No ASCII control characters (newline is handled by the callers that allow it).
  return !/[\u0000-\u001f\u007f]/.test(text);
}

/** Strict standard base64 with padding: decoding and re-encoding must give the same text. */
export function decodeBase64Strict(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? new Uint8Array(bytes) : undefined;
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/** First 4 bytes of SHA-256(name || "\n" || type || public key). */
export function noteKeyId(name: string, typeAndKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(utf8(`${name}\n`)).update(typeAndKey).digest().subarray(0, 4));
}

function ed25519Public(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** Splits `<name>+<hex id>+<base64>`; the base64 itself may contain '+'. */
function splitKey(key: string): [string, string, string] {
  const first = key.indexOf('+');
  const second = first < 0 ? -1 : key.indexOf('+', first + 1);
  if (first < 0 || second < 0) fail('KEY_INVALID', 'key has too few fields');
  return [key.slice(0, first), key.slice(first + 1, second), key.slice(second + 1)];
}

function checkedKeyParts(name: string, idHex: string, material: string, type: number = NOTE_KEY_TYPE_ED25519) {
  if (!isValidKeyName(name)) fail('KEY_INVALID', 'invalid key name');
  if (!/^[0-9a-f]{8}$/.test(idHex)) fail('KEY_INVALID', 'invalid key id');
  const typeAndKey = decodeBase64Strict(material) ?? fail('KEY_INVALID', 'invalid key encoding');
  if (typeAndKey[0] !== type || typeAndKey.length !== 33) fail('KEY_INVALID', 'not an Ed25519 key of this type');
  return { name, idHex, typeAndKey, raw: typeAndKey.subarray(1) };
}

/** The name, checked key id and Ed25519 public key of a verifier key of the given type. */
function publicKeyOfVerifierKey(vkey: string, type = NOTE_KEY_TYPE_ED25519): { name: string; keyId: Uint8Array; publicKey: KeyObject } {
  const { name, idHex, typeAndKey, raw } = checkedKeyParts(...splitKey(vkey), type);
  const keyId = noteKeyId(name, typeAndKey);
  if (toHex(keyId) !== idHex) fail('KEY_INVALID', 'key id does not match the key');
  try {
    return { name, keyId, publicKey: ed25519Public(raw) };
  } catch {
    fail('KEY_INVALID', 'invalid Ed25519 public key');
  }
}

/** Parses a verifier key `<name>+<hex id>+<base64(0x01 || Ed25519 public key)>`. */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const { name, keyId, publicKey } = publicKeyOfVerifierKey(vkey);
  return {
    name,
    keyId,
    verify: (message, signature) => signature.length === 64 && verify(null, message, publicKey, signature),
  };
}

/** Parses a signer key `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || Ed25519 seed)>`. */
export function parseSignerKey(skey: string): NoteSigner {
  const prefix = 'PRIVATE+KEY+';
  if (!skey.startsWith(prefix)) fail('KEY_INVALID', 'not a signer key');
  const { name, idHex, raw } = checkedKeyParts(...splitKey(skey.slice(prefix.length)));
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
  const publicRaw = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX.length);
  const keyId = noteKeyId(name, concat(Uint8Array.of(NOTE_KEY_TYPE_ED25519), publicRaw));
  if (toHex(keyId) !== idHex) fail('KEY_INVALID', 'key id does not match the key');
  return { name, keyId, sign: (message) => new Uint8Array(sign(null, message, privateKey)) };
}

/** A new Ed25519 note key pair, as `PRIVATE+KEY+…` and verifier key strings. */
export function generateNoteKey(name: string): { signerKey: string; verifierKey: string } {
  if (!isValidKeyName(name)) fail('KEY_INVALID', 'invalid key name');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(ED25519_PKCS8_PREFIX.length);
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX.length);
  const typed = (raw: Uint8Array) => concat(Uint8Array.of(NOTE_KEY_TYPE_ED25519), raw);
  const idHex = toHex(noteKeyId(name, typed(pub)));
  return {
    signerKey: `PRIVATE+KEY+${name}+${idHex}+${toBase64(typed(seed))}`,
    verifierKey: `${name}+${idHex}+${toBase64(typed(pub))}`,
  };
}

// ---------------------------------------------------------------------------
// Cosignatures (C2SP tlog-cosignature, cosignature/v1, Ed25519): a witness signs
// "cosignature/v1\ntime <t>\n" followed by the checkpoint text; the signature
// bytes are the 8-byte big-endian timestamp, then the Ed25519 signature.

const COSIGNATURE_HEADER = 'cosignature/v1\n';

function cosignedMessage(text: string, timestamp: bigint): Uint8Array {
  return utf8(`${COSIGNATURE_HEADER}time ${timestamp.toString()}\n${text}`);
}

/** The timestamp (Unix seconds) of a cosignature's signature bytes, or undefined if they are not 72 bytes. */
export function cosignatureTimestamp(signature: Uint8Array): number | undefined {
  if (signature.length !== 72) return undefined;
  const t = Buffer.from(signature).readBigUInt64BE(0);
  return t > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(t);
}

/** Parses a cosigner's verifier key `<name>+<hex id>+<base64(0x04 || Ed25519 public key)>`. */
export function parseCosignerKey(vkey: string): NoteVerifier {
  const { name, keyId, publicKey } = publicKeyOfVerifierKey(vkey, NOTE_KEY_TYPE_COSIGNATURE_V1);
  return {
    name,
    keyId,
    verify: (message, signature) => {
      const timestamp = cosignatureTimestamp(signature);
      if (timestamp === undefined) return false;
      const text = new TextDecoder().decode(message);
      return verify(null, cosignedMessage(text, BigInt(timestamp)), publicKey, signature.subarray(8));
    },
  };
}

export interface Cosigner {
  readonly name: string;
  readonly keyId: Uint8Array;
  /** The cosignature over a checkpoint's note text at `timestamp` (Unix seconds). */
  cosign(text: string, timestamp: number): NoteSignature;
}

/** Parses a cosigner's signer key `PRIVATE+KEY+<name>+<hex id>+<base64(0x04 || seed)>`. */
export function parseCosignerSignerKey(skey: string): Cosigner {
  const prefix = 'PRIVATE+KEY+';
  if (!skey.startsWith(prefix)) fail('KEY_INVALID', 'not a signer key');
  const { name, idHex, raw } = checkedKeyParts(...splitKey(skey.slice(prefix.length)), NOTE_KEY_TYPE_COSIGNATURE_V1);
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
  const publicRaw = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX.length);
  const keyId = noteKeyId(name, concat(Uint8Array.of(NOTE_KEY_TYPE_COSIGNATURE_V1), publicRaw));
  if (toHex(keyId) !== idHex) fail('KEY_INVALID', 'key id does not match the key');
  return {
    name,
    keyId,
    cosign(text, timestamp) {
      checkText(text);
      if (!Number.isSafeInteger(timestamp) || timestamp < 0) fail('MALFORMED', 'invalid timestamp');
      const t = Buffer.alloc(8);
      t.writeBigUInt64BE(BigInt(timestamp));
      const sig = sign(null, cosignedMessage(text, BigInt(timestamp)), privateKey);
      return { name, keyId, signature: new Uint8Array(Buffer.concat([t, sig])) };
    },
  };
}

/** A new cosigner key pair (type 0x04). */
export function generateCosignerKey(name: string): { signerKey: string; verifierKey: string } {
  if (!isValidKeyName(name)) fail('KEY_INVALID', 'invalid key name');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(ED25519_PKCS8_PREFIX.length);
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX.length);
  const typed = (raw: Uint8Array) => concat(Uint8Array.of(NOTE_KEY_TYPE_COSIGNATURE_V1), raw);
  const idHex = toHex(noteKeyId(name, typed(pub)));
  return {
    signerKey: `PRIVATE+KEY+${name}+${idHex}+${toBase64(typed(seed))}`,
    verifierKey: `${name}+${idHex}+${toBase64(typed(pub))}`,
  };
}

/** One `— name base64` signature line. */
export function formatSignatureLine(s: NoteSignature): string {
  return `${EM_DASH_PREFIX}${s.name} ${toBase64(concat(s.keyId, s.signature))}\n`;
}

function checkText(text: string): void {
  if (text.length === 0 || !text.endsWith('\n')) fail('MALFORMED', 'note text must end with a newline');
  if (!isPrintable(text.replace(/\n/g, ''))) fail('MALFORMED', 'note text has control characters');
  if (text.includes('\uFFFD')) fail('MALFORMED', 'note text is not valid UTF-8');
}

/** Parses a signed note: the text, a blank line, then `— <name> <base64>` lines. */
export function parseNote(note: string): Note {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) fail('MALFORMED', 'no signature block');
  const text = note.slice(0, split + 1);
  checkText(text);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) fail('MALFORMED', 'signature block must end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) fail('MALFORMED', 'too many signatures');
  const signatures = lines.map((line): NoteSignature => {
    if (!line.startsWith(EM_DASH_PREFIX)) fail('MALFORMED', 'malformed signature line');
    const parts = line.slice(EM_DASH_PREFIX.length).split(' ');
    if (parts.length !== 2 || !isValidKeyName(parts[0]!)) fail('MALFORMED', 'malformed signature line');
    const bytes = decodeBase64Strict(parts[1]!);
    if (!bytes || bytes.length < 5) fail('MALFORMED', 'malformed signature');
    return { name: parts[0]!, keyId: bytes.subarray(0, 4), signature: bytes.subarray(4) };
  });
  if (signatures.length === 0) fail('MALFORMED', 'no signatures');
  return { text, signatures };
}

export interface VerifiedNote {
  readonly text: string;
  /** The names of the given verifiers whose signatures verified. */
  readonly verifiedBy: readonly string[];
  /** The signatures that verified. */
  readonly verified: readonly NoteSignature[];
  /** Signatures by keys we were not given (ignored, as signed-note requires). */
  readonly unverified: readonly NoteSignature[];
}

/**
 * Opens a signed note with the given verifiers. A signature by a known key
 * (name and key ID) that does not verify is `SIGNATURE_INVALID`; signatures by
 * unknown keys are ignored; if none verified, `NO_TRUSTED_SIGNATURE`.
 */
export function verifyNote(note: string, verifiers: readonly NoteVerifier[]): VerifiedNote {
  const parsed = parseNote(note);
  const message = utf8(parsed.text);
  const verifiedBy: string[] = [];
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  for (const sig of parsed.signatures) {
    const id = `${sig.name}+${toHex(sig.keyId)}`;
    if (seen.has(id)) fail('MALFORMED', 'duplicate signature');
    seen.add(id);
    const verifier = verifiers.find((v) => v.name === sig.name && equalBytes(v.keyId, sig.keyId));
    if (!verifier) {
      unverified.push(sig);
      continue;
    }
    if (!verifier.verify(message, sig.signature)) fail('SIGNATURE_INVALID');
    verifiedBy.push(sig.name);
    verified.push(sig);
  }
  if (verifiedBy.length === 0) fail('NO_TRUSTED_SIGNATURE');
  return { text: parsed.text, verifiedBy, verified, unverified };
}

/** Signs `text` (which must end in a newline) with each signer; returns the signed note. */
export function signNote(text: string, signers: readonly NoteSigner[], existing: readonly NoteSignature[] = []): string {
  checkText(text);
  if (signers.length + existing.length === 0) fail('MALFORMED', 'no signers');
  const message = utf8(text);
  const lines = [
    ...existing.map(formatSignatureLine),
    ...signers.map((s) => formatSignatureLine({ name: s.name, keyId: s.keyId, signature: s.sign(message) })),
  ];
  return `${text}\n${lines.join('')}`;
}
