// The committed record of released keys (deploy/released-keys.json by default): for
// every key the deployment ever created, its logical id and the SHA-256 of its policy and
// of its whole resource. Synthesis must reproduce every live key byte for byte, may not
// bring back a retired one, and may not add one the record does not list yet; adding
// and retiring keys go through `npx tsx scripts/released-keys.ts --write`, which only
// appends entries and marks missing ones retired, so each change is a reviewable diff.
import { createHash } from 'node:crypto';
import { parseStrictJson, type JsonValue } from '../protocol';
import { InfrastructureError } from '../lib/errors';
import type { FrozenKeyDescription, FrozenKeyKind } from '../lib/keys/frozen-key';
import { keyResourceCore, type TemplateLike } from '../lib/keys/verify';

export const RELEASED_KEYS_RECORD_VERSION = 1;

export interface ReleasedKeyEntry {
  readonly logicalId: string;
  readonly kind: FrozenKeyKind;
  readonly releaseId: string;
  readonly generation: number | null;
  readonly pcr0: string;
  /** SHA-256 (hex) of the canonical JSON of the synthesized KeyPolicy. */
  readonly policySha256: string;
  /** SHA-256 (hex) of the canonical JSON of Type, Properties, DeletionPolicy and UpdateReplacePolicy. */
  readonly resourceSha256: string;
  /** `retired`: left out of the template, its deletion scheduled; never synthesized again. */
  readonly state: 'live' | 'retired';
}

export interface ReleasedKeysRecord {
  readonly version: typeof RELEASED_KEYS_RECORD_VERSION;
  readonly stack: string;
  readonly keys: readonly ReleasedKeyEntry[];
}

/** JSON with object keys sorted at every level: the same value always hashes the same. */
export function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k]!)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** The record entries for the keys as synthesized in `template`. */
export function entriesFromTemplate(template: TemplateLike, keys: readonly FrozenKeyDescription[]): ReleasedKeyEntry[] {
  return keys.map((key) => {
    const resource = template.Resources?.[key.logicalId];
    if (!resource) throw new InfrastructureError('RELEASED_KEY_MISSING', `${key.logicalId} is not in the synthesized template`);
    const core = keyResourceCore(resource) as { Properties?: { KeyPolicy?: JsonValue } };
    return {
      logicalId: key.logicalId,
      kind: key.kind,
      releaseId: key.releaseId,
      generation: key.generation,
      pcr0: key.pcr0,
      policySha256: sha256(canonicalJson(core.Properties?.KeyPolicy ?? null)),
      resourceSha256: sha256(canonicalJson(core as JsonValue)),
      state: 'live',
    };
  });
}

const ENTRY_KEYS = ['logicalId', 'kind', 'releaseId', 'generation', 'pcr0', 'policySha256', 'resourceSha256', 'state'];

function malformed(message: string): never {
  throw new InfrastructureError('RECORD_MALFORMED', message);
}

export function parseReleasedKeysRecord(json: string): ReleasedKeysRecord {
  let value: JsonValue;
  try {
    value = parseStrictJson(json);
  } catch {
    malformed('the released-keys record is not JSON (or repeats a field)');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) malformed('the record is not an object');
  if (Object.keys(value).sort().join() !== 'keys,stack,version' || value.version !== RELEASED_KEYS_RECORD_VERSION) malformed('the record has other fields or another version');
  if (typeof value.stack !== 'string' || !Array.isArray(value.keys)) malformed('the record needs a stack name and a list of keys');
  const keys = value.keys.map((k) => {
    if (k === null || typeof k !== 'object' || Array.isArray(k) || Object.keys(k).sort().join() !== [...ENTRY_KEYS].sort().join()) malformed('a key entry has other fields');
    const ok =
      typeof k.logicalId === 'string' &&
      (k.kind === 'session' || k.kind === 'model') &&
      typeof k.releaseId === 'string' &&
      (k.generation === null || (typeof k.generation === 'number' && Number.isInteger(k.generation))) &&
      typeof k.pcr0 === 'string' &&
      typeof k.policySha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(k.policySha256) &&
      typeof k.resourceSha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(k.resourceSha256) &&
      (k.state === 'live' || k.state === 'retired');
    if (!ok) malformed('a key entry has a field of the wrong type');
    return k as unknown as ReleasedKeyEntry;
  });
  if (new Set(keys.map((k) => k.logicalId)).size !== keys.length) malformed('a logical id appears twice');
  return { version: RELEASED_KEYS_RECORD_VERSION, stack: value.stack, keys };
}

export function encodeReleasedKeysRecord(record: ReleasedKeysRecord): string {
  const ordered = {
    version: record.version,
    stack: record.stack,
    keys: record.keys.map((k) => Object.fromEntries(ENTRY_KEYS.map((name) => [name, k[name as keyof ReleasedKeyEntry]]))),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

const sameKey = (a: ReleasedKeyEntry, b: ReleasedKeyEntry) =>
  a.kind === b.kind && a.releaseId === b.releaseId && a.generation === b.generation && a.pcr0 === b.pcr0 && a.policySha256 === b.policySha256 && a.resourceSha256 === b.resourceSha256;

/** Refuses what synthesis may never do to a released key: change it, resurrect it, or drop it unretired. */
function compare(record: ReleasedKeysRecord, synthesized: readonly ReleasedKeyEntry[], stack: string): { added: ReleasedKeyEntry[]; dropped: ReleasedKeyEntry[] } {
  if (record.stack !== stack) throw new InfrastructureError('RECORD_MALFORMED', `the record is for stack ${record.stack}, not ${stack}`);
  const recorded = new Map(record.keys.map((k) => [k.logicalId, k]));
  const added: ReleasedKeyEntry[] = [];
  for (const key of synthesized) {
    const entry = recorded.get(key.logicalId);
    if (!entry) added.push(key);
    else if (entry.state === 'retired') throw new InfrastructureError('RETIRED_KEY_REUSED', `${key.logicalId} was retired (its deletion is scheduled); a new key needs a new generation`);
    else if (!sameKey(entry, key)) throw new InfrastructureError('RELEASED_KEY_CHANGED', `${key.logicalId} would change; released keys are never edited (add a generation instead)`);
  }
  const present = new Set(synthesized.map((k) => k.logicalId));
  const dropped = record.keys.filter((k) => k.state === 'live' && !present.has(k.logicalId));
  return { added, dropped };
}

/** The gate at every synthesis: the template matches the record exactly. */
export function checkAgainstRecord(record: ReleasedKeysRecord, synthesized: readonly ReleasedKeyEntry[], stack: string): void {
  const { added, dropped } = compare(record, synthesized, stack);
  if (dropped.length > 0) {
    throw new InfrastructureError('RELEASED_KEY_MISSING', `${dropped.map((k) => k.logicalId).join(', ')} would be deleted; record the retirement with: npx tsx scripts/released-keys.ts --write`);
  }
  if (added.length > 0) {
    throw new InfrastructureError('KEY_NOT_RECORDED', `${added.map((k) => k.logicalId).join(', ')} not in the released-keys record; record it with: npx tsx scripts/released-keys.ts --write`);
  }
}

/** The record after this synthesis: new keys appended as live, keys no longer synthesized marked retired. Never rewrites an entry. */
export function updatedRecord(record: ReleasedKeysRecord, synthesized: readonly ReleasedKeyEntry[], stack: string): ReleasedKeysRecord {
  const { added, dropped } = compare(record, synthesized, stack);
  const retired = new Set(dropped.map((k) => k.logicalId));
  return {
    version: RELEASED_KEYS_RECORD_VERSION,
    stack,
    keys: [...record.keys.map((k) => (retired.has(k.logicalId) ? { ...k, state: 'retired' as const } : k)), ...added],
  };
}

export function emptyRecord(stack: string): ReleasedKeysRecord {
  return { version: RELEASED_KEYS_RECORD_VERSION, stack, keys: [] };
}
