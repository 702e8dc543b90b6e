import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { CmsError, openCiphertextForRecipient, parseCiphertextForRecipient, recipientKeyId, sealCiphertextForRecipient } from '../../protocol/cms';
import { toHex } from '../../protocol';
import { FIXTURES, expectCode, flipped } from '../helpers/fixtures';

const KMS = join(FIXTURES, 'kms');
const read = (...p: string[]) => readFileSync(join(KMS, ...p), 'utf8').trim();
const b64 = (...p: string[]) => new Uint8Array(Buffer.from(read(...p), 'base64'));

interface Sample {
  dir: string;
  key: KeyObject;
  spki: Uint8Array;
  plaintext: string;
}
function sample(dir: string): Sample {
  return { dir, key: createPrivateKey(read(dir, 'recipient_key.pkcs8.pem')), spki: b64(dir, 'recipient_spki.der.b64'), plaintext: read(dir, 'plaintext.hex') };
}
const GENUINE = readdirSync(join(KMS, 'genuine'))
  .filter((d) => d !== 'aws-nitro-enclaves-sdk-c')
  .map((d) => sample(join('genuine', d)));
const OWN = sample('own');

describe('genuine KMS CiphertextForRecipient samples', () => {
  test.each(GENUINE.map((s) => [s.dir, s] as const))('%s unwraps to its published plaintext, as published (BER) and as DER', (_d, s) => {
    for (const file of ['ciphertext_for_recipient.b64', 'ciphertext_for_recipient.der.b64']) {
      const ber = b64(s.dir, file);
      const parts = parseCiphertextForRecipient(ber);
      // KMS identifies the recipient by SHA-256 of its SPKI.
      expect(toHex(parts.recipientKeyId)).toBe(toHex(recipientKeyId(s.spki)));
      expect(toHex(openCiphertextForRecipient(ber, s.key, s.spki))).toBe(s.plaintext);
    }
  });

  test('AWS’s parse-only samples (constructed and primitive [0]) give their published parts', () => {
    const dir = join('genuine', 'aws-nitro-enclaves-sdk-c');
    for (const suffix of ['', '_w_ctx']) {
      const parts = parseCiphertextForRecipient(b64(dir, `input_ber${suffix}.b64`));
      expect(toHex(parts.encryptedKey)).toBe(read(dir, `encrypted_key_out${suffix}.hex`));
      expect(toHex(parts.iv)).toBe(read(dir, `iv_out${suffix}.hex`));
      expect(toHex(parts.ciphertext)).toBe(read(dir, `ciphertext_out${suffix}.hex`));
    }
  });

  test('own OpenSSL-made blobs: DER, streamed BER with two chunks, KMS layout, KMS layout with primitive [0]', () => {
    for (const file of ['cms_der.b64', 'cms_ber_stream.b64', 'cms_kms_layout.b64', 'cms_kms_layout_prim.b64']) {
      expect([file, toHex(openCiphertextForRecipient(b64('own', file), OWN.key, OWN.spki))]).toEqual([file, OWN.plaintext]);
    }
  });
});

describe('what the enclave refuses', () => {
  const blob = b64('own', 'cms_kms_layout.b64');

  test('a blob for another key is RECIPIENT_MISMATCH, before any decryption', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const otherSpki = new Uint8Array(other.publicKey.export({ format: 'der', type: 'spki' }));
    await expectCode(() => openCiphertextForRecipient(blob, other.privateKey, otherSpki), CmsError, 'RECIPIENT_MISMATCH');
    // Claiming our SPKI while holding another key gets past the identifier, not the decryption.
    await expectCode(() => openCiphertextForRecipient(blob, other.privateKey, OWN.spki), CmsError, 'DECRYPT_FAILED');
  });

  test('a changed encrypted key is DECRYPT_FAILED; a changed last ciphertext block fails its padding', async () => {
    const parts = parseCiphertextForRecipient(blob);
    const at = (needle: Uint8Array) => Buffer.from(blob).indexOf(Buffer.from(needle));
    await expectCode(() => openCiphertextForRecipient(flipped(blob, at(parts.encryptedKey) + 7), OWN.key, OWN.spki), CmsError, 'DECRYPT_FAILED');
    const lastBlock = at(parts.ciphertext) + parts.ciphertext.length - 1;
    await expectCode(() => openCiphertextForRecipient(flipped(blob, lastBlock, 7), OWN.key, OWN.spki), CmsError, 'DECRYPT_FAILED');
  });

  test('other algorithms are UNSUPPORTED_ALGORITHM', async () => {
    const hex = toHex(blob);
    // aes256-CBC (…01 2a) → aes128-CBC (…01 02)
    const aes128 = Buffer.from(hex.replace('60864801650304012a', '608648016503040102'), 'hex');
    await expectCode(() => openCiphertextForRecipient(aes128, OWN.key, OWN.spki), CmsError, 'UNSUPPORTED_ALGORITHM');
    // The OAEP hash SHA-256 → SHA-384 (…02 01 → …02 02), first occurrence.
    const sha384 = Buffer.from(hex.replace('0609608648016503040201', '0609608648016503040202'), 'hex');
    await expectCode(() => openCiphertextForRecipient(sha384, OWN.key, OWN.spki), CmsError, 'UNSUPPORTED_ALGORITHM');
    // RSAES-OAEP (…01 07) → rsaEncryption PKCS#1 v1.5 (…01 01)
    const pkcs1 = Buffer.from(hex.replace('2a864886f70d010107', '2a864886f70d010101'), 'hex');
    await expectCode(() => openCiphertextForRecipient(pkcs1, OWN.key, OWN.spki), CmsError, 'UNSUPPORTED_ALGORITHM');
  });

  test('truncation at every offset and random bytes give only CmsError', () => {
    const wrong: number[] = [];
    for (let cut = 0; cut < blob.length - 1; cut++) {
      try {
        openCiphertextForRecipient(blob.subarray(0, cut), OWN.key, OWN.spki);
        wrong.push(cut);
      } catch (err) {
        if (!(err instanceof CmsError)) wrong.push(cut);
      }
    }
    expect(wrong).toEqual([]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(() => parseCiphertextForRecipient(bytes)).toThrow(CmsError);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('sealing (the KMS emulator)', () => {
  /** The blob with its variable parts (key id, encrypted key, IV, ciphertext) zeroed. */
  function skeleton(blob: Uint8Array): string {
    const parts = parseCiphertextForRecipient(blob);
    const buf = Buffer.from(blob);
    for (const v of [parts.recipientKeyId, parts.encryptedKey, parts.iv, parts.ciphertext]) buf.fill(0, buf.indexOf(Buffer.from(v)), buf.indexOf(Buffer.from(v)) + v.length);
    return buf.toString('hex');
  }

  test('writes KMS’s exact layout, constructed or primitive [0], which the enclave opens', () => {
    const plaintext = Buffer.from(OWN.plaintext, 'hex');
    const sealed = sealCiphertextForRecipient(plaintext, OWN.spki);
    expect(skeleton(sealed)).toBe(skeleton(b64('own', 'cms_kms_layout.b64')));
    const primitive = sealCiphertextForRecipient(plaintext, OWN.spki, { primitiveContent: true });
    expect(skeleton(primitive)).toBe(skeleton(b64('own', 'cms_kms_layout_prim.b64')));
    expect(toHex(openCiphertextForRecipient(sealed, OWN.key, OWN.spki))).toBe(OWN.plaintext);
    expect(toHex(openCiphertextForRecipient(primitive, OWN.key, OWN.spki))).toBe(OWN.plaintext);
    // The same layout as a genuine KMS response of the same size.
    const genuine = GENUINE.find((s) => s.dir.includes('edgebit-nitro'))!;
    expect(skeleton(sealCiphertextForRecipient(Buffer.from(genuine.plaintext, 'hex'), genuine.spki))).toBe(
      skeleton(b64(genuine.dir, 'ciphertext_for_recipient.b64')),
    );
  });

  test('any plaintext round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4200 }), (pt) => {
        expect(toHex(openCiphertextForRecipient(sealCiphertextForRecipient(pt, OWN.spki), OWN.key, OWN.spki))).toBe(toHex(pt));
      }),
      { numRuns: 40 },
    );
  });
});
