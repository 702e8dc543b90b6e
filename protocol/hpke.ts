// HPKE (RFC 9180), base mode only, behind one small interface of ours.
//
// The key schedule, contexts, nonces and exporter come from panva's `hpke`
// (CipherSuite). We plug in our own KEM and AEAD objects through its published
// interfaces so that:
//   - the Diffie-Hellman step can be an injected function: in production the
//     recipient's DH is KMS DeriveSharedSecret (DESIGN.md §2), and the private
//     key never exists outside KMS;
//   - DH and AEAD run on node:crypto (native OpenSSL) instead of WebCrypto.
// The DHKEM framing (ExtractAndExpand, §4.1) uses the library's LabeledExtract /
// LabeledExpand and KDF; it is proven on the RFC 9180 A.1.1 and A.3.1 vectors.

import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  ECDH,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import * as HPKE from 'hpke';
import { concat, utf8 } from './bytes';
import { HpkeError } from './errors';

/** RFC 9180 §7.1 KEM identifiers supported here. */
export const KEM_P256_HKDF_SHA256 = 0x0010;
export const KEM_X25519_HKDF_SHA256 = 0x0020;
/** RFC 9180 §7.2 KDF identifiers. */
export const KDF_HKDF_SHA256 = 0x0001;
/** RFC 9180 §7.3 AEAD identifiers. */
export const AEAD_AES_128_GCM = 0x0001;
export const AEAD_AES_256_GCM = 0x0002;
export const AEAD_CHACHA20_POLY1305 = 0x0003;

export interface HpkeSuite {
  readonly kemId: number;
  readonly kdfId: number;
  readonly aeadId: number;
}

/**
 * The raw Diffie-Hellman output DH(skR, pkE) of RFC 9180 §4.1 for the
 * recipient's key: the X25519 output, or the 32-byte x-coordinate for P-256
 * (what KMS DeriveSharedSecret returns). Its argument is the sender's `enc`.
 */
export type DhFunction = (encPublicKey: Uint8Array) => Promise<Uint8Array>;

/** A recipient key: the serialized private key (RFC 9180 §7.1.2), or a DH function and the public key. */
export type RecipientKey =
  | { readonly privateKey: Uint8Array }
  | { readonly dh: DhFunction; readonly publicKey: Uint8Array };

export interface HpkeSender {
  /** The encapsulated key `enc` to send along with the ciphertexts. */
  readonly enc: Uint8Array;
  seal(plaintext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>;
  export(exporterContext: Uint8Array, length: number): Promise<Uint8Array>;
}

export interface HpkeRecipient {
  open(ciphertext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>;
  export(exporterContext: Uint8Array, length: number): Promise<Uint8Array>;
}

export interface KemParams {
  readonly id: number;
  readonly name: string;
  readonly Npk: number;
  readonly Nsk: number;
  readonly Nenc: number;
}

export interface AeadParams {
  readonly id: number;
  readonly name: string;
  readonly Nk: number;
  readonly Nn: number;
  readonly Nt: number;
}

/** KDF operations, used by OHTTP's response encapsulation (RFC 9458 §4.4). */
export interface Kdf {
  readonly id: number;
  readonly Nh: number;
  extract(salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array>;
  expand(prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array>;
}

/** AEAD operations, used by OHTTP's response encapsulation (RFC 9458 §4.4). */
export interface Aead extends AeadParams {
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
}

// ---------------------------------------------------------------------------
// Curves: the node:crypto Diffie-Hellman operations behind each DHKEM.

interface Curve extends KemParams {
  /** WebCrypto-style algorithm, so the library's key checks see consistent keys. */
  readonly algorithm: { name: string; namedCurve?: string };
  generate(): { privateKey: Uint8Array; publicKey: Uint8Array };
  /** A fresh ephemeral key pair and its DH with `pk`, without exporting the private key. */
  ephemeralDh(pk: Uint8Array): { enc: Uint8Array; dh: Uint8Array };
  publicFromPrivate(sk: Uint8Array): Uint8Array;
  /** Throws on a public key that is not a valid point (or a small-order X25519 point). */
  dh(sk: Uint8Array, pk: Uint8Array): Uint8Array;
  assertPublicKey(pk: Uint8Array): void;
  /** The library's own KEM, used only for DeriveKeyPair (RFC 9180 §7.1.3). */
  readonly reference: HPKE.KEMFactory<HPKE.CryptoKey>;
}

const P256: Curve = {
  id: KEM_P256_HKDF_SHA256,
  name: 'DHKEM(P-256, HKDF-SHA256)',
  Npk: 65,
  Nsk: 32,
  Nenc: 65,
  algorithm: { name: 'ECDH', namedCurve: 'P-256' },
  generate() {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    // getPrivateKey() drops leading zero bytes: restore the fixed 32-byte form (RFC 9180 §7.1.2).
    const privateKey = new Uint8Array(32);
    const scalar = ecdh.getPrivateKey();
    privateKey.set(scalar, 32 - scalar.length);
    return { privateKey, publicKey: new Uint8Array(ecdh.getPublicKey()) };
  },
  ephemeralDh(pk) {
    this.assertPublicKey(pk);
    const ecdh = createECDH('prime256v1');
    const enc = new Uint8Array(ecdh.generateKeys());
    return { enc, dh: new Uint8Array(ecdh.computeSecret(pk)) };
  },
  publicFromPrivate(sk) {
    return new Uint8Array(p256FromPrivate(sk).getPublicKey());
  },
  dh(sk, pk) {
    this.assertPublicKey(pk);
    return new Uint8Array(p256FromPrivate(sk).computeSecret(pk));
  },
  assertPublicKey(pk) {
    // Uncompressed SEC1 only (RFC 9180 §7.1.1 SerializePublicKey); convertKey checks the point is on the curve.
    if (pk.length !== 65 || pk[0] !== 0x04) throw new HpkeError('INVALID_KEY');
    try {
      ECDH.convertKey(pk, 'prime256v1', undefined, undefined, 'uncompressed');
    } catch {
      throw new HpkeError('INVALID_KEY');
    }
  },
  reference: HPKE.KEM_DHKEM_P256_HKDF_SHA256,
};

function p256FromPrivate(sk: Uint8Array) {
  if (sk.length !== 32) throw new HpkeError('INVALID_KEY');
  const ecdh = createECDH('prime256v1');
  try {
    ecdh.setPrivateKey(sk); // rejects 0 and values >= the group order
  } catch {
    throw new HpkeError('INVALID_KEY');
  }
  return ecdh;
}

// Raw X25519 keys are imported as JWK: node's PKCS#8 import costs ~0.5 ms, JWK ~30 µs.
// Node derives the public key of a JWK private key from `d` alone and ignores `x`
// (we always re-derive it), so a placeholder `x` is passed; the RFC 9180 vectors
// check the derived public keys.
const PLACEHOLDER_X = Buffer.alloc(32).toString('base64url');

function x25519Private(sk: Uint8Array): KeyObject {
  if (sk.length !== 32) throw new HpkeError('INVALID_KEY');
  const d = Buffer.from(sk.buffer, sk.byteOffset, sk.byteLength).toString('base64url');
  return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d, x: PLACEHOLDER_X }, format: 'jwk' });
}

function x25519Public(pk: Uint8Array): KeyObject {
  if (pk.length !== 32) throw new HpkeError('INVALID_KEY');
  const x = Buffer.from(pk.buffer, pk.byteOffset, pk.byteLength).toString('base64url');
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
}

function rawX25519Public(key: KeyObject): Uint8Array {
  return new Uint8Array(Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url'));
}

function x25519Dh(privateKey: KeyObject, pk: Uint8Array): Uint8Array {
  let out: Buffer;
  try {
    // OpenSSL refuses an all-zero result (small-order point), as RFC 9180 §7.1.4 requires.
    out = diffieHellman({ privateKey, publicKey: x25519Public(pk) });
  } catch {
    throw new HpkeError('INVALID_KEY');
  }
  if (out.every((b) => b === 0)) throw new HpkeError('INVALID_KEY');
  return new Uint8Array(out);
}

const X25519: Curve = {
  id: KEM_X25519_HKDF_SHA256,
  name: 'DHKEM(X25519, HKDF-SHA256)',
  Npk: 32,
  Nsk: 32,
  Nenc: 32,
  algorithm: { name: 'X25519' },
  generate() {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    const sk = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
    return { privateKey: new Uint8Array(sk), publicKey: rawX25519Public(publicKey) };
  },
  ephemeralDh(pk) {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    return { enc: rawX25519Public(publicKey), dh: x25519Dh(privateKey, pk) };
  },
  publicFromPrivate(sk) {
    return rawX25519Public(createPublicKey(x25519Private(sk)));
  },
  dh(sk, pk) {
    return x25519Dh(x25519Private(sk), pk);
  },
  assertPublicKey(pk) {
    if (pk.length !== 32) throw new HpkeError('INVALID_KEY');
  },
  reference: HPKE.KEM_DHKEM_X25519_HKDF_SHA256,
};

const CURVES = new Map<number, Curve>([
  [P256.id, P256],
  [X25519.id, X25519],
]);

function curveFor(kemId: number): Curve {
  const curve = CURVES.get(kemId);
  if (!curve) throw new HpkeError('UNSUPPORTED_SUITE');
  return curve;
}

// ---------------------------------------------------------------------------
// The KEM object handed to the library.

/**
 * Carries an error thrown by a caller's DH function through the library, so that
 * setupRecipient rethrows it unchanged: the caller (the enclave's KMS client) must
 * tell "KMS unavailable" apart from "bad ciphertext".
 */
class DhFunctionFailure {
  constructor(readonly error: unknown) {}
}

interface NodeKey extends HPKE.Key {
  readonly publicRaw: Uint8Array;
  readonly dh?: DhFunction;
}

function publicKeyObject(curve: Curve, raw: Uint8Array): NodeKey {
  return { algorithm: curve.algorithm, extractable: true, type: 'public', publicRaw: raw };
}

function privateKeyObject(curve: Curve, publicRaw: Uint8Array, dh: DhFunction): NodeKey {
  return { algorithm: curve.algorithm, extractable: false, type: 'private', publicRaw, dh };
}

const L_EAE_PRK = utf8('eae_prk');
const L_SHARED_SECRET = utf8('shared_secret');

function nodeDhkem(curve: Curve, ephemeral?: { privateKey: Uint8Array; publicKey: Uint8Array }) {
  const kdf = NODE_HKDF_SHA256;
  const suiteId = concat(utf8('KEM'), HPKE.I2OSP(curve.id, 2));
  // RFC 9180 §4.1 ExtractAndExpand.
  async function extractAndExpand(dh: Uint8Array, kemContext: Uint8Array): Promise<Uint8Array> {
    const eaePrk = await HPKE.LabeledExtract(kdf, suiteId, new Uint8Array(0), L_EAE_PRK, dh);
    return HPKE.LabeledExpand(kdf, suiteId, eaePrk, L_SHARED_SECRET, kemContext, 32);
  }
  const kem: HPKE.KEM<NodeKey> = {
    id: curve.id,
    type: 'KEM',
    name: curve.name,
    Nsecret: 32,
    Nenc: curve.Nenc,
    Npk: curve.Npk,
    Nsk: curve.Nsk,
    async GenerateKeyPair() {
      const { privateKey, publicKey } = curve.generate();
      return { privateKey: await this.DeserializePrivateKey(privateKey, false), publicKey: publicKeyObject(curve, publicKey) };
    },
    async DeriveKeyPair(ikm) {
      const reference = new HPKE.CipherSuite(curve.reference, HPKE.KDF_HKDF_SHA256, HPKE.AEAD_EXPORT_ONLY);
      const pair = await reference.DeriveKeyPair(ikm, true);
      const sk = await reference.SerializePrivateKey(pair.privateKey);
      return { privateKey: await this.DeserializePrivateKey(sk, false), publicKey: publicKeyObject(curve, curve.publicFromPrivate(sk)) };
    },
    async SerializePublicKey(key) {
      return key.publicRaw;
    },
    async DeserializePublicKey(raw) {
      curve.assertPublicKey(raw);
      return publicKeyObject(curve, raw);
    },
    async SerializePrivateKey() {
      throw new HPKE.NotSupportedError('private keys are not exported');
    },
    async DeserializePrivateKey(sk) {
      const secret = Uint8Array.from(sk);
      const pk = curve.publicFromPrivate(secret);
      return privateKeyObject(curve, pk, async (enc) => curve.dh(secret, enc));
    },
    async Encap(pkR) {
      const { enc, dh } = ephemeral
        ? { enc: ephemeral.publicKey, dh: curve.dh(ephemeral.privateKey, pkR.publicRaw) }
        : curve.ephemeralDh(pkR.publicRaw);
      return { shared_secret: await extractAndExpand(dh, concat(enc, pkR.publicRaw)), enc };
    },
    async Decap(enc, skR) {
      curve.assertPublicKey(enc);
      let dh: Uint8Array;
      try {
        dh = await skR.dh!(enc);
      } catch (error) {
        // Our own DH rejects a bad `enc` with an HpkeError; anything else is the caller's.
        if (error instanceof HpkeError) throw new HpkeError('DECAP_FAILED');
        throw new DhFunctionFailure(error);
      }
      if (!(dh instanceof Uint8Array) || dh.length !== 32) throw new HpkeError('DECAP_FAILED');
      return extractAndExpand(dh, concat(enc, skR.publicRaw));
    },
  };
  return () => kem;
}

// ---------------------------------------------------------------------------
// AEADs on node:crypto.

const AEADS = new Map<number, AeadParams & { cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305' }>([
  [AEAD_AES_128_GCM, { id: AEAD_AES_128_GCM, name: 'AES-128-GCM', Nk: 16, Nn: 12, Nt: 16, cipher: 'aes-128-gcm' }],
  [AEAD_AES_256_GCM, { id: AEAD_AES_256_GCM, name: 'AES-256-GCM', Nk: 32, Nn: 12, Nt: 16, cipher: 'aes-256-gcm' }],
  [
    AEAD_CHACHA20_POLY1305,
    { id: AEAD_CHACHA20_POLY1305, name: 'ChaCha20Poly1305', Nk: 32, Nn: 12, Nt: 16, cipher: 'chacha20-poly1305' },
  ],
]);

const aeadCache = new Map<number, Aead>();

/** The AEAD for an RFC 9180 AEAD id, on node:crypto. */
export function aeadFor(aeadId: number): Aead {
  const cached = aeadCache.get(aeadId);
  if (cached) return cached;
  const p = AEADS.get(aeadId);
  if (!p) throw new HpkeError('UNSUPPORTED_SUITE');
  const aead: Aead = {
    id: p.id,
    name: p.name,
    Nk: p.Nk,
    Nn: p.Nn,
    Nt: p.Nt,
    async seal(key, nonce, aad, plaintext) {
      const cipher = createCipheriv(p.cipher as 'aes-128-gcm', key, nonce, { authTagLength: p.Nt });
      cipher.setAAD(aad, { plaintextLength: plaintext.length });
      const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    },
    async open(key, nonce, aad, ciphertext) {
      if (ciphertext.length < p.Nt) throw new HpkeError('OPEN_FAILED');
      const bodyLength = ciphertext.length - p.Nt;
      try {
        const decipher = createDecipheriv(p.cipher as 'aes-128-gcm', key, nonce, { authTagLength: p.Nt });
        decipher.setAuthTag(ciphertext.subarray(bodyLength));
        decipher.setAAD(aad, { plaintextLength: bodyLength });
        const body = Buffer.concat([decipher.update(ciphertext.subarray(0, bodyLength)), decipher.final()]);
        return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
      } catch {
        throw new HpkeError('OPEN_FAILED');
      }
    },
  };
  aeadCache.set(aeadId, aead);
  return aead;
}

function libraryAead(aeadId: number): HPKE.AEADFactory {
  const a = aeadFor(aeadId);
  const impl: HPKE.AEAD = {
    id: a.id,
    type: 'AEAD',
    name: a.name,
    Nk: a.Nk,
    Nn: a.Nn,
    Nt: a.Nt,
    Seal: (key, nonce, aad, pt) => a.seal(key, nonce, aad, pt),
    Open: (key, nonce, aad, ct) => a.open(key, nonce, aad, ct),
  };
  return () => impl;
}

// ---------------------------------------------------------------------------
// HKDF-SHA256 on node:crypto's HMAC (RFC 5869), the fast path DESIGN.md §6 expects:
// WebCrypto's HMAC costs ~40-80 µs a call through its async key imports, node's
// createHmac a few. Extract is one HMAC; Expand chains HMAC blocks. Held to the
// RFC 9180 vectors and, for random inputs, to node's own crypto.hkdfSync and to
// the HPKE library's KDF (test/protocol/hpke.test.ts).

const SHA256_LENGTH = 32;

function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  // RFC 5869 §2.2: an empty salt is a string of HashLen zeros.
  const key = salt.length === 0 ? new Uint8Array(SHA256_LENGTH) : salt;
  return new Uint8Array(createHmac('sha256', key).update(ikm).digest());
}

function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (prk.length < SHA256_LENGTH) throw new RangeError('prk shorter than the hash');
  if (!Number.isInteger(length) || length < 0 || length > 255 * SHA256_LENGTH) throw new RangeError('invalid HKDF length');
  const out = new Uint8Array(Math.ceil(length / SHA256_LENGTH) * SHA256_LENGTH);
  let previous = new Uint8Array(0);
  for (let i = 0; i * SHA256_LENGTH < length; i++) {
    previous = new Uint8Array(
      createHmac('sha256', prk)
        .update(previous)
        .update(info)
        .update(Uint8Array.of(i + 1))
        .digest(),
    );
    out.set(previous, i * SHA256_LENGTH);
  }
  return out.slice(0, length);
}

const NODE_HKDF_SHA256: HPKE.KDF = {
  id: KDF_HKDF_SHA256,
  type: 'KDF',
  name: 'HKDF-SHA256',
  Nh: SHA256_LENGTH,
  stages: 2,
  Extract: async (salt, ikm) => hkdfExtract(salt, ikm),
  Expand: async (prk, info, length) => hkdfExpand(prk, info, length),
  Derive: async () => {
    throw new HPKE.NotSupportedError('HKDF is a two-stage KDF');
  },
};
const nodeHkdfSha256: HPKE.KDFFactory = () => NODE_HKDF_SHA256;

/** The KDF for an RFC 9180 KDF id. */
export function kdfFor(kdfId: number): Kdf {
  if (kdfId !== KDF_HKDF_SHA256) throw new HpkeError('UNSUPPORTED_SUITE');
  return {
    id: kdfId,
    Nh: SHA256_LENGTH,
    extract: async (salt, ikm) => hkdfExtract(salt, ikm),
    expand: async (prk, info, length) => hkdfExpand(prk, info, length),
  };
}

// ---------------------------------------------------------------------------
// Public API.

export function kemParams(kemId: number): KemParams {
  const { id, name, Npk, Nsk, Nenc } = curveFor(kemId);
  return { id, name, Npk, Nsk, Nenc };
}

export function aeadParams(aeadId: number): AeadParams {
  const { id, name, Nk, Nn, Nt } = aeadFor(aeadId);
  return { id, name, Nk, Nn, Nt };
}

export function isSupportedSuite(suite: HpkeSuite): boolean {
  return CURVES.has(suite.kemId) && suite.kdfId === KDF_HKDF_SHA256 && AEADS.has(suite.aeadId);
}

/** Throws `INVALID_KEY` unless `publicKey` is a valid serialized public key of the KEM. */
export function assertPublicKey(kemId: number, publicKey: Uint8Array): void {
  curveFor(kemId).assertPublicKey(publicKey);
}

export function generateKeyPair(kemId: number): { privateKey: Uint8Array; publicKey: Uint8Array } {
  return curveFor(kemId).generate();
}

export function publicKeyFromPrivate(kemId: number, privateKey: Uint8Array): Uint8Array {
  return curveFor(kemId).publicFromPrivate(privateKey);
}

/** RFC 9180 §7.1.3 DeriveKeyPair (the library's implementation). */
export async function deriveKeyPair(
  kemId: number,
  ikm: Uint8Array,
): Promise<{ privateKey: Uint8Array; publicKey: Uint8Array }> {
  const curve = curveFor(kemId);
  const reference = new HPKE.CipherSuite(curve.reference, HPKE.KDF_HKDF_SHA256, HPKE.AEAD_EXPORT_ONLY);
  const pair = await reference.DeriveKeyPair(ikm, true);
  const privateKey = await reference.SerializePrivateKey(pair.privateKey);
  return { privateKey, publicKey: curve.publicFromPrivate(privateKey) };
}

const suiteCache = new Map<string, HPKE.CipherSuite<NodeKey>>();

function cipherSuite(suite: HpkeSuite, ephemeral?: { privateKey: Uint8Array; publicKey: Uint8Array }) {
  if (!isSupportedSuite(suite)) throw new HpkeError('UNSUPPORTED_SUITE');
  const curve = curveFor(suite.kemId);
  if (ephemeral) {
    return new HPKE.CipherSuite(nodeDhkem(curve, ephemeral), nodeHkdfSha256, libraryAead(suite.aeadId));
  }
  const key = `${suite.kemId}/${suite.kdfId}/${suite.aeadId}`;
  let cs = suiteCache.get(key);
  if (!cs) {
    cs = new HPKE.CipherSuite(nodeDhkem(curve), nodeHkdfSha256, libraryAead(suite.aeadId));
    suiteCache.set(key, cs);
  }
  return cs;
}

export interface SetupSenderOptions {
  /**
   * Test-only: a fixed ephemeral private key (RFC 9180 skE), to reproduce published
   * vectors. Never set it in production: reusing an ephemeral key breaks HPKE.
   */
  ephemeralPrivateKey?: Uint8Array;
}

/** RFC 9180 §5.1.1 SetupBaseS. */
export async function setupSender(
  suite: HpkeSuite,
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  options: SetupSenderOptions = {},
): Promise<HpkeSender> {
  const curve = curveFor(suite.kemId);
  const ephemeral = options.ephemeralPrivateKey
    ? { privateKey: options.ephemeralPrivateKey, publicKey: curve.publicFromPrivate(options.ephemeralPrivateKey) }
    : undefined;
  const cs = cipherSuite(suite, ephemeral);
  curve.assertPublicKey(recipientPublicKey);
  let setup: { encapsulatedSecret: Uint8Array; ctx: HPKE.SenderContext };
  try {
    setup = await cs.SetupSender(publicKeyObject(curve, recipientPublicKey), { info });
  } catch (err) {
    throw toHpkeError(err, 'INVALID_KEY');
  }
  const { ctx, encapsulatedSecret } = setup;
  return {
    enc: encapsulatedSecret,
    seal: async (pt, aad) => {
      try {
        return await ctx.Seal(pt, aad);
      } catch (err) {
        throw toHpkeError(err, 'MESSAGE_LIMIT');
      }
    },
    export: (exporterContext, length) => ctx.Export(exporterContext, length),
  };
}

/** RFC 9180 §5.1.1 SetupBaseR, with a private key or a DH function. */
export async function setupRecipient(
  suite: HpkeSuite,
  key: RecipientKey,
  enc: Uint8Array,
  info: Uint8Array,
): Promise<HpkeRecipient> {
  const cs = cipherSuite(suite);
  const curve = curveFor(suite.kemId);
  let skR: NodeKey;
  if ('privateKey' in key) {
    const secret = Uint8Array.from(key.privateKey);
    skR = privateKeyObject(curve, curve.publicFromPrivate(secret), async (e) => curve.dh(secret, e));
  } else {
    curve.assertPublicKey(key.publicKey);
    skR = privateKeyObject(curve, key.publicKey, key.dh);
  }
  let ctx: HPKE.RecipientContext;
  try {
    ctx = await cs.SetupRecipient(skR, enc, { info });
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof DhFunctionFailure) throw cause.error;
    throw toHpkeError(err, 'DECAP_FAILED');
  }
  return {
    open: async (ct, aad) => {
      try {
        return await ctx.Open(ct, aad);
      } catch (err) {
        throw toHpkeError(err, 'OPEN_FAILED');
      }
    },
    export: (exporterContext, length) => ctx.Export(exporterContext, length),
  };
}

function toHpkeError(err: unknown, fallback: HpkeError['code']): HpkeError {
  if (err instanceof HpkeError) return err;
  if (err instanceof HPKE.MessageLimitReachedError) return new HpkeError('MESSAGE_LIMIT');
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  if (cause instanceof HpkeError && fallback !== 'OPEN_FAILED') {
    // A DH failure surfaces through the library's DecapError: a bad `enc` is a decapsulation failure.
    return cause.code === 'INVALID_KEY' ? new HpkeError('DECAP_FAILED') : cause;
  }
  return new HpkeError(fallback);
}
