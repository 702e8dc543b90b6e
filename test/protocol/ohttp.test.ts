import fc from 'fast-check';
import { concat, toHex, utf8 } from '../../protocol/bytes';
import { OhttpError } from '../../protocol/errors';
import {
  AEAD_AES_128_GCM,
  AEAD_AES_256_GCM,
  AEAD_CHACHA20_POLY1305,
  KDF_HKDF_SHA256,
  KEM_P256_HKDF_SHA256,
  KEM_X25519_HKDF_SHA256,
  generateKeyPair,
  setupRecipient,
} from '../../protocol/hpke';
import {
  decapsulateRequest,
  decodeKeyConfig,
  decodeKeyConfigList,
  deriveResponseKeys,
  encapsulateRequest,
  encapsulatedRequestLength,
  encodeKeyConfig,
  encodeKeyConfigList,
  requestInfo,
  type GatewayKey,
  type KeyConfig,
} from '../../protocol/ohttp';
import { PADDING_BUCKETS, padToBucket } from '../../protocol/padding';
import { expectCode, flipped, hex, loadJson } from '../helpers/fixtures';

const A = loadJson('vectors/rfc9458-appendix-a.json');
const P256_VECTOR = loadJson('vectors/rfc9180-a3-p256-sha256-aes128gcm-base.json');

function keyPair(kemId: number, keyId = 1, aeadIds = [AEAD_AES_128_GCM]) {
  const pair = generateKeyPair(kemId);
  const config: KeyConfig = {
    keyId,
    kemId,
    publicKey: pair.publicKey,
    symmetricAlgorithms: aeadIds.map((aeadId) => ({ kdfId: KDF_HKDF_SHA256, aeadId })),
  };
  return { config, privateKey: pair.privateKey };
}

describe('RFC 9458 Appendix A, byte for byte', () => {
  const config = decodeKeyConfig(hex(A.key_config));
  const suite = { kemId: A.suite.kem_id, kdfId: A.suite.kdf_id, aeadId: A.suite.aead_id };

  test('the key configuration decodes to its fields and re-encodes to the same bytes', () => {
    expect(config.keyId).toBe(A.key_config_decoded.key_id);
    expect(config.kemId).toBe(A.key_config_decoded.kem_id);
    expect(toHex(config.publicKey)).toBe(A.gateway_pkR);
    expect(config.symmetricAlgorithms).toEqual(
      A.key_config_decoded.symmetric_algorithms.map((a: { kdf_id: number; aead_id: number }) => ({
        kdfId: a.kdf_id,
        aeadId: a.aead_id,
      })),
    );
    expect(toHex(encodeKeyConfig(config))).toBe(A.key_config);
  });

  test('the request info is the label, a zero byte and the header', () => {
    expect(toHex(requestInfo(config.keyId, suite))).toBe(A.info);
    expect(A.encapsulated_request.startsWith(A.hdr)).toBe(true);
  });

  test('the client encapsulates the request to the published bytes', async () => {
    const { encapsulated } = await encapsulateRequest(config, hex(A.request_bhttp), { ephemeralPrivateKey: hex(A.client_skE) });
    expect(toHex(encapsulated.subarray(0, 7))).toBe(A.hdr);
    expect(toHex(encapsulated.subarray(7, 7 + 32))).toBe(A.client_pkE_enc);
    expect(toHex(encapsulated)).toBe(A.encapsulated_request);
    expect(encapsulated.length).toBe(A.encapsulated_request_length);
  });

  test('the gateway opens it, and every response intermediate matches', async () => {
    const { request, context } = await decapsulateRequest([{ config, privateKey: hex(A.gateway_skR) }], hex(A.encapsulated_request));
    expect(toHex(request)).toBe(A.request_bhttp);
    expect(toHex(context.enc)).toBe(A.client_pkE_enc);

    // The exported secret, from an HPKE context set up exactly as the gateway does.
    const recipient = await setupRecipient(suite, { privateKey: hex(A.gateway_skR) }, hex(A.client_pkE_enc), hex(A.info));
    const secret = await recipient.export(utf8(A.export_context), 16);
    expect(toHex(secret)).toBe(A.exported_secret);
    const keys = await deriveResponseKeys(suite, secret, hex(A.client_pkE_enc), hex(A.response_nonce));
    expect(toHex(keys.salt)).toBe(A.salt);
    expect(toHex(keys.prk)).toBe(A.prk);
    expect(toHex(keys.key)).toBe(A.aead_key);
    expect(toHex(keys.nonce)).toBe(A.aead_nonce);

    const response = await context.encapsulateResponse(hex(A.response_bhttp), { responseNonce: hex(A.response_nonce) });
    expect(toHex(response)).toBe(A.encapsulated_response);
    expect(response.length).toBe(A.encapsulated_response_length);
  });

  test('the client opens the published response', async () => {
    const { context } = await encapsulateRequest(config, hex(A.request_bhttp), { ephemeralPrivateKey: hex(A.client_skE) });
    expect(toHex(await context.decapsulateResponse(hex(A.encapsulated_response)))).toBe(A.response_bhttp);
  });
});

describe('DHKEM(P-256) through OHTTP with the RFC 9180 A.3.1 keys', () => {
  const V = P256_VECTOR;
  const config: KeyConfig = {
    keyId: 7,
    kemId: KEM_P256_HKDF_SHA256,
    publicKey: hex(V.pkRm),
    symmetricAlgorithms: [{ kdfId: KDF_HKDF_SHA256, aeadId: AEAD_AES_128_GCM }],
  };
  const body = padToBucket(hex(A.request_bhttp));

  test.each([
    ['private key', (): GatewayKey => ({ config, privateKey: hex(V.skRm) })],
    [
      'DH function returning the raw x-coordinate (the KMS form)',
      (): GatewayKey => ({
        config,
        dh: async (enc: Uint8Array) => {
          expect(toHex(enc)).toBe(V.pkEm);
          return hex(V.dh_x_coordinate);
        },
      }),
    ],
  ])('the gateway opens a request with a %s', async (_label, key) => {
    const { encapsulated, context: client } = await encapsulateRequest(config, body, { ephemeralPrivateKey: hex(V.skEm) });
    expect(toHex(encapsulated.subarray(7, 7 + 65))).toBe(V.enc);
    // On the wire: the bucket plus 88 bytes (7 header + 65 enc + 16 tag), DESIGN.md §4.
    expect(encapsulated.length).toBe(1024 + 88);
    const { request, context } = await decapsulateRequest([key()], encapsulated);
    expect(toHex(request)).toBe(toHex(body));
    const response = await context.encapsulateResponse(utf8('reply'));
    expect(new TextDecoder().decode(await client.decapsulateResponse(response))).toBe('reply');
  });
});

describe('key configurations and lists', () => {
  const x = keyPair(KEM_X25519_HKDF_SHA256, 1, [AEAD_AES_128_GCM, AEAD_CHACHA20_POLY1305]);
  const p = keyPair(KEM_P256_HKDF_SHA256, 2);

  test('a list round-trips, each entry with its 2-byte length', () => {
    const list = encodeKeyConfigList([x.config, p.config]);
    const first = encodeKeyConfig(x.config);
    expect(list[0]! * 256 + list[1]!).toBe(first.length);
    expect(decodeKeyConfigList(list)).toEqual([x.config, p.config]);
  });

  test('configurations with an unknown KEM are skipped; a list of only those is UNSUPPORTED_SUITE', () => {
    const unknown = concat(Uint8Array.of(9, 0x00, 0x12), new Uint8Array(97), Uint8Array.of(0, 4, 0, 1, 0, 1));
    const entry = concat(Uint8Array.of(0, unknown.length), unknown);
    const list = concat(entry, encodeKeyConfigList([p.config]));
    expect(decodeKeyConfigList(list)).toEqual([p.config]);
    expect(() => decodeKeyConfigList(entry)).toThrow(OhttpError);
    try {
      decodeKeyConfigList(entry);
    } catch (err) {
      expect((err as OhttpError).code).toBe('UNSUPPORTED_SUITE');
    }
  });

  test('every truncation of a configuration is TRUNCATED; trailing bytes are MALFORMED', async () => {
    const bytes = encodeKeyConfig(x.config);
    for (let cut = 0; cut < bytes.length; cut++) {
      await expectCode(() => decodeKeyConfig(bytes.subarray(0, cut)), OhttpError, 'TRUNCATED');
    }
    await expectCode(() => decodeKeyConfig(concat(bytes, Uint8Array.of(0))), OhttpError, 'MALFORMED');
  });

  test('every truncation of a list is a shorter valid list at entry boundaries, else TRUNCATED', async () => {
    const list = encodeKeyConfigList([x.config, p.config]);
    const boundary = 2 + encodeKeyConfig(x.config).length;
    for (let cut = 1; cut < list.length; cut++) {
      if (cut === boundary) expect(decodeKeyConfigList(list.subarray(0, cut))).toEqual([x.config]);
      else await expectCode(() => decodeKeyConfigList(list.subarray(0, cut)), OhttpError, 'TRUNCATED');
    }
    await expectCode(() => decodeKeyConfigList(new Uint8Array(0)), OhttpError, 'MALFORMED');
  });

  test('bad algorithm lists and invalid public keys are refused', async () => {
    const good = encodeKeyConfig(p.config);
    const noAlgs = concat(good.subarray(0, 3 + 65), Uint8Array.of(0, 0));
    await expectCode(() => decodeKeyConfig(noAlgs), OhttpError, 'MALFORMED');
    const oddAlgs = concat(good.subarray(0, 3 + 65), Uint8Array.of(0, 3, 0, 1, 0));
    await expectCode(() => decodeKeyConfig(oddAlgs), OhttpError, 'MALFORMED');
    await expectCode(() => decodeKeyConfig(flipped(good, 3 + 64)), OhttpError, 'INVALID_KEY'); // off the curve
    await expectCode(() => decodeKeyConfig(flipped(good, 3)), OhttpError, 'INVALID_KEY'); // not uncompressed form
    await expectCode(() => encodeKeyConfig({ ...p.config, symmetricAlgorithms: [] }), OhttpError, 'MALFORMED');
    await expectCode(() => encodeKeyConfig({ ...p.config, keyId: 256 }), OhttpError, 'MALFORMED');
    await expectCode(() => encodeKeyConfig({ ...p.config, kemId: 0x0011 }), OhttpError, 'UNSUPPORTED_SUITE');
    await expectCode(() => encodeKeyConfig({ ...p.config, publicKey: new Uint8Array(64) }), OhttpError, 'INVALID_KEY');
  });
});

describe('requests fail closed with the right code', () => {
  const gw = keyPair(KEM_X25519_HKDF_SHA256, 5, [AEAD_AES_128_GCM, AEAD_AES_256_GCM]);
  const keys: GatewayKey[] = [gw];
  const body = utf8('a request body');

  async function sealed(config = gw.config, options = {}) {
    return (await encapsulateRequest(config, body, options)).encapsulated;
  }

  test('a request to a key id the gateway does not hold is KEY_ID_UNKNOWN', async () => {
    const other = keyPair(KEM_X25519_HKDF_SHA256, 6);
    await expectCode(async () => decapsulateRequest(keys, await sealed(other.config)), OhttpError, 'KEY_ID_UNKNOWN');
    await expectCode(async () => decapsulateRequest([], await sealed()), OhttpError, 'KEY_ID_UNKNOWN');
  });

  test('the right key id with the wrong key is DECRYPT_FAILED', async () => {
    const impostor = keyPair(KEM_X25519_HKDF_SHA256, 5);
    await expectCode(async () => decapsulateRequest([impostor], await sealed()), OhttpError, 'DECRYPT_FAILED');
  });

  test('suite ids that are unknown or not offered by the key are UNSUPPORTED_SUITE', async () => {
    const good = await sealed();
    const withHeader = (kem: number, kdf: number, aead: number) =>
      concat(Uint8Array.of(5, kem >> 8, kem & 0xff, kdf >> 8, kdf & 0xff, aead >> 8, aead & 0xff), good.subarray(7));
    for (const [kem, kdf, aead] of [
      [KEM_P256_HKDF_SHA256, 1, 1], // not this key's KEM
      [0x0099, 1, 1],
      [KEM_X25519_HKDF_SHA256, 2, 1],
      [KEM_X25519_HKDF_SHA256, 1, AEAD_CHACHA20_POLY1305], // supported, but not offered by this key
      [KEM_X25519_HKDF_SHA256, 1, 0xffff],
    ] as const) {
      await expectCode(() => decapsulateRequest(keys, withHeader(kem, kdf, aead)), OhttpError, 'UNSUPPORTED_SUITE');
    }
    // The client refuses a configuration whose pairs it supports none of.
    const exotic = { ...gw.config, symmetricAlgorithms: [{ kdfId: 3, aeadId: 1 }] };
    await expectCode(() => encapsulateRequest(exotic, body), OhttpError, 'UNSUPPORTED_SUITE');
  });

  test('truncation at every byte offset: TRUNCATED before a whole tag, DECRYPT_FAILED after', async () => {
    const good = await sealed();
    const minimum = 7 + 32 + 16;
    for (let cut = 0; cut < good.length; cut++) {
      await expectCode(() => decapsulateRequest(keys, good.subarray(0, cut)), OhttpError, cut < minimum ? 'TRUNCATED' : 'DECRYPT_FAILED');
    }
  });

  test('every flipped bit is refused: header bits by id or suite, the rest DECRYPT_FAILED', async () => {
    const good = await sealed();
    for (let i = 0; i < good.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = flipped(good, i, bit);
        let code: string | undefined;
        try {
          await decapsulateRequest(keys, bad);
        } catch (err) {
          expect(err).toBeInstanceOf(OhttpError);
          code = (err as OhttpError).code;
        }
        if (i === 0) expect(code).toBe('KEY_ID_UNKNOWN');
        else if (i < 7) expect(['UNSUPPORTED_SUITE', 'DECRYPT_FAILED']).toContain(code);
        else expect(code).toBe('DECRYPT_FAILED');
        // A header bit that still names an offered suite (AES-128 ↔ AES-256) changes the HPKE info: DECRYPT_FAILED.
      }
    }
  });

  test('oversize bodies are BODY_TOO_LARGE, on both sides and before any crypto', async () => {
    const max = PADDING_BUCKETS[PADDING_BUCKETS.length - 1]!;
    await expectCode(() => encapsulateRequest(gw.config, new Uint8Array(max + 1)), OhttpError, 'BODY_TOO_LARGE');
    const atMax = (await encapsulateRequest(gw.config, new Uint8Array(max))).encapsulated;
    expect(atMax.length).toBe(encapsulatedRequestLength({ kemId: KEM_X25519_HKDF_SHA256, kdfId: 1, aeadId: 1 }, max));
    expect((await decapsulateRequest(keys, atMax)).request.length).toBe(max);
    const tooBig = concat(atMax, Uint8Array.of(0));
    let dhCalls = 0;
    const counting: GatewayKey = { config: gw.config, dh: async () => (dhCalls++, new Uint8Array(32)) };
    await expectCode(() => decapsulateRequest([counting], tooBig), OhttpError, 'BODY_TOO_LARGE');
    expect(dhCalls).toBe(0);
    await expectCode(() => decapsulateRequest(keys, atMax, { maxBodyLength: 1024 }), OhttpError, 'BODY_TOO_LARGE');
  });
});

describe('responses', () => {
  const gw = keyPair(KEM_P256_HKDF_SHA256, 3);

  async function exchange() {
    const { encapsulated, context: client } = await encapsulateRequest(gw.config, utf8('question'));
    const { context: server } = await decapsulateRequest([gw], encapsulated);
    return { client, server };
  }

  test('a response is opened once; truncated or altered responses are refused', async () => {
    const { client, server } = await exchange();
    const response = await server.encapsulateResponse(utf8('answer'));
    await expectCode(() => server.encapsulateResponse(utf8('second answer')), OhttpError, 'CONTEXT_USED');
    for (let cut = 0; cut < 16 + 16; cut++) {
      await expectCode(() => client.decapsulateResponse(response.subarray(0, cut)), OhttpError, 'TRUNCATED');
    }
    for (const i of [0, 15, 16, response.length - 1]) {
      await expectCode(() => client.decapsulateResponse(flipped(response, i)), OhttpError, 'DECRYPT_FAILED');
    }
    expect(new TextDecoder().decode(await client.decapsulateResponse(response))).toBe('answer');
    await expectCode(() => client.decapsulateResponse(response), OhttpError, 'CONTEXT_USED');
  });

  test('a response sealed for another request is DECRYPT_FAILED', async () => {
    const a = await exchange();
    const b = await exchange();
    const forB = await b.server.encapsulateResponse(utf8('for b'));
    await expectCode(() => a.client.decapsulateResponse(forB), OhttpError, 'DECRYPT_FAILED');
  });
});

describe('no input makes a decoder throw anything but OhttpError', () => {
  const gw = keyPair(KEM_X25519_HKDF_SHA256, 1);

  test('key configurations and lists from random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        for (const decode of [decodeKeyConfig, decodeKeyConfigList]) {
          try {
            decode(bytes);
          } catch (err) {
            expect(err).toBeInstanceOf(OhttpError);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('encapsulated requests from random bytes, with and without a valid header', async () => {
    const header = Uint8Array.of(1, 0, 0x20, 0, 1, 0, 1);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 120 }), fc.boolean(), async (bytes, withHeader) => {
        try {
          await decapsulateRequest([gw], withHeader ? concat(header, bytes) : bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(OhttpError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
