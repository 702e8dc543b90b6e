// The release manifest: what `npm run release` writes and the CDK app and the log
// writer read. JSON, so people can read it in a pull request, written in one
// canonical form (fixed field order, two-space indent, final newline) and parsed
// strictly (no duplicate, unknown or missing fields).

import { fromHex } from '../bytes';
import { FormatError } from '../errors';
import { parseStrictJson, StrictJsonError, type JsonValue } from '../strict-json';
import { COMMIT, HEX_32, HEX_48, RELEASE_ID, isUnixSeconds } from './common';
import type { ReleaseEntry } from './log-entries';

export const RELEASE_MANIFEST_VERSION = 1;

export interface ReleaseManifest {
  readonly version: typeof RELEASE_MANIFEST_VERSION;
  readonly releaseId: string;
  /** `nitro`: measured by nitro-cli; `emulated`: by `measure` (local stacks only). */
  readonly kind: 'nitro' | 'emulated';
  readonly measurements: { readonly pcr0: string; readonly pcr1: string; readonly pcr2: string };
  readonly imageSha384: string;
  readonly modelSha256: string;
  readonly sourceCommit: string;
  readonly buildRecipe: string;
  /** Unix seconds. */
  readonly createdAt: number;
}

function invalid(message: string): never {
  throw new FormatError('INVALID_FIELD', message);
}

function validate(m: ReleaseManifest): void {
  if (m.version !== RELEASE_MANIFEST_VERSION) throw new FormatError('UNSUPPORTED_VERSION');
  if (!RELEASE_ID.test(m.releaseId)) invalid('invalid release_id');
  if (m.kind !== 'nitro' && m.kind !== 'emulated') invalid('invalid kind');
  for (const v of [m.measurements.pcr0, m.measurements.pcr1, m.measurements.pcr2, m.imageSha384]) {
    if (!HEX_48.test(v)) invalid('SHA-384 values are 96 lower-case hex digits');
  }
  if (/^0+$/.test(m.measurements.pcr0)) invalid('PCR0 of a release cannot be all zero (debug)');
  if (!HEX_32.test(m.modelSha256)) invalid('model_sha256 is 64 lower-case hex digits');
  if (!COMMIT.test(m.sourceCommit)) invalid('invalid source_commit');
  if (m.buildRecipe.length === 0 || m.buildRecipe.length > 4096) invalid('invalid build_recipe');
  if (!isUnixSeconds(m.createdAt)) invalid('invalid created_at');
}

export function encodeReleaseManifest(m: ReleaseManifest): string {
  validate(m);
  const ordered = {
    version: m.version,
    release_id: m.releaseId,
    kind: m.kind,
    measurements: { pcr0: m.measurements.pcr0, pcr1: m.measurements.pcr1, pcr2: m.measurements.pcr2 },
    image_sha384: m.imageSha384,
    model_sha256: m.modelSha256,
    source_commit: m.sourceCommit,
    build_recipe: m.buildRecipe,
    created_at: m.createdAt,
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

type JsonObject = { [key: string]: JsonValue };

function object(value: JsonValue | undefined, keys: readonly string[], what: string): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new FormatError('MALFORMED', `${what} is not an object`);
  const present = Object.keys(value);
  for (const k of present) if (!keys.includes(k)) throw new FormatError('UNKNOWN_FIELD', `${what} has a field that is not known`);
  for (const k of keys) if (!present.includes(k)) throw new FormatError('MISSING_FIELD', `${what} lacks a field`);
  return value;
}

function text(o: JsonObject, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') invalid(`${key} must be a string`);
  return v;
}

const TOP_KEYS = ['version', 'release_id', 'kind', 'measurements', 'image_sha384', 'model_sha256', 'source_commit', 'build_recipe', 'created_at'];

export function decodeReleaseManifest(json: string): ReleaseManifest {
  let parsed: JsonValue;
  try {
    parsed = parseStrictJson(json);
  } catch (err) {
    if (err instanceof StrictJsonError && err.code === 'DUPLICATE_KEY') throw new FormatError('DUPLICATE_FIELD');
    throw new FormatError('MALFORMED', 'not JSON');
  }
  const top = object(parsed, TOP_KEYS, 'release manifest');
  if (top.version !== RELEASE_MANIFEST_VERSION) throw new FormatError('UNSUPPORTED_VERSION');
  const measurements = object(top.measurements, ['pcr0', 'pcr1', 'pcr2'], 'measurements');
  const kind = text(top, 'kind');
  if (kind !== 'nitro' && kind !== 'emulated') invalid('invalid kind');
  const createdAt = top.created_at;
  if (typeof createdAt !== 'number') invalid('created_at must be a number');
  const m: ReleaseManifest = {
    version: RELEASE_MANIFEST_VERSION,
    releaseId: text(top, 'release_id'),
    kind,
    measurements: { pcr0: text(measurements, 'pcr0'), pcr1: text(measurements, 'pcr1'), pcr2: text(measurements, 'pcr2') },
    imageSha384: text(top, 'image_sha384'),
    modelSha256: text(top, 'model_sha256'),
    sourceCommit: text(top, 'source_commit'),
    buildRecipe: text(top, 'build_recipe'),
    createdAt,
  };
  validate(m);
  return m;
}

/** The log entry that publishes a release, valid over the given window. */
export function releaseEntryFromManifest(m: ReleaseManifest, window: { notBefore: number; notAfter: number }): ReleaseEntry {
  validate(m);
  return {
    type: 'release',
    releaseId: m.releaseId,
    kind: m.kind,
    pcr0: fromHex(m.measurements.pcr0),
    pcr1: fromHex(m.measurements.pcr1),
    pcr2: fromHex(m.measurements.pcr2),
    imageSha384: fromHex(m.imageSha384),
    modelSha256: fromHex(m.modelSha256),
    sourceCommit: m.sourceCommit,
    buildRecipe: m.buildRecipe,
    notBefore: window.notBefore,
    notAfter: window.notAfter,
  };
}
