// Privacy Pass, publicly verifiable tokens (token type 0x0002, blind RSA 2048;
// RFC 9577 HTTP authentication, RFC 9578 issuance): the deployment's one static
// challenge, token parsing and verification, and the HTTP headers. Tokens are
// fetched ahead of use (empty redemption context), so a token says nothing about when
// or for which chat it is spent.

import { constants, createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { concat, equalBytes, toHex, utf8 } from './bytes';
import { ProtocolError } from './errors';

export const TOKEN_TYPE_BLIND_RSA = 0x0002;
/** RFC 9578 §6: Nk = 256 (RSA-2048 signature), Nid = 32. */
export const TOKEN_AUTHENTICATOR_LENGTH = 256;
export const TOKEN_LENGTH = 2 + 32 + 32 + 32 + TOKEN_AUTHENTICATOR_LENGTH;
export const MEDIA_TYPE_TOKEN_REQUEST = 'application/private-token-request';
export const MEDIA_TYPE_TOKEN_RESPONSE = 'application/private-token-response';
export const MEDIA_TYPE_ISSUER_DIRECTORY = 'application/private-token-issuer-directory';

export const TOKEN_ERROR_CODES = ['MISSING', 'MALFORMED', 'WRONG_TYPE', 'WRONG_KEY', 'WRONG_CHALLENGE', 'FORGED', 'SPENT'] as const;
export type TokenErrorCode = (typeof TOKEN_ERROR_CODES)[number];
export class TokenError extends ProtocolError<TokenErrorCode> {
  readonly area = 'token';
}

function fail(code: TokenErrorCode, message?: string): never {
  throw new TokenError(code, message);
}

function u16(n: number): Uint8Array {
  return Uint8Array.of(n >> 8, n & 0xff);
}

/**
 * The TokenChallenge (RFC 9577 §2.1) of the deployment: token type 2, the issuer name,
 * an empty redemption context, and the origin name as the only origin_info.
 */
export function deploymentChallenge(issuerName: string, originName: string): Uint8Array {
  const issuer = utf8(issuerName);
  const origin = utf8(originName);
  if (issuer.length === 0 || issuer.length > 0xffff || origin.length === 0 || origin.length > 0xffff) fail('MALFORMED', 'invalid names');
  return concat(u16(TOKEN_TYPE_BLIND_RSA), u16(issuer.length), issuer, Uint8Array.of(0), u16(origin.length), origin);
}

export function challengeDigest(challenge: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(challenge).digest());
}

export interface ParsedToken {
  readonly tokenType: number;
  readonly nonce: Uint8Array;
  readonly challengeDigest: Uint8Array;
  readonly tokenKeyId: Uint8Array;
  readonly authenticator: Uint8Array;
  /** token_type || nonce || challenge_digest || token_key_id: what the issuer signed. */
  readonly authenticatorInput: Uint8Array;
}

export function parseToken(bytes: Uint8Array): ParsedToken {
  if (bytes.length < 2) fail('MALFORMED', 'too short');
  const tokenType = (bytes[0]! << 8) | bytes[1]!;
  if (tokenType !== TOKEN_TYPE_BLIND_RSA) fail('WRONG_TYPE');
  if (bytes.length !== TOKEN_LENGTH) fail('MALFORMED', 'wrong length for token type 2');
  return {
    tokenType,
    nonce: bytes.slice(2, 34),
    challengeDigest: bytes.slice(34, 66),
    tokenKeyId: bytes.slice(66, 98),
    authenticator: bytes.slice(98),
    authenticatorInput: bytes.slice(0, 98),
  };
}

/** An issuer key the verifier accepts: its token key (SPKI, RSASSA-PSS) and id. */
export interface AcceptedIssuerKey {
  readonly tokenKey: Uint8Array;
  readonly tokenKeyId: Uint8Array;
}

const keyCache = new Map<string, KeyObject>();

function publicKeyOf(tokenKey: Uint8Array): KeyObject {
  const id = toHex(createHash('sha256').update(tokenKey).digest());
  let key = keyCache.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.from(tokenKey), format: 'der', type: 'spki' });
    if (keyCache.size > 64) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

/**
 * Verifies a token against the accepted issuer keys (the current and previous logged
 * ones) and the deployment's challenge: type, key id, challenge digest, then the RSA
 * blind signature (RSASSA-PSS, SHA-384, MGF1-SHA-384, 48-byte salt; RFC 9578 §6.4).
 * Spending is separate: a valid token may still have been spent.
 */
export function verifyToken(bytes: Uint8Array, keys: readonly AcceptedIssuerKey[], expectedChallengeDigest: Uint8Array): ParsedToken {
  const token = parseToken(bytes);
  const key = keys.find((k) => equalBytes(k.tokenKeyId, token.tokenKeyId));
  if (!key) fail('WRONG_KEY');
  if (!equalBytes(token.challengeDigest, expectedChallengeDigest)) fail('WRONG_CHALLENGE');
  let ok = false;
  try {
    ok = verify('sha384', token.authenticatorInput, { key: publicKeyOf(key.tokenKey), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }, token.authenticator);
  } catch {
    ok = false;
  }
  if (!ok) fail('FORGED');
  return token;
}

// ---------------------------------------------------------------------------
// HTTP authentication (RFC 9577 §2).

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** `PrivateToken token="…"` as the relay passes it to the gateway. */
export function formatAuthorization(token: Uint8Array): string {
  return `PrivateToken token="${b64url(token)}"`;
}

/** The token of an `Authorization: PrivateToken token=…` header; MISSING or MALFORMED otherwise. */
export function parseAuthorization(header: string | undefined): Uint8Array {
  if (header === undefined || header.trim() === '') fail('MISSING');
  const m = /^PrivateToken\s+token=(?:"([A-Za-z0-9_-]+={0,2})"|([A-Za-z0-9_-]+={0,2}))\s*$/.exec(header.trim());
  if (!m) fail('MALFORMED', 'not a single PrivateToken token parameter');
  const value = (m[1] ?? m[2])!.replace(/=+$/, '');
  const bytes = new Uint8Array(Buffer.from(value, 'base64url'));
  if (b64url(bytes) !== value) fail('MALFORMED', 'not base64url');
  return bytes;
}

/** `WWW-Authenticate: PrivateToken challenge="…", token-key="…"` for a 401. */
export function formatChallengeHeader(challenge: Uint8Array, tokenKey: Uint8Array): string {
  return `PrivateToken challenge="${b64url(challenge)}", token-key="${b64url(tokenKey)}"`;
}

// ---------------------------------------------------------------------------
// Issuance messages (RFC 9578 §6.1, §6.2).

export const TOKEN_REQUEST_LENGTH = 2 + 1 + TOKEN_AUTHENTICATOR_LENGTH;

export interface TokenRequest {
  readonly truncatedTokenKeyId: number;
  readonly blindedMsg: Uint8Array;
}

export function parseTokenRequest(bytes: Uint8Array): TokenRequest {
  if (bytes.length < 2) fail('MALFORMED');
  if (((bytes[0]! << 8) | bytes[1]!) !== TOKEN_TYPE_BLIND_RSA) fail('WRONG_TYPE');
  if (bytes.length !== TOKEN_REQUEST_LENGTH) fail('MALFORMED', 'wrong length for token type 2');
  return { truncatedTokenKeyId: bytes[2]!, blindedMsg: bytes.slice(3) };
}

/** The last byte of a token key id (RFC 9578 §6.1 truncated_token_key_id). */
export function truncatedKeyId(tokenKeyId: Uint8Array): number {
  return tokenKeyId[tokenKeyId.length - 1]!;
}

// ---------------------------------------------------------------------------
// Client side of issuance (RFC 9578 §6.1, §6.3): blinding and finalisation come from
// @cloudflare/privacypass-ts (the reference implementation); this wraps it to the
// deployment's challenge and to bytes in, bytes out.

export interface TokenIssuance {
  /** The TokenRequest to POST to the issuer. */
  readonly request: Uint8Array;
  /** Unblinds the issuer's TokenResponse into a token; FORGED if it does not verify. */
  finish(response: Uint8Array): Promise<Uint8Array>;
}

export async function beginTokenIssuance(issuerName: string, originName: string, tokenKey: Uint8Array): Promise<TokenIssuance> {
  const { publicVerif, TokenChallenge } = await import('@cloudflare/privacypass-ts');
  const challenge = new TokenChallenge(TOKEN_TYPE_BLIND_RSA, issuerName, new Uint8Array(), [originName]);
  const client = new publicVerif.Client(publicVerif.BlindRSAMode.PSS);
  const request = await client.createTokenRequest(challenge, tokenKey);
  return {
    request: request.serialize(),
    async finish(response) {
      if (response.length !== TOKEN_AUTHENTICATOR_LENGTH) fail('MALFORMED', 'token response length');
      try {
        return (await client.finalize(client.deserializeTokenResponse(response))).serialize();
      } catch {
        fail('FORGED', 'the token response does not verify');
      }
    },
  };
}
