// C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): a signed note whose
// text is the log's origin, its tree size in decimal, its root hash in base64,
// then optional extension lines.

import { NoteError } from './errors';
import { HASH_SIZE } from './merkle';
import { decodeBase64Strict, parseNote, signNote, verifyNote, type NoteSignature, type NoteSigner, type NoteVerifier } from './note';

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly extensions: readonly string[];
}

export interface ParsedCheckpoint extends Checkpoint {
  readonly signatures: readonly NoteSignature[];
}

function malformed(message: string): never {
  throw new NoteError('CHECKPOINT_MALFORMED', message);
}

/** The note text of a checkpoint. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, rootHash, extensions } = checkpoint;
  if (origin.length === 0 || /[\n\r]/.test(origin)) malformed('invalid origin');
  if (!Number.isSafeInteger(size) || size < 0) malformed('invalid size');
  if (rootHash.length !== HASH_SIZE) malformed('invalid root hash');
  if (extensions.some((e) => e.length === 0 || /[\n\r]/.test(e))) malformed('invalid extension line');
  const lines = [origin, String(size), Buffer.from(rootHash).toString('base64'), ...extensions];
  return `${lines.join('\n')}\n`;
}

/** Parses checkpoint note text (without signatures). */
export function parseCheckpointText(text: string): Checkpoint {
  if (!text.endsWith('\n')) malformed('text must end with a newline');
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(text)) malformed('control character');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) malformed('too few lines');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) malformed('empty origin');
  // Decimal, no sign, no leading zeros.
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) malformed('invalid size');
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) malformed('size too large');
  const rootHash = decodeBase64Strict(rootText);
  if (!rootHash || rootHash.length !== HASH_SIZE) malformed('invalid root hash');
  if (extensions.some((e) => e.length === 0)) malformed('empty extension line');
  return { origin, size, rootHash, extensions };
}

/** Parses a signed checkpoint without checking signatures (for inspection tools). */
export function parseCheckpoint(signedNote: string): ParsedCheckpoint {
  const note = parseNote(signedNote);
  return { ...parseCheckpointText(note.text), signatures: note.signatures };
}

export interface VerifyCheckpointOptions {
  /** The log's origin line, which the checkpoint must carry exactly. */
  readonly origin: string;
  /** The log's key(s): at least one must have signed. */
  readonly verifiers: readonly NoteVerifier[];
}

export interface VerifiedCheckpoint extends Checkpoint {
  readonly verifiedBy: readonly string[];
  /** Signatures by keys not given (e.g. witness cosignatures, checked separately). */
  readonly otherSignatures: readonly NoteSignature[];
}

/**
 * Verifies a signed checkpoint: a valid signature by one of `verifiers` (see
 * verifyNote for the failure codes), a well-formed body, and the expected origin.
 */
export function verifyCheckpoint(signedNote: string, options: VerifyCheckpointOptions): VerifiedCheckpoint {
  const note = verifyNote(signedNote, options.verifiers);
  const checkpoint = parseCheckpointText(note.text);
  if (checkpoint.origin !== options.origin) throw new NoteError('ORIGIN_MISMATCH');
  return { ...checkpoint, verifiedBy: note.verifiedBy, otherSignatures: note.unverified };
}

/** Formats and signs a checkpoint (the log writer's side). */
export function signCheckpoint(checkpoint: Checkpoint, signers: readonly NoteSigner[]): string {
  return signNote(formatCheckpoint(checkpoint), signers);
}
