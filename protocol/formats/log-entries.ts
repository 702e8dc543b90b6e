// Entries of the transparency log (DESIGN.md §4). Each entry is a deterministic
// CBOR map; those exact bytes are the Merkle leaf (leafHash = SHA-256(0x00 || bytes)),
// so every party hashes the same thing. Four types:
//   release      a released enclave image: measurements, hashes, source, validity;
//   session_key  a release's KMS key: exact key config, GetKeyPolicy and DescribeKey bytes;
//   issuer_key   a Privacy Pass issuer key (RFC 9578 token key) with its id;
//   revocation   withdraws a release, session key or issuer key from a time on.

import { createHash } from 'node:crypto';
import { equalBytes, toHex } from '../bytes';
import { decodeDeterministic, encodeDeterministic, Fields, type DInput } from '../dcbor';
import { FormatError } from '../errors';
import { leafHash } from '../merkle';
import { COMMIT, KMS_KEY_ARN, RELEASE_ID, SHA256_LENGTH, SHA384_LENGTH, isUnixSeconds } from './common';
import { assertSessionKeyConfig } from './session-key';

export const LOG_ENTRY_VERSION = 1;
// Entry bundles prefix each entry with a 16-bit length (C2SP tlog-tiles): the text fields are
// bounded so that a whole entry stays under 64 KiB.
const MAX_TEXT = 24 * 1024;
const MAX_TOKEN_KEY = 1024;

interface Window {
  /** Unix seconds. */
  readonly notBefore: number;
  readonly notAfter: number;
}

export interface ReleaseEntry extends Window {
  readonly type: 'release';
  readonly releaseId: string;
  readonly kind: 'nitro' | 'emulated';
  readonly pcr0: Uint8Array;
  readonly pcr1: Uint8Array;
  readonly pcr2: Uint8Array;
  readonly imageSha384: Uint8Array;
  readonly modelSha256: Uint8Array;
  readonly sourceCommit: string;
  readonly buildRecipe: string;
}

export interface SessionKeyEntry extends Window {
  readonly type: 'session_key';
  readonly releaseId: string;
  readonly kmsKeyArn: string;
  /** The key configuration clients encrypt to, exactly. */
  readonly keyConfig: Uint8Array;
  /** The policy document exactly as KMS GetKeyPolicy returned it. */
  readonly keyPolicy: string;
  /** The DescribeKey response body exactly as KMS returned it (JSON). */
  readonly describeKey: string;
}

export interface IssuerKeyEntry extends Window {
  readonly type: 'issuer_key';
  /** The RFC 9578 token key: DER SubjectPublicKeyInfo of the RSA-2048 issuer key. */
  readonly tokenKey: Uint8Array;
  /** SHA-256 of `tokenKey` (RFC 9578 §6.5 token_key_id). */
  readonly tokenKeyId: Uint8Array;
}

export type RevocationTarget =
  | { readonly type: 'release'; readonly releaseId: string }
  | { readonly type: 'session_key'; readonly kmsKeyArn: string }
  | { readonly type: 'issuer_key'; readonly tokenKeyId: Uint8Array };

export interface RevocationEntry {
  readonly type: 'revocation';
  readonly target: RevocationTarget;
  readonly reason: string;
  /** Unix seconds from which the target is revoked. */
  readonly effectiveAt: number;
}

export type LogEntry = ReleaseEntry | SessionKeyEntry | IssuerKeyEntry | RevocationEntry;
export const LOG_ENTRY_TYPES = ['release', 'session_key', 'issuer_key', 'revocation'] as const;

function invalid(message: string): never {
  throw new FormatError('INVALID_FIELD', message);
}

function checkWindow(w: Window): void {
  if (!isUnixSeconds(w.notBefore) || !isUnixSeconds(w.notAfter) || w.notAfter <= w.notBefore) invalid('invalid validity window');
}

function checkText(text: string, max = MAX_TEXT): void {
  if (text.length === 0 || text.length > max) invalid('invalid text field');
}

function checkLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length) invalid(`${what} must be ${length} bytes`);
}

export function tokenKeyIdOf(tokenKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(tokenKey).digest());
}

function validate(entry: LogEntry): void {
  switch (entry.type) {
    case 'release':
      checkWindow(entry);
      if (!RELEASE_ID.test(entry.releaseId)) invalid('invalid release id');
      if (entry.kind !== 'nitro' && entry.kind !== 'emulated') invalid('invalid kind');
      for (const pcr of [entry.pcr0, entry.pcr1, entry.pcr2, entry.imageSha384]) checkLength(pcr, SHA384_LENGTH, 'a SHA-384 value');
      if (entry.pcr0.every((b) => b === 0)) invalid('a release cannot have an all-zero (debug) PCR0');
      checkLength(entry.modelSha256, SHA256_LENGTH, 'model_sha256');
      if (!COMMIT.test(entry.sourceCommit)) invalid('invalid source commit');
      checkText(entry.buildRecipe, 4096);
      return;
    case 'session_key':
      checkWindow(entry);
      if (!RELEASE_ID.test(entry.releaseId)) invalid('invalid release id');
      if (!KMS_KEY_ARN.test(entry.kmsKeyArn)) invalid('invalid KMS key ARN');
      assertSessionKeyConfig(entry.keyConfig);
      checkText(entry.keyPolicy);
      checkText(entry.describeKey);
      return;
    case 'issuer_key':
      checkWindow(entry);
      if (entry.tokenKey.length === 0 || entry.tokenKey.length > MAX_TOKEN_KEY) invalid('invalid token key');
      checkLength(entry.tokenKeyId, SHA256_LENGTH, 'token_key_id');
      if (!equalBytes(entry.tokenKeyId, tokenKeyIdOf(entry.tokenKey))) invalid('token_key_id is not SHA-256 of the token key');
      return;
    case 'revocation': {
      if (!isUnixSeconds(entry.effectiveAt)) invalid('invalid effective_at');
      checkText(entry.reason, 1024);
      const t = entry.target;
      if (t.type === 'release' && !RELEASE_ID.test(t.releaseId)) invalid('invalid release id');
      else if (t.type === 'session_key' && !KMS_KEY_ARN.test(t.kmsKeyArn)) invalid('invalid KMS key ARN');
      else if (t.type === 'issuer_key') checkLength(t.tokenKeyId, SHA256_LENGTH, 'token_key_id');
      else if (!['release', 'session_key', 'issuer_key'].includes(t.type)) invalid('invalid revocation target');
      return;
    }
    default:
      invalid('unknown entry type');
  }
}

function toMap(entry: LogEntry): DInput {
  switch (entry.type) {
    case 'release':
      return {
        v: LOG_ENTRY_VERSION,
        type: entry.type,
        release_id: entry.releaseId,
        kind: entry.kind,
        pcr0: entry.pcr0,
        pcr1: entry.pcr1,
        pcr2: entry.pcr2,
        image_sha384: entry.imageSha384,
        model_sha256: entry.modelSha256,
        source_commit: entry.sourceCommit,
        build_recipe: entry.buildRecipe,
        not_before: entry.notBefore,
        not_after: entry.notAfter,
      };
    case 'session_key':
      return {
        v: LOG_ENTRY_VERSION,
        type: entry.type,
        release_id: entry.releaseId,
        kms_key_arn: entry.kmsKeyArn,
        key_config: entry.keyConfig,
        key_policy: entry.keyPolicy,
        describe_key: entry.describeKey,
        not_before: entry.notBefore,
        not_after: entry.notAfter,
      };
    case 'issuer_key':
      return {
        v: LOG_ENTRY_VERSION,
        type: entry.type,
        token_key: entry.tokenKey,
        token_key_id: entry.tokenKeyId,
        not_before: entry.notBefore,
        not_after: entry.notAfter,
      };
    case 'revocation': {
      const t = entry.target;
      const target: DInput =
        t.type === 'release'
          ? { type: t.type, release_id: t.releaseId }
          : t.type === 'session_key'
            ? { type: t.type, kms_key_arn: t.kmsKeyArn }
            : { type: t.type, token_key_id: t.tokenKeyId };
      return { v: LOG_ENTRY_VERSION, type: entry.type, target, reason: entry.reason, effective_at: entry.effectiveAt };
    }
  }
}

/** The exact bytes of an entry: what the log stores and what its Merkle leaf hashes. */
export function encodeLogEntry(entry: LogEntry): Uint8Array {
  validate(entry);
  return encodeDeterministic(toMap(entry));
}

export function decodeLogEntry(bytes: Uint8Array): LogEntry {
  const f = Fields.of(decodeDeterministic(bytes), 'log entry');
  if (f.uint('v') !== LOG_ENTRY_VERSION) throw new FormatError('UNSUPPORTED_VERSION');
  const type = f.oneOf('type', LOG_ENTRY_TYPES);
  let entry: LogEntry;
  switch (type) {
    case 'release':
      entry = {
        type,
        releaseId: f.text('release_id', RELEASE_ID),
        kind: f.oneOf('kind', ['nitro', 'emulated'] as const),
        pcr0: f.bytes('pcr0', SHA384_LENGTH),
        pcr1: f.bytes('pcr1', SHA384_LENGTH),
        pcr2: f.bytes('pcr2', SHA384_LENGTH),
        imageSha384: f.bytes('image_sha384', SHA384_LENGTH),
        modelSha256: f.bytes('model_sha256', SHA256_LENGTH),
        sourceCommit: f.text('source_commit', COMMIT),
        buildRecipe: f.text('build_recipe'),
        notBefore: f.uint('not_before'),
        notAfter: f.uint('not_after'),
      };
      break;
    case 'session_key':
      entry = {
        type,
        releaseId: f.text('release_id', RELEASE_ID),
        kmsKeyArn: f.text('kms_key_arn', KMS_KEY_ARN),
        keyConfig: f.bytes('key_config', { max: 256 }),
        keyPolicy: f.text('key_policy', undefined, MAX_TEXT),
        describeKey: f.text('describe_key', undefined, MAX_TEXT),
        notBefore: f.uint('not_before'),
        notAfter: f.uint('not_after'),
      };
      break;
    case 'issuer_key':
      entry = {
        type,
        tokenKey: f.bytes('token_key', { max: MAX_TOKEN_KEY }),
        tokenKeyId: f.bytes('token_key_id', SHA256_LENGTH),
        notBefore: f.uint('not_before'),
        notAfter: f.uint('not_after'),
      };
      break;
    case 'revocation': {
      const t = Fields.of(f.raw('target'), 'revocation target');
      const targetType = t.oneOf('type', ['release', 'session_key', 'issuer_key'] as const);
      const target: RevocationTarget =
        targetType === 'release'
          ? { type: targetType, releaseId: t.text('release_id', RELEASE_ID) }
          : targetType === 'session_key'
            ? { type: targetType, kmsKeyArn: t.text('kms_key_arn', KMS_KEY_ARN) }
            : { type: targetType, tokenKeyId: t.bytes('token_key_id', SHA256_LENGTH) };
      t.done();
      entry = { type, target, reason: f.text('reason'), effectiveAt: f.uint('effective_at') };
      break;
    }
  }
  f.done();
  validate(entry);
  return entry;
}

/** The Merkle leaf hash of an entry (RFC 9162 §2.1.1). */
export function logEntryLeafHash(entry: LogEntry | Uint8Array): Uint8Array {
  return leafHash(entry instanceof Uint8Array ? entry : encodeLogEntry(entry));
}

/** A short, stable label for an entry, for logs and transcripts (no secrets in entries). */
export function describeLogEntry(entry: LogEntry): string {
  switch (entry.type) {
    case 'release':
      return `release ${entry.releaseId} (${entry.kind}, PCR0 ${toHex(entry.pcr0).slice(0, 16)}…)`;
    case 'session_key':
      return `session key ${entry.kmsKeyArn} for release ${entry.releaseId}`;
    case 'issuer_key':
      return `issuer key ${toHex(entry.tokenKeyId).slice(0, 16)}…`;
    case 'revocation':
      return `revocation of ${entry.target.type}`;
  }
}
