import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AttestationError, clearChainCache, verifyAttestation, type VerifyAttestationOptions } from '../../protocol';
import { FIXTURES, expectCode, flipped } from '../helpers/fixtures';
import { AWS_ROOT_SUBJECT, derOf, documentFromChain, issue, makeChain, pcrMap, buildDocument, x509 } from '../helpers/attestation';

const NITRO = join(FIXTURES, 'nitro');
const manifest = JSON.parse(readFileSync(join(NITRO, 'manifest.json'), 'utf8'));
const load = (name: string) =>
  name.endsWith('.b64') ? new Uint8Array(Buffer.from(readFileSync(join(NITRO, name), 'utf8').trim(), 'base64')) : new Uint8Array(readFileSync(join(NITRO, name)));

const VALID = 'evervault-beta-valid-attestation-doc.bin';
const DEBUG = ['evervault-beta-debug-mode-attestation-doc.bin', 'evervault-valid-attestation-doc.b64'];
const valid = load(VALID);
const meta = manifest[VALID];
const at = (ms: number) => new Date(ms);
const RELEASE = { 0: meta.pcrs_nonzero['0'], 1: meta.pcrs_nonzero['1'], 2: meta.pcrs_nonzero['2'] };
const opts = (extra: Partial<VerifyAttestationOptions> = {}): VerifyAttestationOptions => ({
  releases: [RELEASE],
  now: at(meta.timestamp_ms),
  ...extra,
});

async function codeOf(doc: Uint8Array, options: VerifyAttestationOptions): Promise<string | undefined> {
  try {
    await verifyAttestation(doc, options);
    return undefined;
  } catch (err) {
    if (!(err instanceof AttestationError)) return `foreign: ${String(err)}`;
    return err.code;
  }
}

describe('genuine AWS documents', () => {
  test('the production document verifies against the AWS root at its own timestamp', async () => {
    const r = await verifyAttestation(valid, opts());
    expect(r.moduleId).toBe(meta.module_id);
    expect(r.timestamp).toBe(meta.timestamp_ms);
    expect(r.pcrs[0]).toBe(meta.pcrs_nonzero['0']);
    expect(r.pcrs[8]).toBe(meta.pcrs_nonzero['8']);
    expect(Object.keys(r.pcrs)).toHaveLength(16);
    expect(Buffer.from(r.nonce!).toString('hex')).toBe(meta.nonce.hex);
    expect(r.publicKey).toBeNull();
    expect(r.userData).toBeNull();
    expect(r.certificate.length).toBeGreaterThan(400);
    // 'any' (inspection tools) accepts it too.
    await verifyAttestation(valid, opts({ releases: 'any' }));
  });

  test.each(DEBUG)('debug-mode document %s is DEBUG_ENCLAVE, whatever the releases say', async (name) => {
    const doc = load(name);
    const now = at(manifest[name].timestamp_ms);
    expect(await codeOf(doc, { releases: 'any', now })).toBe('DEBUG_ENCLAVE');
    expect(await codeOf(doc, { releases: [RELEASE], now })).toBe('DEBUG_ENCLAVE');
  });

  test('another release is PCR_NOT_RELEASED; every pinned PCR must match', async () => {
    const other = '1'.repeat(96);
    expect(await codeOf(valid, opts({ releases: [{ 0: other }] }))).toBe('PCR_NOT_RELEASED');
    expect(await codeOf(valid, opts({ releases: [{ ...RELEASE, 8: other }] }))).toBe('PCR_NOT_RELEASED');
    // Any one of several releases is enough.
    await verifyAttestation(valid, opts({ releases: [{ 0: other }, RELEASE] }));
  });

  test('freshness: older than the maximum age, or dated ahead of the clock, is STALE', async () => {
    expect(await codeOf(valid, opts({ now: at(meta.timestamp_ms + 10 * 60_000 + 1) }))).toBe('STALE');
    await verifyAttestation(valid, opts({ now: at(meta.timestamp_ms + 10 * 60_000) }));
    expect(await codeOf(valid, opts({ now: at(meta.timestamp_ms + 60_000), maxAgeMs: 30_000 }))).toBe('STALE');
    // Within the clock-skew allowance a document may be dated slightly ahead.
    await verifyAttestation(valid, opts({ now: at(meta.timestamp_ms - 2000) }));
  });

  test('outside the chain’s validity is CERT_EXPIRED', async () => {
    expect(await codeOf(valid, opts({ now: at(meta.timestamp_ms + 4 * 3600_000), maxAgeMs: 10 * 3600_000 }))).toBe('CERT_EXPIRED');
    expect(await codeOf(valid, opts({ now: at(Date.UTC(2022, 9, 13, 8, 0)) }))).toBe('CERT_EXPIRED');
    expect(await codeOf(valid, opts({ now: new Date() }))).toBe('CERT_EXPIRED');
  });

  test('a nonce that differs, or is missing from the document, is NONCE_MISMATCH', async () => {
    const nonce = Buffer.from(meta.nonce.hex, 'hex');
    await verifyAttestation(valid, opts({ nonce }));
    expect(await codeOf(valid, opts({ nonce: flipped(nonce, 0) }))).toBe('NONCE_MISMATCH');
    expect(await codeOf(valid, opts({ nonce: nonce.subarray(1) }))).toBe('NONCE_MISMATCH');
  });

  test('a missing or empty policy is POLICY_REQUIRED, before the document is even read', async () => {
    const bad: unknown[] = [
      undefined,
      {},
      { releases: [] },
      { releases: [{}] },
      { releases: [{ 1: RELEASE[1] }] },
      { releases: [{ 0: RELEASE[0].toUpperCase() }] },
      { releases: [{ 0: RELEASE[0].slice(2) }] },
      { releases: [{ 0: '0'.repeat(96) }] },
      { releases: 'all' },
    ];
    for (const options of bad) {
      expect(await codeOf(new Uint8Array([1, 2, 3]), options as VerifyAttestationOptions)).toBe('POLICY_REQUIRED');
    }
    expect(await codeOf(valid, opts({ trustAnchorPem: 'not a certificate' }))).toBe('POLICY_REQUIRED');
  });
});

// --- Changed bytes, by region (docs/attestation.md). A tiny CBOR walker finds each
// region of the genuine document; a few offsets per region are flipped.
function head(bytes: Uint8Array, at: number): { major: number; length: number; headerEnd: number } {
  const first = bytes[at]!;
  const info = first & 0x1f;
  const width = info < 24 ? 0 : 1 << (info - 24);
  let length = info < 24 ? info : 0;
  for (let i = 0; i < width; i++) length = length * 256 + bytes[at + 1 + i]!;
  return { major: first >> 5, length, headerEnd: at + 1 + width };
}
function itemEnd(bytes: Uint8Array, at: number): number {
  const h = head(bytes, at);
  if (h.major === 2 || h.major === 3) return h.headerEnd + h.length;
  if (h.major === 4) {
    let p = h.headerEnd;
    for (let i = 0; i < h.length; i++) p = itemEnd(bytes, p);
    return p;
  }
  if (h.major === 5) {
    let p = h.headerEnd;
    for (let i = 0; i < 2 * h.length; i++) p = itemEnd(bytes, p);
    return p;
  }
  return h.headerEnd;
}

interface Region {
  name: string;
  start: number;
  end: number;
  codes: string[];
}

function regionsOf(doc: Uint8Array): Region[] {
  const regions: Region[] = [];
  const arrayHeader = head(doc, 0).headerEnd; // 0x84
  const protectedEnd = itemEnd(doc, arrayHeader);
  const unprotectedEnd = itemEnd(doc, protectedEnd);
  const payloadHead = head(doc, unprotectedEnd);
  const payloadStart = payloadHead.headerEnd;
  const payloadEnd = payloadStart + payloadHead.length;
  regions.push({ name: 'COSE array and protected header', start: 0, end: protectedEnd, codes: ['MALFORMED'] });
  regions.push({ name: 'unprotected header and payload length', start: protectedEnd, end: payloadStart, codes: ['MALFORMED'] });
  const mapHead = head(doc, payloadStart);
  let p = mapHead.headerEnd;
  const valueCodes: Record<string, string[]> = {
    module_id: ['SIGNATURE_INVALID', 'MALFORMED'],
    digest: ['MALFORMED'],
    timestamp: ['SIGNATURE_INVALID', 'MALFORMED'],
    pcrs: ['SIGNATURE_INVALID', 'MALFORMED'],
    certificate: ['CHAIN_UNTRUSTED', 'MALFORMED'],
    cabundle: ['CHAIN_UNTRUSTED', 'MALFORMED'],
    public_key: ['SIGNATURE_INVALID', 'MALFORMED'],
    user_data: ['SIGNATURE_INVALID', 'MALFORMED'],
    nonce: ['SIGNATURE_INVALID', 'MALFORMED'],
  };
  for (let i = 0; i < mapHead.length; i++) {
    const keyStart = p;
    const keyEnd = itemEnd(doc, p);
    const key = Buffer.from(doc.subarray(head(doc, keyStart).headerEnd, keyEnd)).toString();
    const valueEnd = itemEnd(doc, keyEnd);
    regions.push({ name: `key ${key}`, start: keyStart, end: keyEnd, codes: ['MALFORMED'] });
    regions.push({ name: `value of ${key}`, start: keyEnd, end: valueEnd, codes: valueCodes[key]! });
    p = valueEnd;
  }
  expect(p).toBe(payloadEnd);
  const sigHead = head(doc, payloadEnd);
  regions.push({ name: 'signature length', start: payloadEnd, end: sigHead.headerEnd, codes: ['MALFORMED'] });
  regions.push({ name: 'signature', start: sigHead.headerEnd, end: doc.length, codes: ['SIGNATURE_INVALID'] });
  return regions;
}

describe('a changed byte fails with the code documented for its region', () => {
  const regions = regionsOf(valid);

  test.each(regions.map((r) => [r.name, r] as const))('%s', async (_name, region) => {
    const width = region.end - region.start;
    const samples = Math.min(width, 12);
    const seen = new Set<string>();
    for (let s = 0; s < samples; s++) {
      const offset = region.start + Math.floor((s * width) / samples);
      for (const bit of [0, 5]) {
        const code = await codeOf(flipped(valid, offset, bit), opts({ releases: 'any' }));
        expect({ offset, bit, code }).toEqual({ offset, bit, code: expect.stringMatching(new RegExp(`^(${region.codes.join('|')})$`)) });
        seen.add(code!);
      }
    }
    expect(seen.size).toBeGreaterThan(0);
  });

  test('truncation at sampled offsets and appended bytes are MALFORMED', async () => {
    for (const cut of [0, 1, 5, 100, 2000, valid.length - 97, valid.length - 1]) {
      expect(await codeOf(valid.subarray(0, cut), opts())).toBe('MALFORMED');
    }
    expect(await codeOf(new Uint8Array([...valid, 0]), opts())).toBe('MALFORMED');
    expect(await codeOf(new Uint8Array(20_000), opts())).toBe('MALFORMED');
  });
});

describe('chains the verifier must refuse', () => {
  const now = new Date();
  const fresh = { releases: 'any' as const, now };

  test('a foreign root with AWS’s subject name is CHAIN_UNTRUSTED against the AWS anchor', async () => {
    const chain = await makeChain(now, AWS_ROOT_SUBJECT);
    expect(chain.root.cert.subject).toBe(AWS_ROOT_SUBJECT);
    const doc = documentFromChain(chain, now);
    expect(await codeOf(doc, fresh)).toBe('CHAIN_UNTRUSTED');
    // The same document verifies only when that root is chosen explicitly.
    await verifyAttestation(doc, { ...fresh, trustAnchorPem: chain.root.cert.toString('pem') });
  });

  test('the real AWS root at the head of a chain it did not sign is CHAIN_UNTRUSTED', async () => {
    const chain = await makeChain(now, AWS_ROOT_SUBJECT);
    const awsRoot = new x509.X509Certificate(readFileSync(join(NITRO, 'aws-nitro-enclaves-root-g1.pem'), 'utf8'));
    const doc = documentFromChain(chain, now, {
      cabundle: [new Uint8Array(awsRoot.rawData), ...chain.intermediates.map((c) => derOf(c.cert))],
    });
    expect(await codeOf(doc, fresh)).toBe('CHAIN_UNTRUSTED');
  });

  test('a document signed by a key other than the leaf’s is SIGNATURE_INVALID', async () => {
    const chain = await makeChain(now);
    const doc = documentFromChain(chain, now, { signer: chain.intermediates[2]! });
    expect(await codeOf(doc, { ...fresh, trustAnchorPem: chain.root.cert.toString('pem') })).toBe('SIGNATURE_INVALID');
  });

  test('a missing link, a reordered bundle, a CA leaf, a non-CA or over-long path are CHAIN_UNTRUSTED', async () => {
    const chain = await makeChain(now);
    const anchor = { ...fresh, trustAnchorPem: chain.root.cert.toString('pem') };
    const [regional, zonal, instance] = chain.intermediates.map((c) => derOf(c.cert)) as [Uint8Array, Uint8Array, Uint8Array];
    const rootDer = derOf(chain.root.cert);
    expect(await codeOf(documentFromChain(chain, now, { cabundle: [rootDer, regional, instance] }), anchor)).toBe('CHAIN_UNTRUSTED');
    expect(await codeOf(documentFromChain(chain, now, { cabundle: [rootDer, zonal, regional, instance] }), anchor)).toBe('CHAIN_UNTRUSTED');

    // The leaf is a CA.
    const caLeaf = await issue(chain.intermediates[2]!, now, { ca: true, pathLength: 0 });
    expect(await codeOf(documentFromChain({ ...chain, leaf: caLeaf }, now), anchor)).toBe('CHAIN_UNTRUSTED');
    // An intermediate that is not a CA.
    const notCa = await issue(chain.root, now, { ca: false, usage: x509.KeyUsageFlags.keyCertSign });
    const leafUnderNotCa = await issue(notCa, now, { ca: false });
    expect(
      await codeOf(buildDocument({ now, signer: leafUnderNotCa, certificate: derOf(leafUnderNotCa.cert), cabundle: [rootDer, derOf(notCa.cert)] }), anchor),
    ).toBe('CHAIN_UNTRUSTED');
    // pathLength 0 with a CA below it.
    const tight = await issue(chain.root, now, { ca: true, pathLength: 0 });
    const below = await issue(tight, now, { ca: true, pathLength: 0 });
    const leaf = await issue(below, now, { ca: false });
    expect(
      await codeOf(buildDocument({ now, signer: leaf, certificate: derOf(leaf.cert), cabundle: [rootDer, derOf(tight.cert), derOf(below.cert)] }), anchor),
    ).toBe('CHAIN_UNTRUSTED');
    // A CA without keyCertSign, and a leaf without digitalSignature.
    const noSign = await issue(chain.root, now, { ca: true, usage: x509.KeyUsageFlags.digitalSignature });
    const leaf2 = await issue(noSign, now, { ca: false });
    expect(
      await codeOf(buildDocument({ now, signer: leaf2, certificate: derOf(leaf2.cert), cabundle: [rootDer, derOf(noSign.cert)] }), anchor),
    ).toBe('CHAIN_UNTRUSTED');
    const mute = await issue(chain.intermediates[2]!, now, { ca: false, usage: x509.KeyUsageFlags.keyEncipherment });
    expect(await codeOf(documentFromChain({ ...chain, leaf: mute }, now), anchor)).toBe('CHAIN_UNTRUSTED');
  });

  test('a document dated beyond the clock-skew allowance is STALE', async () => {
    const chain = await makeChain(now);
    const anchor = { ...fresh, trustAnchorPem: chain.root.cert.toString('pem') };
    const ahead = documentFromChain(chain, now, { extra: [['timestamp', BigInt(now.getTime() + 5 * 60_000)]] });
    expect(await codeOf(ahead, anchor)).toBe('STALE');
    const slightlyAhead = documentFromChain(chain, now, { extra: [['timestamp', BigInt(now.getTime() + 30_000)]] });
    await verifyAttestation(slightlyAhead, anchor);
  });

  test('an intermediate outside its validity is CERT_EXPIRED', async () => {
    const chain = await makeChain(now);
    const anchor = { ...fresh, trustAnchorPem: chain.root.cert.toString('pem') };
    const expired = await issue(chain.root, now, { ca: true, startHours: -48, hours: 24 });
    const leaf = await issue(expired, now, { ca: false });
    const doc = buildDocument({ now, signer: leaf, certificate: derOf(leaf.cert), cabundle: [derOf(chain.root.cert), derOf(expired.cert)] });
    expect(await codeOf(doc, anchor)).toBe('CERT_EXPIRED');
  });

  test('payloads that are not enclave documents are MALFORMED', async () => {
    const chain = await makeChain(now);
    const anchor = { ...fresh, trustAnchorPem: chain.root.cert.toString('pem') };
    const pcrs = pcrMap(new Uint8Array(48).fill(0xaa));
    // A NitroTPM document: `nitrotpm_pcrs` instead of `pcrs`.
    expect(await codeOf(documentFromChain(chain, now, { drop: ['pcrs'], extra: [['nitrotpm_pcrs', pcrs]] }), anchor)).toBe('MALFORMED');
    expect(await codeOf(documentFromChain(chain, now, { extra: [['digest', 'SHA256']] }), anchor)).toBe('MALFORMED');
    expect(await codeOf(documentFromChain(chain, now, { extra: [['unexpected', 1]] }), anchor)).toBe('MALFORMED');
    expect(await codeOf(documentFromChain(chain, now, { drop: ['nonce'] }), anchor)).toBe('MALFORMED');
    const shortPcr = new Map(pcrs);
    shortPcr.set(5, new Uint8Array(32));
    expect(await codeOf(documentFromChain(chain, now, { pcrs: shortPcr }), anchor)).toBe('MALFORMED');
    expect(await codeOf(documentFromChain(chain, now, { extra: [['timestamp', 'yesterday']] }), anchor)).toBe('MALFORMED');
    expect(await codeOf(documentFromChain(chain, now, { extra: [['user_data', new Uint8Array(2000)]] }), anchor)).toBe('MALFORMED');
  });
});

describe('caching', () => {
  test('a cached chain gives the same answers, and a changed certificate is still refused', async () => {
    clearChainCache();
    await verifyAttestation(valid, opts());
    await verifyAttestation(valid, opts());
    const region = regionsOf(valid).find((r) => r.name === 'value of certificate')!;
    expect(await codeOf(flipped(valid, region.end - 50), opts())).toMatch(/^(CHAIN_UNTRUSTED|MALFORMED)$/);
    // Expiry is checked on every call, cached or not.
    expect(await codeOf(valid, opts({ now: at(meta.timestamp_ms + 4 * 3600_000), maxAgeMs: 10 * 3600_000 }))).toBe('CERT_EXPIRED');
  });
});

describe('expectCode helper sanity', () => {
  test('POLICY_REQUIRED is an AttestationError', async () => {
    await expectCode(() => verifyAttestation(valid, { releases: [] }), AttestationError, 'POLICY_REQUIRED');
  });
});

describe('no input makes the verifier throw anything but AttestationError', () => {
  test('random mutations of a genuine document', async () => {
    const fc = (await import('fast-check')).default;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), async (edits) => {
        const doc = Uint8Array.from(valid);
        for (const [offset, value] of edits) doc[offset] = value;
        const code = await codeOf(doc, opts({ releases: 'any' }));
        expect(code === undefined || !code.startsWith('foreign')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test('random bytes', async () => {
    const fc = (await import('fast-check')).default;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        expect(await codeOf(bytes, opts())).toBe('MALFORMED');
      }),
      { numRuns: 500 },
    );
  });
});
