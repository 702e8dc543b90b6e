// Genuine AWS documents from other projects and years, which the verifier was not
// developed against (provenance: test/fixtures/nitro/other-projects/manifest.json).
// The expected outcome follows from each document's kind: production enclave
// documents verify, debug ones are DEBUG_ENCLAVE, NitroTPM ones and the copy
// published with bytes missing are MALFORMED.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AttestationError, verifyAttestation } from '../../protocol';
import { FIXTURES } from '../helpers/fixtures';

const DIR = join(FIXTURES, 'nitro', 'other-projects');
interface Entry {
  encoding: 'hex' | 'base64';
  kind: 'enclave' | 'debug enclave' | 'nitrotpm' | 'malformed as published';
  payload_map: 'definite' | 'indefinite' | null;
  timestamp_ms: number | null;
  expected_code: string | null;
  pcr0: string | null;
}
const manifest: Record<string, Entry> = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8'));
const EXPECTED_BY_KIND: Record<Entry['kind'], string | null> = {
  enclave: null,
  'debug enclave': 'DEBUG_ENCLAVE',
  nitrotpm: 'MALFORMED',
  'malformed as published': 'MALFORMED',
};

function load(name: string, e: Entry): Uint8Array {
  const text = readFileSync(join(DIR, name), 'utf8').trim();
  return new Uint8Array(Buffer.from(text, e.encoding === 'hex' ? 'hex' : 'base64'));
}

async function codeOf(doc: Uint8Array, options: Parameters<typeof verifyAttestation>[1]): Promise<string | null> {
  try {
    await verifyAttestation(doc, options);
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(AttestationError);
    return (err as AttestationError).code;
  }
}

const entries = Object.entries(manifest);

test('the set covers production, debug, indefinite-length and non-enclave documents', () => {
  const kinds = new Set(entries.map(([, e]) => e.kind));
  expect([...kinds].sort()).toEqual(['debug enclave', 'enclave', 'malformed as published', 'nitrotpm']);
  expect(entries.some(([, e]) => e.kind === 'enclave' && e.payload_map === 'indefinite')).toBe(true);
  expect(entries.some(([, e]) => e.kind === 'enclave' && e.payload_map === 'definite')).toBe(true);
  for (const [, e] of entries) expect(e.expected_code).toBe(EXPECTED_BY_KIND[e.kind]);
});

describe.each(entries)('%s', (name, e) => {
  const doc = load(name, e);
  const now = new Date(e.timestamp_ms ?? Date.now());

  test(`at its own timestamp: ${e.expected_code ?? 'verifies'}`, async () => {
    expect(await codeOf(doc, { releases: 'any', now })).toBe(EXPECTED_BY_KIND[e.kind]);
  });

  if (e.kind === 'enclave') {
    test('verifies against its own release, not another', async () => {
      expect(await codeOf(doc, { releases: [{ 0: e.pcr0! }], now })).toBeNull();
      expect(await codeOf(doc, { releases: [{ 0: 'ab'.repeat(48) }], now })).toBe('PCR_NOT_RELEASED');
    });
  }

  if (e.kind === 'enclave' || e.kind === 'debug enclave') {
    test('four hours later its leaf has expired: CERT_EXPIRED; today it is expired too', async () => {
      expect(await codeOf(doc, { releases: 'any', now: new Date(e.timestamp_ms! + 4 * 3600_000), maxAgeMs: 10 * 3600_000 })).toBe('CERT_EXPIRED');
      expect(await codeOf(doc, { releases: 'any' })).toBe('CERT_EXPIRED');
    });
  }
});
