// The Privacy Pass issuer (RFC 9578 §6, token type 0x0002). It sees an account and a
// blinded message, never the token: blind RSA makes the token it later signs
// unlinkable to this request. Answers:
//
//   GET  /.well-known/private-token-issuer-directory   RFC 9578 §4 directory
//   POST /v1/token-request                             RFC 9578 §6.2/§6.3
//
// Errors are `{"error":"CODE"}` with 4xx (5xx only for the issuer's own faults).

import {
  MEDIA_TYPE_ISSUER_DIRECTORY,
  MEDIA_TYPE_TOKEN_REQUEST,
  MEDIA_TYPE_TOKEN_RESPONSE,
  TOKEN_REQUEST_LENGTH,
  TOKEN_TYPE_BLIND_RSA,
  TokenError,
  parseTokenRequest,
  truncatedKeyId,
  type AllowlistLogger,
} from '../../protocol';
import { errorResponse, handleRoutes, mediaType, type HttpRequest, type HttpResponse } from '../common/http';
import type { AccountVerifier } from './accounts';
import { BlindSignError, blindSign, rawRsaPrivate, type RawRsa } from './blind-sign';
import { loadSigningKey, signingKeyAt, type IssuerKeyRecord, type IssuerKeyStore, type IssuerSigningKey } from './keys';
import { utcDay, type QuotaStore } from './quota';

export const ISSUER_DIRECTORY_PATH = '/.well-known/private-token-issuer-directory';
export const TOKEN_REQUEST_PATH = '/v1/token-request';

export interface IssuerOptions {
  readonly keys: IssuerKeyStore;
  readonly accounts: AccountVerifier;
  readonly quota: QuotaStore;
  readonly tokensPerDay: number;
  /** Absolute URL of the token-request endpoint, published in the directory. */
  readonly requestUri: string;
  readonly logger: AllowlistLogger;
  /** Seconds the key list is cached (default 60). */
  readonly keyCacheSeconds?: number;
  readonly now?: () => number;
  /** The raw RSA private operation; replaced only by tests that inject faults. */
  readonly rawRsa?: RawRsa;
}

/** RFC 9578 §4: token-key is base64url "including padding". */
function base64urlPadded(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

export class Issuer {
  private cached: { at: number; records: IssuerKeyRecord[] } | undefined;
  private readonly loaded = new Map<string, IssuerSigningKey>();

  constructor(private readonly options: IssuerOptions) {
    if (!Number.isInteger(options.tokensPerDay) || options.tokensPerDay < 1) throw new Error('tokensPerDay must be a positive integer');
    new URL(options.requestUri);
  }

  private nowSeconds(): number {
    return Math.floor((this.options.now ?? Date.now)() / 1000);
  }

  private async records(): Promise<IssuerKeyRecord[]> {
    const now = this.nowSeconds();
    if (!this.cached || now - this.cached.at >= (this.options.keyCacheSeconds ?? 60)) {
      this.cached = { at: now, records: await this.options.keys.list() };
    }
    return this.cached.records;
  }

  private signingKey(record: IssuerKeyRecord): IssuerSigningKey {
    const id = Buffer.from(record.tokenKeyId).toString('hex');
    let key = this.loaded.get(id);
    if (!key) {
      key = loadSigningKey(record);
      this.loaded.set(id, key);
    }
    return key;
  }

  handle(request: HttpRequest): Promise<HttpResponse> {
    return handleRoutes(
      request,
      {
        [ISSUER_DIRECTORY_PATH]: { methods: ['GET', 'HEAD'], handle: () => this.directory() },
        [TOKEN_REQUEST_PATH]: { methods: ['POST'], handle: (r) => this.tokenRequest(r) },
      },
      // Store or configuration failures: no detail leaves, nothing is signed.
      { logger: this.options.logger, event: 'issuer_request', retryAfterOnFailure: 30 },
    );
  }

  /** RFC 9578 §4: the keys a client may be issued under, newest first. */
  private async directory(): Promise<HttpResponse> {
    const now = this.nowSeconds();
    const keys = (await this.records())
      .filter((r) => r.notBefore <= now && now < r.signUntil)
      .sort((a, b) => b.notBefore - a.notBefore)
      .slice(0, 2);
    const body = {
      'issuer-request-uri': this.options.requestUri,
      'token-keys': keys.map((k) => ({ 'token-type': TOKEN_TYPE_BLIND_RSA, 'token-key': base64urlPadded(k.tokenKey), 'not-before': k.notBefore })),
    };
    return {
      status: 200,
      headers: { 'content-type': MEDIA_TYPE_ISSUER_DIRECTORY, 'cache-control': 'public, max-age=300' },
      body: new TextEncoder().encode(JSON.stringify(body)),
    };
  }

  private async tokenRequest(request: HttpRequest): Promise<HttpResponse> {
    const authorization = request.headers['authorization'] ?? '';
    const bearer = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(authorization.trim())?.[1];
    const account = bearer ? await this.options.accounts(bearer) : undefined;
    if (!account) return errorResponse(401, 'UNAUTHENTICATED', { 'www-authenticate': 'Bearer' });
    if (mediaType(request.headers['content-type']) !== MEDIA_TYPE_TOKEN_REQUEST) return errorResponse(415, 'UNSUPPORTED_MEDIA_TYPE');
    if (request.body.length > TOKEN_REQUEST_LENGTH) return errorResponse(413, 'TOO_LARGE');
    let tokenRequest;
    try {
      tokenRequest = parseTokenRequest(request.body);
    } catch (err) {
      return errorResponse(400, err instanceof TokenError ? err.code : 'MALFORMED');
    }
    const now = this.nowSeconds();
    const record = signingKeyAt(await this.records(), now);
    if (!record) return errorResponse(503, 'NO_ISSUER_KEY', { 'retry-after': '60' });
    if (tokenRequest.truncatedTokenKeyId !== truncatedKeyId(record.tokenKeyId)) return errorResponse(400, 'WRONG_KEY');
    const key = this.signingKey(record);

    if (!(await this.options.quota.consume(account, utcDay(now), this.options.tokensPerDay))) {
      return errorResponse(429, 'QUOTA_EXCEEDED', { 'retry-after': String((utcDay(now) + 1) * 86_400 - now) });
    }
    try {
      const signature = blindSign(key.privateKey, key.publicKey, tokenRequest.blindedMsg, this.options.rawRsa ?? rawRsaPrivate);
      return { status: 200, headers: { 'content-type': MEDIA_TYPE_TOKEN_RESPONSE, 'cache-control': 'no-store' }, body: signature };
    } catch (err) {
      if (err instanceof BlindSignError && err.code === 'INVALID_BLINDED_MESSAGE') return errorResponse(400, err.code);
      // A fault: the signature is withheld (RFC 9474 §7.3).
      return errorResponse(500, 'SIGNING_FAULT');
    }
  }
}
