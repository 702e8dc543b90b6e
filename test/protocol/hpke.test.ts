import * as HPKE from 'hpke';
import fc from 'fast-check';
import { hkdfSync } from 'node:crypto';
import { toHex, utf8 } from '../../protocol/bytes';
import { HpkeError } from '../../protocol/errors';
import {
  AEAD_AES_128_GCM,
  AEAD_AES_256_GCM,
  AEAD_CHACHA20_POLY1305,
  KDF_HKDF_SHA256,
  KEM_P256_HKDF_SHA256,
  KEM_X25519_HKDF_SHA256,
  deriveKeyPair,
  generateKeyPair,
  kdfFor,
  publicKeyFromPrivate,
  setupRecipient,
  setupSender,
  type HpkeSuite,
} from '../../protocol/hpke';
import { expectCode, flipped, hex, loadJson } from '../helpers/fixtures';

interface Vector {
  kem_id: number;
  kdf_id: number;
  aead_id: number;
  info: string;
  ikmE: string;
  ikmR: string;
  skEm: string;
  pkEm: string;
  skRm: string;
  pkRm: string;
  enc: string;
  dh_x_coordinate?: string;
  encryptions: { seq: number; pt: string; aad: string; ct: string }[];
  exports: { exporter_context: string; L: number; exported_value: string }[];
}

const VECTORS: [string, Vector][] = [
  ['RFC 9180 A.1.1 X25519', loadJson('vectors/rfc9180-a1-x25519-sha256-aes128gcm-base.json')],
  ['RFC 9180 A.3.1 P-256', loadJson('vectors/rfc9180-a3-p256-sha256-aes128gcm-base.json')],
];

const suiteOf = (v: Vector): HpkeSuite => ({ kemId: v.kem_id, kdfId: v.kdf_id, aeadId: v.aead_id });

describe.each(VECTORS)('%s', (_name, v) => {
  const suite = suiteOf(v);

  test('DeriveKeyPair reproduces skRm/pkRm and skEm/pkEm', async () => {
    const r = await deriveKeyPair(v.kem_id, hex(v.ikmR));
    expect(toHex(r.privateKey)).toBe(v.skRm);
    expect(toHex(r.publicKey)).toBe(v.pkRm);
    const e = await deriveKeyPair(v.kem_id, hex(v.ikmE));
    expect(toHex(e.privateKey)).toBe(v.skEm);
    expect(toHex(publicKeyFromPrivate(v.kem_id, hex(v.skEm)))).toBe(v.pkEm);
  });

  test('sender with the fixed ephemeral key gives enc, every ciphertext and every export', async () => {
    const sender = await setupSender(suite, hex(v.pkRm), hex(v.info), { ephemeralPrivateKey: hex(v.skEm) });
    expect(toHex(sender.enc)).toBe(v.enc);
    let seq = 0;
    for (const e of v.encryptions) {
      // The vector lists selected sequence numbers: seal fillers to advance the context.
      while (seq < e.seq) {
        await sender.seal(new Uint8Array(0));
        seq++;
      }
      expect(toHex(await sender.seal(hex(e.pt), hex(e.aad)))).toBe(e.ct);
      seq++;
    }
    for (const x of v.exports) {
      expect(toHex(await sender.export(hex(x.exporter_context), x.L))).toBe(x.exported_value);
    }
  });

  test('recipient with the private key opens every ciphertext and gives every export', async () => {
    const recipient = await setupRecipient(suite, { privateKey: hex(v.skRm) }, hex(v.enc), hex(v.info));
    await openAll(recipient, v);
  });
});

async function openAll(recipient: Awaited<ReturnType<typeof setupRecipient>>, v: Vector) {
  const sender = await setupSender(suiteOf(v), hex(v.pkRm), hex(v.info), { ephemeralPrivateKey: hex(v.skEm) });
  let seq = 0;
  for (const e of v.encryptions) {
    while (seq < e.seq) {
      // Advance the recipient through ciphertexts the vector omits.
      await recipient.open(await sender.seal(new Uint8Array(0)));
      seq++;
    }
    await sender.seal(new Uint8Array(0)); // keep the filler sender in step
    expect(toHex(await recipient.open(hex(e.ct), hex(e.aad)))).toBe(e.pt);
    seq++;
  }
  for (const x of v.exports) {
    expect(toHex(await recipient.export(hex(x.exporter_context), x.L))).toBe(x.exported_value);
  }
}

describe('recipient with a DH function instead of a private key (the KMS form)', () => {
  const v = VECTORS[1]![1];

  test('the raw ECDH x-coordinate of A.3.1 opens every ciphertext', async () => {
    const seen: string[] = [];
    const dh = async (enc: Uint8Array) => {
      seen.push(toHex(enc));
      return hex(v.dh_x_coordinate!);
    };
    const recipient = await setupRecipient(suiteOf(v), { dh, publicKey: hex(v.pkRm) }, hex(v.enc), hex(v.info));
    expect(seen).toEqual([v.enc]);
    await openAll(recipient, v);
  });

  test('a DH output of the wrong length is DECAP_FAILED', async () => {
    const dh = async () => hex(v.dh_x_coordinate!).subarray(1);
    await expectCode(
      () => setupRecipient(suiteOf(v), { dh, publicKey: hex(v.pkRm) }, hex(v.enc), hex(v.info)),
      HpkeError,
      'DECAP_FAILED',
    );
  });

  test('an error thrown by the DH function reaches the caller unchanged', async () => {
    class KmsUnavailable extends Error {}
    const dh = async (): Promise<Uint8Array> => {
      throw new KmsUnavailable('throttled');
    };
    await expect(setupRecipient(suiteOf(v), { dh, publicKey: hex(v.pkRm) }, hex(v.enc), hex(v.info))).rejects.toBeInstanceOf(
      KmsUnavailable,
    );
  });

  test('a wrong DH output derives other keys: OPEN_FAILED', async () => {
    const wrong = flipped(hex(v.dh_x_coordinate!), 0);
    const recipient = await setupRecipient(suiteOf(v), { dh: async () => wrong, publicKey: hex(v.pkRm) }, hex(v.enc), hex(v.info));
    await expectCode(() => recipient.open(hex(v.encryptions[0]!.ct), hex(v.encryptions[0]!.aad)), HpkeError, 'OPEN_FAILED');
  });
});

const SUITES: HpkeSuite[] = [KEM_X25519_HKDF_SHA256, KEM_P256_HKDF_SHA256].flatMap((kemId) =>
  [AEAD_AES_128_GCM, AEAD_AES_256_GCM, AEAD_CHACHA20_POLY1305].map((aeadId) => ({ kemId, kdfId: KDF_HKDF_SHA256, aeadId })),
);

describe('interoperates with the library’s own WebCrypto DHKEM', () => {
  const libraryKem = (kemId: number) =>
    kemId === KEM_X25519_HKDF_SHA256 ? HPKE.KEM_DHKEM_X25519_HKDF_SHA256 : HPKE.KEM_DHKEM_P256_HKDF_SHA256;
  // WebCrypto in Node 20 has no ChaCha20-Poly1305: cross-check the AES suites.
  const crossSuites = SUITES.filter((s) => s.aeadId !== AEAD_CHACHA20_POLY1305);

  test.each(crossSuites)('library sender → our recipient, suite %o', async (suite) => {
    const lib = new HPKE.CipherSuite(
      libraryKem(suite.kemId),
      HPKE.KDF_HKDF_SHA256,
      suite.aeadId === AEAD_AES_128_GCM ? HPKE.AEAD_AES_128_GCM : HPKE.AEAD_AES_256_GCM,
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 40 }), async (pt, aad) => {
        const pair = generateKeyPair(suite.kemId);
        const pk = await lib.DeserializePublicKey(pair.publicKey);
        const { encapsulatedSecret, ctx } = await lib.SetupSender(pk, { info: utf8('interop') });
        const ct = await ctx.Seal(pt, aad);
        const r = await setupRecipient(suite, { privateKey: pair.privateKey }, encapsulatedSecret, utf8('interop'));
        expect(toHex(await r.open(ct, aad))).toBe(toHex(pt));
      }),
      { numRuns: 10 },
    );
  });

  test.each(crossSuites)('our sender → library recipient, suite %o', async (suite) => {
    const lib = new HPKE.CipherSuite(
      libraryKem(suite.kemId),
      HPKE.KDF_HKDF_SHA256,
      suite.aeadId === AEAD_AES_128_GCM ? HPKE.AEAD_AES_128_GCM : HPKE.AEAD_AES_256_GCM,
    );
    const pair = await lib.GenerateKeyPair(true);
    const pkRaw = await lib.SerializePublicKey(pair.publicKey);
    const sender = await setupSender(suite, pkRaw, utf8('interop'));
    const ct = await sender.seal(utf8('hello'), utf8('aad'));
    const ctx = await lib.SetupRecipient(pair, sender.enc, { info: utf8('interop') });
    expect(new TextDecoder().decode(await ctx.Open(ct, utf8('aad')))).toBe('hello');
  });
});

describe('every suite round-trips, and fails closed', () => {
  test.each(SUITES)('suite %o', async (suite) => {
    const pair = generateKeyPair(suite.kemId);
    const sender = await setupSender(suite, pair.publicKey, utf8('info'));
    const ct = await sender.seal(utf8('secret'), utf8('aad'));
    const r = await setupRecipient(suite, { privateKey: pair.privateKey }, sender.enc, utf8('info'));
    expect(new TextDecoder().decode(await r.open(ct, utf8('aad')))).toBe('secret');
    // A second recipient with the wrong aad, info or key cannot open it.
    const r2 = await setupRecipient(suite, { privateKey: pair.privateKey }, sender.enc, utf8('info'));
    await expectCode(() => r2.open(ct, utf8('other aad')), HpkeError, 'OPEN_FAILED');
    const r3 = await setupRecipient(suite, { privateKey: pair.privateKey }, sender.enc, utf8('other info'));
    await expectCode(() => r3.open(ct, utf8('aad')), HpkeError, 'OPEN_FAILED');
    const other = generateKeyPair(suite.kemId);
    const r4 = await setupRecipient(suite, { privateKey: other.privateKey }, sender.enc, utf8('info'));
    await expectCode(() => r4.open(ct, utf8('aad')), HpkeError, 'OPEN_FAILED');
  });

  test('unsupported KEM, KDF or AEAD ids are UNSUPPORTED_SUITE', async () => {
    const pk = generateKeyPair(KEM_X25519_HKDF_SHA256).publicKey;
    for (const suite of [
      { kemId: 0x0011, kdfId: 1, aeadId: 1 },
      { kemId: 0x0020, kdfId: 2, aeadId: 1 },
      { kemId: 0x0020, kdfId: 1, aeadId: 0xffff },
    ]) {
      await expectCode(() => setupSender(suite, pk, new Uint8Array(0)), HpkeError, 'UNSUPPORTED_SUITE');
    }
  });

  test('an invalid recipient public key is INVALID_KEY', async () => {
    const suite = { kemId: KEM_P256_HKDF_SHA256, kdfId: 1, aeadId: 1 };
    const pk = flipped(generateKeyPair(KEM_P256_HKDF_SHA256).publicKey, 64); // off the curve
    await expectCode(() => setupSender(suite, pk, new Uint8Array(0)), HpkeError, 'INVALID_KEY');
    await expectCode(() => setupSender(suite, pk.subarray(1), new Uint8Array(0)), HpkeError, 'INVALID_KEY');
  });

  test('an enc that is not a valid point, or of the wrong length, is DECAP_FAILED', async () => {
    const p256 = { kemId: KEM_P256_HKDF_SHA256, kdfId: 1, aeadId: 1 };
    const pair = generateKeyPair(KEM_P256_HKDF_SHA256);
    const enc = flipped(generateKeyPair(KEM_P256_HKDF_SHA256).publicKey, 64);
    await expectCode(() => setupRecipient(p256, { privateKey: pair.privateKey }, enc, new Uint8Array(0)), HpkeError, 'DECAP_FAILED');
    await expectCode(
      () => setupRecipient(p256, { privateKey: pair.privateKey }, enc.subarray(0, 64), new Uint8Array(0)),
      HpkeError,
      'DECAP_FAILED',
    );
    // X25519: a small-order point gives an all-zero DH output, which RFC 9180 §7.1.4 rejects.
    const x = { kemId: KEM_X25519_HKDF_SHA256, kdfId: 1, aeadId: 1 };
    const xPair = generateKeyPair(KEM_X25519_HKDF_SHA256);
    await expectCode(() => setupRecipient(x, { privateKey: xPair.privateKey }, new Uint8Array(32), new Uint8Array(0)), HpkeError, 'DECAP_FAILED');
  });

  test('an invalid recipient private key is INVALID_KEY', async () => {
    const p256 = { kemId: KEM_P256_HKDF_SHA256, kdfId: 1, aeadId: 1 };
    const enc = generateKeyPair(KEM_P256_HKDF_SHA256).publicKey;
    for (const sk of [new Uint8Array(32), new Uint8Array(32).fill(0xff), new Uint8Array(31).fill(1)]) {
      await expectCode(() => setupRecipient(p256, { privateKey: sk }, enc, new Uint8Array(0)), HpkeError, 'INVALID_KEY');
    }
  });
});

describe('HKDF-SHA256 on node:crypto HMAC', () => {
  const kdf = kdfFor(KDF_HKDF_SHA256);
  const library = HPKE.KDF_HKDF_SHA256();

  test('Expand(Extract(salt, ikm)) equals node’s crypto.hkdfSync, and each stage equals the HPKE library’s', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.integer({ min: 1, max: 255 }),
        async (salt, ikm, info, length) => {
          const prk = await kdf.extract(salt, ikm);
          const okm = await kdf.expand(prk, info, length);
          expect(toHex(okm)).toBe(Buffer.from(hkdfSync('sha256', ikm, salt, info, length)).toString('hex'));
          expect(toHex(prk)).toBe(toHex(await library.Extract(salt, ikm)));
          expect(toHex(okm)).toBe(toHex(await library.Expand(prk, info, length)));
        },
      ),
      { numRuns: 200 },
    );
  });

  test('lengths past 255 blocks are refused', async () => {
    const prk = await kdf.extract(new Uint8Array(0), new Uint8Array(32));
    await expect(kdf.expand(prk, new Uint8Array(0), 255 * 32 + 1)).rejects.toThrow(RangeError);
  });
});

describe('sequence exhaustion', () => {
  test('the library’s message-limit error surfaces as MESSAGE_LIMIT', async () => {
    // 2^96 seals cannot be run: make the library's context report the limit instead.
    const spy = jest.spyOn(HPKE.CipherSuite.prototype, 'SetupSender').mockImplementation(async () => ({
      encapsulatedSecret: new Uint8Array(32),
      ctx: {
        Seal: async () => {
          throw new HPKE.MessageLimitReachedError('limit');
        },
      } as unknown as HPKE.SenderContext,
    }));
    try {
      const suite = { kemId: KEM_X25519_HKDF_SHA256, kdfId: KDF_HKDF_SHA256, aeadId: AEAD_AES_128_GCM };
      const sender = await setupSender(suite, generateKeyPair(KEM_X25519_HKDF_SHA256).publicKey, new Uint8Array(0));
      await expectCode(() => sender.seal(utf8('x')), HpkeError, 'MESSAGE_LIMIT');
    } finally {
      spy.mockRestore();
    }
  });
});
