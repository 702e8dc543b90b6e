// The committed record of released keys: synthesis may add keys (once recorded) and
// retire them (once recorded), never change one, never bring one back.
import { readFileSync } from 'node:fs';
import { verifyAssembly } from '../../../bin/build-app';
import { canonicalJson, checkAgainstRecord, encodeReleasedKeysRecord, entriesFromTemplate, parseReleasedKeysRecord, updatedRecord } from '../../../bin/released-keys';
import { InfrastructureError } from '../../../lib/errors';
import { STACK_NAMES } from '../../../lib/names';
import { synthesizeRecord } from '../../../scripts/released-keys';
import { anotherRelease, EXAMPLE_MANIFEST, EXAMPLE_RECORD_PATH, synthesize, writeDeployment, type ExampleConfigJson } from '../../helpers/cdk';
import { expectCode } from '../../helpers/fixtures';

const COMMITTED = readFileSync(EXAMPLE_RECORD_PATH, 'utf8');
const G1 = 'SessionKeyexampleH2026D11D27H1G1';
const G2 = 'SessionKeyexampleH2026D11D27H1G2';
/** Generation n of the example release: the first starts 2026-11-27, each next one 7 days later. */
const generation = (n: number, state: string) => ({ generation: n, notBefore: new Date(Date.UTC(2026, 10, 27 + 7 * (n - 1))).toISOString().replace('.000Z', 'Z'), state });

/** Synthesizes a variant of the example with the committed record beside it. */
function variant(edit: (c: ExampleConfigJson) => void, record = COMMITTED, manifests = [] as ReturnType<typeof anotherRelease>[]) {
  return synthesize({ configPath: writeDeployment(edit, { record, manifests }) });
}
const check = (s: ReturnType<typeof synthesize>) => () => verifyAssembly(s.assembly, s.built);

test('the committed record: synthesis of the committed config matches it exactly, and it is written canonically', () => {
  const run = synthesizeRecord();
  expect(run.after).toEqual(run.before);
  expect(run.before.keys.map((k) => [k.logicalId, k.state])).toEqual([
    ['ModelKeyexampleH2026D11D27H1', 'live'],
    [G1, 'live'],
  ]);
  expect(encodeReleasedKeysRecord(parseReleasedKeysRecord(COMMITTED))).toBe(COMMITTED);
});

test('a released key that would change (a property): RELEASED_KEY_CHANGED', async () => {
  await expectCode(check(variant((c) => (c.keys.pendingWindowDays = 30))), InfrastructureError, 'RELEASED_KEY_CHANGED');
});

test('a released key that would change (the release\'s measurement under the same id): RELEASED_KEY_CHANGED', async () => {
  const changed = { ...EXAMPLE_MANIFEST, measurements: { ...EXAMPLE_MANIFEST.measurements, pcr0: 'cd'.repeat(48) } };
  await expectCode(check(variant((c) => (c.releases[0]!.manifest = `releases/${changed.releaseId}.json`), COMMITTED, [changed])), InfrastructureError, 'RELEASED_KEY_CHANGED');
});

test('a released key dropped without its retirement recorded: RELEASED_KEY_MISSING', async () => {
  await expectCode(check(variant((c) => (c.releases[0]!.sessionKeys = [generation(1, 'retired'), generation(2, 'live')]))), InfrastructureError, 'RELEASED_KEY_MISSING');
});

test('a new key not yet in the record: KEY_NOT_RECORDED', async () => {
  await expectCode(check(variant((c) => c.releases[0]!.sessionKeys.push(generation(2, 'live')))), InfrastructureError, 'KEY_NOT_RECORDED');
});

test('a retired key synthesized again: RETIRED_KEY_REUSED', async () => {
  const record = COMMITTED.replace(/("logicalId": "SessionKeyexampleH2026D11D27H1G1"[\s\S]*?"state": )"live"/, '$1"retired"');
  expect(record).not.toBe(COMMITTED);
  await expectCode(check(variant(() => {}, record)), InfrastructureError, 'RETIRED_KEY_REUSED');
});

test('updating the record: a rotation appends the new key, a retirement marks the old one, no entry is rewritten', () => {
  const committed = parseReleasedKeysRecord(COMMITTED);
  const rotated = variant((c) => c.releases[0]!.sessionKeys.push(generation(2, 'live')));
  const afterRotation = updatedRecord(committed, entriesFromTemplate(rotated.json.releaseKeys, rotated.built.releaseKeys.keyDescriptions), STACK_NAMES.releaseKeys);
  expect(afterRotation.keys.slice(0, 2)).toEqual(committed.keys);
  expect(afterRotation.keys[2]).toMatchObject({ logicalId: G2, kind: 'session', generation: 2, state: 'live' });

  const retired = variant((c) => (c.releases[0]!.sessionKeys = [generation(1, 'retired'), generation(2, 'live')]));
  const afterRetirement = updatedRecord(afterRotation, entriesFromTemplate(retired.json.releaseKeys, retired.built.releaseKeys.keyDescriptions), STACK_NAMES.releaseKeys);
  expect(afterRetirement.keys.map((k) => [k.logicalId, k.state])).toEqual([
    ['ModelKeyexampleH2026D11D27H1', 'live'],
    [G1, 'retired'],
    [G2, 'live'],
  ]);
  expect({ ...afterRetirement.keys[1], state: 'live' }).toEqual(committed.keys[1]);
  expect(() => checkAgainstRecord(afterRetirement, entriesFromTemplate(retired.json.releaseKeys, retired.built.releaseKeys.keyDescriptions), STACK_NAMES.releaseKeys)).not.toThrow();
});

test('updating the record refuses what the check refuses: a changed key (RELEASED_KEY_CHANGED)', async () => {
  const changed = variant((c) => (c.keys.pendingWindowDays = 30));
  await expectCode(
    () => updatedRecord(parseReleasedKeysRecord(COMMITTED), entriesFromTemplate(changed.json.releaseKeys, changed.built.releaseKeys.keyDescriptions), STACK_NAMES.releaseKeys),
    InfrastructureError,
    'RELEASED_KEY_CHANGED',
  );
});

test('the record is strict: not JSON, other fields, bad hashes, duplicate ids or another stack are RECORD_MALFORMED', async () => {
  const good = JSON.parse(COMMITTED);
  const bad = [
    '{',
    JSON.stringify({ ...good, extra: 1 }),
    JSON.stringify({ ...good, version: 2 }),
    JSON.stringify({ ...good, keys: [{ ...good.keys[0], policySha256: 'xyz' }] }),
    JSON.stringify({ ...good, keys: [{ ...good.keys[0], state: 'disabled' }] }),
    JSON.stringify({ ...good, keys: [{ ...good.keys[0], note: 'x' }] }),
    JSON.stringify({ ...good, keys: [good.keys[0], good.keys[0]] }),
  ];
  for (const text of bad) await expectCode(() => parseReleasedKeysRecord(text), InfrastructureError, 'RECORD_MALFORMED');
  await expectCode(() => checkAgainstRecord({ ...parseReleasedKeysRecord(COMMITTED), stack: 'Other' }, [], STACK_NAMES.releaseKeys), InfrastructureError, 'RECORD_MALFORMED');
});

test('canonical JSON: the hash of a value does not depend on object key order', () => {
  expect(canonicalJson({ b: [1, { d: 2, c: 3 }], a: null })).toBe(canonicalJson({ a: null, b: [1, { c: 3, d: 2 }] }));
  expect(canonicalJson({ b: [1, { d: 2, c: 3 }], a: null })).toBe('{"a":null,"b":[1,{"c":3,"d":2}]}');
});
