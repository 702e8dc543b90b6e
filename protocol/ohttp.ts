// Oblivious HTTP, RFC 9458: key configurations (§3), request encapsulation (§4.3)
// and response encapsulation (§4.4). HPKE itself comes from ./hpke; the framing,
// labels and response key derivation here are ours and reproduce RFC 9458
// Appendix A byte for byte (test/protocol/ohttp.test.ts).

import { randomBytes } from 'node:crypto';
import { ByteReader, concat, uint, utf8 } from './bytes';
import { HpkeError, OhttpError, type OhttpErrorCode } from './errors';
import {
  aeadFor,
  assertPublicKey,
  isSupportedSuite,
  kdfFor,
  kemParams,
  setupRecipient,
  setupSender,
  type DhFunction,
  type HpkeSuite,
} from './hpke';
import { MAX_PADDED_LENGTH } from './padding';

/** RFC 9458 §9 media types. */
export const MEDIA_TYPE_OHTTP_REQUEST = 'message/ohttp-req';
export const MEDIA_TYPE_OHTTP_RESPONSE = 'message/ohttp-res';
export const MEDIA_TYPE_OHTTP_KEYS = 'application/ohttp-keys';

/** RFC 9458 §4.3 and §4.4 labels. */
const REQUEST_LABEL = utf8('message/bhttp request');
const RESPONSE_LABEL = utf8('message/bhttp response');
const KEY_LABEL = utf8('key');
const NONCE_LABEL = utf8('nonce');

/** Length of the request header: key_id(8) kem_id(16) kdf_id(16) aead_id(16). */
const HEADER_LENGTH = 7;

export interface SymmetricAlgorithm {
  readonly kdfId: number;
  readonly aeadId: number;
}

/** RFC 9458 §3.1 key configuration. */
export interface KeyConfig {
  readonly keyId: number;
  readonly kemId: number;
  readonly publicKey: Uint8Array;
  readonly symmetricAlgorithms: readonly SymmetricAlgorithm[];
}

function fail(code: OhttpErrorCode): never {
  throw new OhttpError(code);
}

function isUint(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= max;
}

function supportedKem(kemId: number) {
  try {
    return kemParams(kemId);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Key configurations.

export function encodeKeyConfig(config: KeyConfig): Uint8Array {
  if (!isUint(config.keyId, 0xff) || !isUint(config.kemId, 0xffff)) fail('MALFORMED');
  const kem = supportedKem(config.kemId) ?? fail('UNSUPPORTED_SUITE');
  if (config.publicKey.length !== kem.Npk) fail('INVALID_KEY');
  const algs = config.symmetricAlgorithms;
  if (algs.length === 0 || algs.length * 4 > 0xfffc) fail('MALFORMED');
  const parts: Uint8Array[] = [uint(config.keyId, 1), uint(config.kemId, 2), config.publicKey, uint(algs.length * 4, 2)];
  for (const a of algs) {
    if (!isUint(a.kdfId, 0xffff) || !isUint(a.aeadId, 0xffff)) fail('MALFORMED');
    parts.push(uint(a.kdfId, 2), uint(a.aeadId, 2));
  }
  return concat(...parts);
}

function readKeyConfig(reader: ByteReader): KeyConfig {
  const keyId = reader.u8();
  const kemId = reader.u16();
  // The public key's length depends on the KEM: an unknown KEM cannot be parsed further.
  const kem = supportedKem(kemId) ?? fail('UNSUPPORTED_SUITE');
  const publicKey = Uint8Array.from(reader.take(kem.Npk));
  const algsLength = reader.u16();
  if (algsLength === 0 || algsLength % 4 !== 0) fail('MALFORMED');
  const algsReader = new ByteReader(reader.take(algsLength), () => fail('TRUNCATED'));
  const symmetricAlgorithms: SymmetricAlgorithm[] = [];
  while (!algsReader.atEnd()) symmetricAlgorithms.push({ kdfId: algsReader.u16(), aeadId: algsReader.u16() });
  try {
    assertPublicKey(kemId, publicKey);
  } catch {
    fail('INVALID_KEY');
  }
  return { keyId, kemId, publicKey, symmetricAlgorithms };
}

/** Decodes exactly one key configuration; trailing bytes are `MALFORMED`. */
export function decodeKeyConfig(bytes: Uint8Array): KeyConfig {
  const reader = new ByteReader(bytes, () => fail('TRUNCATED'));
  const config = readKeyConfig(reader);
  if (!reader.atEnd()) fail('MALFORMED');
  return config;
}

/** `application/ohttp-keys`: each configuration with a 2-byte length prefix (RFC 9540 §3.2). */
export function encodeKeyConfigList(configs: readonly KeyConfig[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const config of configs) {
    const encoded = encodeKeyConfig(config);
    parts.push(uint(encoded.length, 2), encoded);
  }
  return concat(...parts);
}

/**
 * Decodes an `application/ohttp-keys` list. Configurations with a KEM we do not
 * support are skipped, as clients must (RFC 9458 §3.2); a list with none we
 * support is `UNSUPPORTED_SUITE`, an empty one `MALFORMED`.
 */
export function decodeKeyConfigList(bytes: Uint8Array): KeyConfig[] {
  const reader = new ByteReader(bytes, () => fail('TRUNCATED'));
  if (reader.atEnd()) fail('MALFORMED');
  const configs: KeyConfig[] = [];
  let skipped = 0;
  while (!reader.atEnd()) {
    const length = reader.u16();
    const entry = reader.take(length);
    try {
      configs.push(decodeKeyConfig(entry));
    } catch (err) {
      if (err instanceof OhttpError && err.code === 'UNSUPPORTED_SUITE') {
        skipped++;
        continue;
      }
      throw err;
    }
  }
  if (configs.length === 0 && skipped > 0) fail('UNSUPPORTED_SUITE');
  return configs;
}

// ---------------------------------------------------------------------------
// Requests and responses.

function headerOf(keyId: number, suite: HpkeSuite): Uint8Array {
  return concat(uint(keyId, 1), uint(suite.kemId, 2), uint(suite.kdfId, 2), uint(suite.aeadId, 2));
}

/** The size of an encapsulated request carrying `bodyLength` bytes of BHTTP. */
export function encapsulatedRequestLength(suite: HpkeSuite, bodyLength: number): number {
  return HEADER_LENGTH + kemParams(suite.kemId).Nenc + bodyLength + aeadFor(suite.aeadId).Nt;
}

/** The size of an encapsulated response carrying `bodyLength` bytes of BHTTP. */
export function encapsulatedResponseLength(suite: HpkeSuite, bodyLength: number): number {
  const aead = aeadFor(suite.aeadId);
  return Math.max(aead.Nk, aead.Nn) + bodyLength + aead.Nt;
}

/** RFC 9458 §4.4 intermediate values, exported so tests can check each one against Appendix A. */
export interface ResponseKeyMaterial {
  readonly salt: Uint8Array;
  readonly prk: Uint8Array;
  readonly key: Uint8Array;
  readonly nonce: Uint8Array;
}

/** RFC 9458 §4.4: salt = enc || response_nonce; prk = Extract(salt, secret); key and nonce by Expand. */
export async function deriveResponseKeys(
  suite: HpkeSuite,
  secret: Uint8Array,
  enc: Uint8Array,
  responseNonce: Uint8Array,
): Promise<ResponseKeyMaterial> {
  const aead = aeadFor(suite.aeadId);
  const kdf = kdfFor(suite.kdfId);
  const salt = concat(enc, responseNonce);
  const prk = await kdf.extract(salt, secret);
  const [key, nonce] = await Promise.all([kdf.expand(prk, KEY_LABEL, aead.Nk), kdf.expand(prk, NONCE_LABEL, aead.Nn)]);
  return { salt, prk, key, nonce };
}

/** The secret exported from the request's HPKE context for the response (RFC 9458 §4.4). */
function exportResponseSecret(
  suite: HpkeSuite,
  exportSecret: (context: Uint8Array, length: number) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const aead = aeadFor(suite.aeadId);
  return exportSecret(RESPONSE_LABEL, Math.max(aead.Nn, aead.Nk));
}

/** The HPKE `info` of a request: "message/bhttp request", a zero byte, then the header (RFC 9458 §4.3). */
export function requestInfo(keyId: number, suite: HpkeSuite): Uint8Array {
  return concat(REQUEST_LABEL, new Uint8Array([0]), headerOf(keyId, suite));
}

export interface ClientContext {
  /** The suite the request was sealed with. */
  readonly suite: HpkeSuite;
  /** Opens the gateway's `message/ohttp-res` for this request. */
  decapsulateResponse(encapsulatedResponse: Uint8Array): Promise<Uint8Array>;
}

export interface ServerContext {
  readonly keyId: number;
  readonly suite: HpkeSuite;
  /** The request's `enc`, e.g. for replay detection (RFC 9458 §6.5). */
  readonly enc: Uint8Array;
  /** Seals the one response to this request. A second call is `CONTEXT_USED`. */
  encapsulateResponse(response: Uint8Array, options?: EncapsulateResponseOptions): Promise<Uint8Array>;
}

export interface EncapsulateRequestOptions {
  /** KDF/AEAD pair to use; default: the first pair of the key config that we support. */
  symmetricAlgorithm?: SymmetricAlgorithm;
  /** Largest BHTTP body accepted (default 1 MiB, the top of the padding ladder). */
  maxBodyLength?: number;
  /** Test-only: fixed ephemeral key, to reproduce RFC 9458 Appendix A. */
  ephemeralPrivateKey?: Uint8Array;
}

export interface EncapsulateResponseOptions {
  /** Test-only: fixed response nonce, to reproduce RFC 9458 Appendix A. */
  responseNonce?: Uint8Array;
}

function chooseSuite(config: KeyConfig, wanted?: SymmetricAlgorithm): HpkeSuite {
  const candidates = wanted
    ? config.symmetricAlgorithms.filter((a) => a.kdfId === wanted.kdfId && a.aeadId === wanted.aeadId)
    : config.symmetricAlgorithms;
  for (const a of candidates) {
    const suite = { kemId: config.kemId, kdfId: a.kdfId, aeadId: a.aeadId };
    if (isSupportedSuite(suite)) return suite;
  }
  return fail('UNSUPPORTED_SUITE');
}

/** RFC 9458 §4.3, client side: seals a BHTTP request to a gateway key configuration. */
export async function encapsulateRequest(
  keyConfig: KeyConfig,
  bhttpRequest: Uint8Array,
  options: EncapsulateRequestOptions = {},
): Promise<{ encapsulated: Uint8Array; context: ClientContext }> {
  if (bhttpRequest.length > (options.maxBodyLength ?? MAX_PADDED_LENGTH)) fail('BODY_TOO_LARGE');
  const suite = chooseSuite(keyConfig, options.symmetricAlgorithm);
  const header = headerOf(keyConfig.keyId, suite);
  let sender;
  try {
    sender = await setupSender(
      suite,
      keyConfig.publicKey,
      requestInfo(keyConfig.keyId, suite),
      options.ephemeralPrivateKey ? { ephemeralPrivateKey: options.ephemeralPrivateKey } : {},
    );
  } catch (err) {
    throw err instanceof HpkeError && err.code === 'UNSUPPORTED_SUITE' ? new OhttpError('UNSUPPORTED_SUITE') : new OhttpError('INVALID_KEY');
  }
  const ct = await sender.seal(bhttpRequest, new Uint8Array(0));
  const enc = sender.enc;
  const aead = aeadFor(suite.aeadId);
  const nonceLength = Math.max(aead.Nn, aead.Nk);
  let used = false;
  const context: ClientContext = {
    suite,
    async decapsulateResponse(encapsulatedResponse) {
      if (used) fail('CONTEXT_USED');
      if (encapsulatedResponse.length < nonceLength + aead.Nt) fail('TRUNCATED');
      if (encapsulatedResponse.length > nonceLength + MAX_PADDED_LENGTH + aead.Nt) fail('BODY_TOO_LARGE');
      const responseNonce = encapsulatedResponse.subarray(0, nonceLength);
      const secret = await exportResponseSecret(suite, (c, l) => sender.export(c, l));
      const { key, nonce } = await deriveResponseKeys(suite, secret, enc, responseNonce);
      try {
        const plaintext = await aead.open(key, nonce, new Uint8Array(0), encapsulatedResponse.subarray(nonceLength));
        used = true;
        return plaintext;
      } catch {
        return fail('DECRYPT_FAILED');
      }
    },
  };
  return { encapsulated: concat(header, enc, ct), context };
}

/**
 * Reads a request's header and `enc` without any cryptography (for routing by key id,
 * and for refusing a replayed `enc` before spending a KMS call on it).
 */
export function peekRequestHeader(encapsulatedRequest: Uint8Array): { keyId: number; suite: HpkeSuite; enc: Uint8Array } {
  const reader = new ByteReader(encapsulatedRequest, () => fail('TRUNCATED'));
  const keyId = reader.u8();
  const suite: HpkeSuite = { kemId: reader.u16(), kdfId: reader.u16(), aeadId: reader.u16() };
  if (!isSupportedSuite(suite)) fail('UNSUPPORTED_SUITE');
  const enc = Uint8Array.from(reader.take(kemParams(suite.kemId).Nenc));
  return { keyId, suite, enc };
}

/** A gateway key: its configuration and either the private key or a DH function (KMS). */
export type GatewayKey =
  | { readonly config: KeyConfig; readonly privateKey: Uint8Array }
  | { readonly config: KeyConfig; readonly dh: DhFunction };

export interface DecapsulateRequestOptions {
  /** Largest BHTTP body accepted (default 1 MiB); larger requests are refused before any crypto. */
  maxBodyLength?: number;
}

/**
 * RFC 9458 §4.3, gateway side: picks the key by the request's key id, checks the
 * suite against that key's configuration, and opens the request.
 * Errors thrown by a `dh` function propagate unchanged (e.g. KMS unavailable).
 */
export async function decapsulateRequest(
  keys: readonly GatewayKey[],
  encapsulatedRequest: Uint8Array,
  options: DecapsulateRequestOptions = {},
): Promise<{ request: Uint8Array; context: ServerContext }> {
  const reader = new ByteReader(encapsulatedRequest, () => fail('TRUNCATED'));
  const keyId = reader.u8();
  const kemId = reader.u16();
  const kdfId = reader.u16();
  const aeadId = reader.u16();
  const key = keys.find((k) => k.config.keyId === keyId) ?? fail('KEY_ID_UNKNOWN');
  const suite: HpkeSuite = { kemId, kdfId, aeadId };
  const offered = key.config.symmetricAlgorithms.some((a) => a.kdfId === kdfId && a.aeadId === aeadId);
  if (kemId !== key.config.kemId || !offered || !isSupportedSuite(suite)) fail('UNSUPPORTED_SUITE');
  const { Nenc } = kemParams(kemId);
  const aead = aeadFor(aeadId);
  const maxBody = options.maxBodyLength ?? MAX_PADDED_LENGTH;
  if (encapsulatedRequest.length > HEADER_LENGTH + Nenc + maxBody + aead.Nt) fail('BODY_TOO_LARGE');
  const enc = Uint8Array.from(reader.take(Nenc));
  if (reader.remaining < aead.Nt) fail('TRUNCATED');
  const ct = reader.rest();
  const info = requestInfo(keyId, suite);
  let recipient;
  try {
    recipient = await setupRecipient(
      suite,
      'privateKey' in key ? { privateKey: key.privateKey } : { dh: key.dh, publicKey: key.config.publicKey },
      enc,
      info,
    );
  } catch (err) {
    if (err instanceof HpkeError) fail(err.code === 'INVALID_KEY' ? 'INVALID_KEY' : 'DECRYPT_FAILED');
    throw err; // the DH function's own error
  }
  let request: Uint8Array;
  try {
    request = await recipient.open(ct, new Uint8Array(0));
  } catch {
    return fail('DECRYPT_FAILED');
  }
  let used = false;
  const context: ServerContext = {
    keyId,
    suite,
    enc,
    async encapsulateResponse(response, responseOptions = {}) {
      if (used) fail('CONTEXT_USED');
      if (response.length > MAX_PADDED_LENGTH) fail('BODY_TOO_LARGE');
      used = true;
      const nonceLength = Math.max(aead.Nn, aead.Nk);
      const responseNonce = responseOptions.responseNonce ?? new Uint8Array(randomBytes(nonceLength));
      if (responseNonce.length !== nonceLength) fail('MALFORMED');
      const secret = await exportResponseSecret(suite, (c, l) => recipient.export(c, l));
      const { key: aeadKey, nonce } = await deriveResponseKeys(suite, secret, enc, responseNonce);
      return concat(responseNonce, await aead.seal(aeadKey, nonce, new Uint8Array(0), response));
    },
  };
  return { request, context };
}
