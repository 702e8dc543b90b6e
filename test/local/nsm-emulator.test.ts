import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttestationError, cborDecode, measure, pcr3ForRoleArn, pcr4ForInstanceId, toHex, verifyAttestation } from '../../protocol';
import { NsmClient } from '../../enclave-app/nsm/client';
import { decodeNsmResponse, encodeNsmRequest } from '../../enclave-app/nsm/codec';
import { NsmError } from '../../enclave-app/nsm/errors';
import { NsmEmulator, type NsmEmulatorOptions } from '../../local/nsm-emulator/emulator';
import { createRoot } from '../../local/nsm-emulator/ca';
import { expectCode } from '../helpers/fixtures';

const bundle = { platform: 'emulated-nitro/node-20', files: new Map([['enclave/main.js', new TextEncoder().encode('enclave app v1')]]) };
const measurement = measure(bundle);
const ROLE = 'arn:aws:iam::123456789012:role/pp-enclave-worker';
const INSTANCE = 'i-0123456789abcdef0';
const stateDir = mkdtempSync(join(tmpdir(), 'nsm-emulator-'));
const base: NsmEmulatorOptions = { measurement, parentRoleArn: ROLE, instanceId: INSTANCE, stateDir };

async function emulatorWith(extra: Partial<NsmEmulatorOptions> = {}) {
  const emulator = await NsmEmulator.create({ ...base, ...extra });
  return { emulator, client: new NsmClient(emulator) };
}

const release = { 0: measurement.pcr0, 1: measurement.pcr1, 2: measurement.pcr2 };

describe('documents of the real format', () => {
  test.each(['definite', 'indefinite'] as const)('%s-length payload: untagged COSE_Sign1, nine keys, 16 PCRs of 48 bytes', async (payloadEncoding) => {
    const { emulator, client } = await emulatorWith({ payloadEncoding });
    const nonce = new Uint8Array([9, 8, 7]);
    const doc = await client.attestation({ nonce, userData: new Uint8Array([1]), publicKey: new Uint8Array([2, 3]) });
    expect(toHex(doc.subarray(0, 7))).toBe('8444a1013822a0');
    const [, , payload] = cborDecode(doc) as [Uint8Array, Map<never, never>, Uint8Array, Uint8Array];
    const mapByte = payload[0];
    expect(mapByte).toBe(payloadEncoding === 'definite' ? 0xa9 : 0xbf);
    if (payloadEncoding === 'indefinite') expect(payload[payload.length - 1]).toBe(0xff);
    const map = cborDecode(payload) as Map<string, unknown>;
    expect([...map.keys()]).toEqual(['module_id', 'digest', 'timestamp', 'pcrs', 'certificate', 'cabundle', 'public_key', 'user_data', 'nonce']);
    expect((map.get('cabundle') as unknown[]).length).toBe(4);

    const r = await verifyAttestation(doc, { releases: [release], trustAnchorPem: emulator.rootPem, nonce });
    expect(Object.keys(r.pcrs)).toHaveLength(16);
    expect(Object.values(r.pcrs).every((v) => v.length === 96)).toBe(true);
    expect(r.pcrs[0]).toBe(measurement.pcr0);
    expect(r.pcrs[3]).toBe(pcr3ForRoleArn(ROLE));
    expect(r.pcrs[4]).toBe(pcr4ForInstanceId(INSTANCE));
    expect(r.pcrs[8]).toBe('0'.repeat(96));
    expect(toHex(r.userData!)).toBe('01');
    expect(toHex(r.publicKey!)).toBe('0203');
    expect(r.moduleId.startsWith(`${INSTANCE}-enc`)).toBe(true);
  });

  test('unused fields are CBOR null', async () => {
    const { client } = await emulatorWith();
    const doc = await client.attestation();
    const payload = (cborDecode(doc) as Uint8Array[])[2]!;
    const map = cborDecode(payload) as Map<string, unknown>;
    expect([map.get('public_key'), map.get('user_data'), map.get('nonce')]).toEqual([null, null, null]);
  });

  test('a tag-18 document verifies too', async () => {
    const { emulator, client } = await emulatorWith({ tagged: true });
    const doc = await client.attestation();
    expect(doc[0]).toBe(0xd2);
    await verifyAttestation(doc, { releases: [release], trustAnchorPem: emulator.rootPem });
  });
});

describe('what the verifier makes of emulated documents', () => {
  test('never accepted with the AWS root', async () => {
    const { client } = await emulatorWith();
    await expectCode(() => client.attestation().then((doc) => verifyAttestation(doc, { releases: [release] })), AttestationError, 'CHAIN_UNTRUSTED');
  });

  test('debug mode zeroes PCR0-2 and is DEBUG_ENCLAVE', async () => {
    const { emulator, client } = await emulatorWith({ debug: true });
    expect(toHex((await client.describePcr(0)).data)).toBe('0'.repeat(96));
    const doc = await client.attestation();
    await expectCode(() => verifyAttestation(doc, { releases: 'any', trustAnchorPem: emulator.rootPem }), AttestationError, 'DEBUG_ENCLAVE');
  });

  test('another bundle has another measurement: PCR_NOT_RELEASED', async () => {
    const changed = measure({ ...bundle, files: new Map([['enclave/main.js', new TextEncoder().encode('enclave app v1, patched')]]) });
    expect(changed.pcr0).not.toBe(measurement.pcr0);
    expect(changed.pcr1).toBe(measurement.pcr1);
    const { emulator, client } = await emulatorWith({ measurement: changed });
    const doc = await client.attestation();
    await expectCode(() => verifyAttestation(doc, { releases: [release], trustAnchorPem: emulator.rootPem }), AttestationError, 'PCR_NOT_RELEASED');
  });

  test('the leaf lives about 3 hours: a document verified 4 hours on is CERT_EXPIRED', async () => {
    const t0 = new Date('2026-01-01T00:00:00Z');
    const root = await createRoot(new Date('2025-12-31T00:00:00Z'));
    const { emulator, client } = await emulatorWith({ root, now: () => t0 });
    const doc = await client.attestation();
    const anchor = { releases: [release], trustAnchorPem: emulator.rootPem };
    await verifyAttestation(doc, { ...anchor, now: new Date(t0.getTime() + 5 * 60_000) });
    await expectCode(
      () => verifyAttestation(doc, { ...anchor, now: new Date(t0.getTime() + 4 * 3600_000), maxAgeMs: 5 * 3600_000 }),
      AttestationError,
      'CERT_EXPIRED',
    );
  });

  test('intermediates are reissued when the emulator clock moves past them', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const root = await createRoot(new Date('2025-12-31T00:00:00Z'));
    const { emulator, client } = await emulatorWith({ root, now: () => now });
    await client.attestation();
    now = new Date('2026-02-01T00:00:00Z');
    const doc = await client.attestation();
    await verifyAttestation(doc, { releases: [release], trustAnchorPem: emulator.rootPem, now });
  });
});

describe('the emulated NSM interface', () => {
  test('DescribePCR reads every locked PCR; an index past them is InvalidIndex', async () => {
    const { client } = await emulatorWith();
    for (let i = 0; i < 16; i++) expect((await client.describePcr(i)).lock).toBe(true);
    expect(toHex((await client.describePcr(3)).data)).toBe(pcr3ForRoleArn(ROLE));
    await expectCode(() => client.describePcr(16), NsmError, 'InvalidIndex');
  });

  test('GetRandom returns fresh bytes', async () => {
    const { client } = await emulatorWith();
    const [a, b] = [await client.getRandom(), await client.getRandom()];
    expect(a.length).toBe(256);
    expect(toHex(a)).not.toBe(toHex(b));
  });

  test('oversized fields are InputTooLarge, malformed requests InvalidArgument', async () => {
    const { emulator, client } = await emulatorWith();
    await expectCode(() => client.attestation({ userData: new Uint8Array(1025) }), NsmError, 'InputTooLarge');
    for (const bad of [new Uint8Array([0xa1, 0x00]), encodeNsmRequest({ kind: 'GetRandom' }).subarray(0, 3), new Uint8Array(0)]) {
      expect(decodeNsmResponse(await emulator.exchange(bad))).toEqual({ kind: 'Error', code: 'InvalidArgument' });
    }
  });
});

describe('the local root', () => {
  test('is created once under the state folder, private key readable by its owner only, and reused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsm-root-'));
    const first = await NsmEmulator.create({ ...base, stateDir: dir });
    const second = await NsmEmulator.create({ ...base, stateDir: dir });
    expect(second.rootPem).toBe(first.rootPem);
    expect(statSync(join(dir, 'root.key.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'root.cert.pem'), 'utf8')).toBe(first.rootPem);
    // A document from the first instance verifies with the root the second one loaded.
    const doc = await new NsmClient(first).attestation();
    await verifyAttestation(doc, { releases: [release], trustAnchorPem: second.rootPem });
  });

  test('the repository ignores the default state folder', () => {
    const ignore = readFileSync(join(__dirname, '..', '..', '.gitignore'), 'utf8');
    expect(ignore.split('\n')).toContain('.local/');
  });
});
