// The gateway (API Gateway + Lambda in the workers' VPC). It sees an anonymous token and
// ciphertext, never who sent them: the relay strips the sender. It
//   GET  /v1/keys   serves the key bundle: each live session key's config with a current
//                   attestation document of one of its workers, the same bytes for every
//                   client for up to two minutes;
//   POST /v1/ohttp  verifies the token, reserves it, forwards the ciphertext to a uniformly
//                   random healthy worker of the request's key id, and commits the token
//                   once a worker answered (or releases it if none could take it).
// Errors are `{"error":"CODE"}`; token refusals are 401 with a PrivateToken challenge.

import {
  MAX_PADDED_LENGTH,
  MEDIA_TYPE_KEY_BUNDLE,
  MEDIA_TYPE_OHTTP_REQUEST,
  MEDIA_TYPE_OHTTP_RESPONSE,
  OhttpError,
  TokenError,
  deploymentChallenge,
  encodeKeyBundle,
  formatChallengeHeader,
  peekRequestHeader,
  type AllowlistLogger,
  type KeyBundleEntry,
  type LogEntry,
} from '../../protocol';
import { errorResponse, handleRoutes, mediaType, type HttpRequest, type HttpResponse } from '../common/http';
import type { SpendStore } from '../common/spend-store';
import { acceptedIssuerKeys, TokenRedeemer } from '../common/token-redeemer';
import type { WorkerRegistry, WorkerState } from './workers';

export const KEYS_PATH = '/v1/keys';
export const OHTTP_PATH = '/v1/ohttp';
/** The top padding bucket plus the OHTTP request overhead for P-256 (header 7, enc 65, tag 16). */
export const MAX_OHTTP_REQUEST = MAX_PADDED_LENGTH + 88;
/** The top bucket plus the response nonce (16) and tag (16). */
export const MAX_OHTTP_RESPONSE = MAX_PADDED_LENGTH + 32;

/** Worker answers meaning the request was not opened or processed: the token goes back. */
const NOT_PROCESSED = new Set(['NOT_SERVING', 'OVERLOADED', 'ENCLAVE_UNREACHABLE', 'KMS_UNAVAILABLE', 'KEY_UNAVAILABLE']);

export interface LogView {
  readonly entries: readonly LogEntry[];
  /** The latest signed checkpoint, passed to clients as a hint. */
  readonly checkpoint: string | null;
}

export interface GatewayOptions {
  readonly issuerName: string;
  readonly originName: string;
  /** The gateway's synced copy of the transparency log. */
  readonly log: () => LogView;
  readonly spends: SpendStore;
  readonly workers: WorkerRegistry;
  readonly logger: AllowlistLogger;
  /** Seconds one bundle is served (at most 120). Default 60. */
  readonly bundleTtlSeconds?: number;
  readonly forwardTimeoutMs?: number;
  readonly fetch?: typeof fetch;
  /** Milliseconds. */
  readonly now?: () => number;
}

interface LiveKey {
  readonly keyId: number;
  readonly releaseId: string;
  readonly kmsKeyArn: string;
  readonly keyConfig: Uint8Array;
}

/** Session keys in their window whose key and release are not revoked, newest first per key id. */
export function liveSessionKeys(entries: readonly LogEntry[], now: number): LiveKey[] {
  const revocations = entries.filter((e): e is LogEntry & { type: 'revocation' } => e.type === 'revocation' && e.effectiveAt <= now);
  const revokedRelease = (id: string) => revocations.some((r) => r.target.type === 'release' && r.target.releaseId === id);
  const revokedKey = (arn: string) => revocations.some((r) => r.target.type === 'session_key' && r.target.kmsKeyArn === arn);
  const byKeyId = new Map<number, LiveKey & { notBefore: number }>();
  for (const e of entries) {
    if (e.type !== 'session_key' || !(e.notBefore <= now && now < e.notAfter) || revokedRelease(e.releaseId) || revokedKey(e.kmsKeyArn)) continue;
    const keyId = e.keyConfig[0]!;
    const existing = byKeyId.get(keyId);
    if (!existing || existing.notBefore < e.notBefore) byKeyId.set(keyId, { keyId, releaseId: e.releaseId, kmsKeyArn: e.kmsKeyArn, keyConfig: e.keyConfig, notBefore: e.notBefore });
  }
  return [...byKeyId.values()].sort((a, b) => a.keyId - b.keyId);
}

export class Gateway {
  private readonly redeemer: TokenRedeemer;
  private readonly challenge: Uint8Array;
  private bundle: { bytes: Uint8Array; until: number } | undefined;

  constructor(private readonly options: GatewayOptions) {
    if ((options.bundleTtlSeconds ?? 60) > 120 || (options.bundleTtlSeconds ?? 60) < 1) throw new Error('bundleTtlSeconds must be 1..120');
    this.challenge = deploymentChallenge(options.issuerName, options.originName);
    this.redeemer = new TokenRedeemer({
      issuerName: options.issuerName,
      originName: options.originName,
      keys: () => acceptedIssuerKeys(options.log().entries, this.nowSeconds()),
      spends: options.spends,
    });
  }

  private nowMs(): number {
    return (this.options.now ?? Date.now)();
  }

  private nowSeconds(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  handle(request: HttpRequest): Promise<HttpResponse> {
    return handleRoutes(
      request,
      {
        [KEYS_PATH]: { methods: ['GET', 'HEAD'], handle: () => this.keys() },
        [OHTTP_PATH]: { methods: ['POST'], handle: (r) => this.ohttp(r) },
      },
      { logger: this.options.logger, event: 'gateway_request', retryAfterOnFailure: 5 },
    );
  }

  // ---------------------------------------------------------------------------

  private keys(): HttpResponse {
    const now = this.nowMs();
    if (!this.bundle || now >= this.bundle.until) {
      const view = this.options.log();
      const keys: KeyBundleEntry[] = [];
      for (const key of liveSessionKeys(view.entries, Math.floor(now / 1000))) {
        // Any healthy worker of the key's release: their documents attest the same facts.
        const worker = this.options.workers.healthy(key.keyId).find((w) => w.releaseId === key.releaseId && w.attestation);
        if (worker) keys.push({ keyConfig: key.keyConfig, releaseId: key.releaseId, kmsKeyArn: key.kmsKeyArn, attestation: worker.attestation! });
      }
      if (keys.length === 0) return errorResponse(503, 'NO_HEALTHY_WORKER', { 'retry-after': '10' });
      const bytes = encodeKeyBundle({ version: 1, generatedAt: Math.floor(now / 1000), keys, checkpoint: view.checkpoint });
      this.bundle = { bytes, until: now + (this.options.bundleTtlSeconds ?? 60) * 1000 };
    }
    const maxAge = Math.max(0, Math.floor((this.bundle.until - now) / 1000));
    return { status: 200, headers: { 'content-type': MEDIA_TYPE_KEY_BUNDLE, 'cache-control': `public, max-age=${maxAge}` }, body: this.bundle.bytes };
  }

  private unauthorized(code: string): HttpResponse {
    const current = acceptedIssuerKeys(this.options.log().entries, this.nowSeconds())[0];
    return errorResponse(401, code, current ? { 'www-authenticate': formatChallengeHeader(this.challenge, current.tokenKey) } : {});
  }

  private async ohttp(request: HttpRequest): Promise<HttpResponse> {
    if (mediaType(request.headers['content-type']) !== MEDIA_TYPE_OHTTP_REQUEST) return errorResponse(415, 'UNSUPPORTED_MEDIA_TYPE');
    if (request.body.length > MAX_OHTTP_REQUEST) return errorResponse(413, 'TOO_LARGE');

    // Cheap checks of the request before the token is touched, so a bad body never burns one.
    let keyId: number;
    try {
      keyId = peekRequestHeader(request.body).keyId;
    } catch (err) {
      return errorResponse(400, err instanceof OhttpError ? err.code : 'MALFORMED');
    }
    const live = liveSessionKeys(this.options.log().entries, this.nowSeconds());
    if (!live.some((k) => k.keyId === keyId)) return errorResponse(400, 'KEY_ID_UNKNOWN');

    let reservation;
    try {
      reservation = await this.redeemer.reserve(request.headers['authorization']);
    } catch (err) {
      if (err instanceof TokenError) return this.unauthorized(err.code);
      throw err;
    }

    // Try a random healthy worker; on a failure that proves it did not process the request, one other.
    const tried = new Set<string>();
    for (let attempt = 0; attempt < 2; attempt++) {
      const worker = this.options.workers.pick(keyId, tried);
      if (!worker) break;
      tried.add(worker.url);
      const outcome = await this.forward(worker, request.body);
      if (outcome.kind === 'answered') {
        await this.redeemer.commit(reservation);
        return outcome.response;
      }
      this.options.workers.markDown(worker.url);
    }
    await this.redeemer.release(reservation);
    return errorResponse(503, 'NO_HEALTHY_WORKER', { 'retry-after': '5' });
  }

  private async forward(worker: WorkerState, body: Uint8Array): Promise<{ kind: 'answered'; response: HttpResponse } | { kind: 'not-processed' }> {
    const f = this.options.fetch ?? fetch;
    let res: Response;
    try {
      res = await f(`${worker.url}${OHTTP_PATH}`, {
        method: 'POST',
        headers: { 'content-type': MEDIA_TYPE_OHTTP_REQUEST },
        body,
        signal: AbortSignal.timeout(this.options.forwardTimeoutMs ?? 25_000),
      });
    } catch (err) {
      // A timeout may mean the worker is still working on it: the token stays spent.
      if ((err as { name?: unknown } | null)?.name === 'TimeoutError') return { kind: 'answered', response: errorResponse(504, 'WORKER_TIMEOUT') };
      // The connection failed: nothing reached a worker.
      return { kind: 'not-processed' };
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (res.status === 200) {
      if (bytes.length > MAX_OHTTP_RESPONSE || mediaType(res.headers.get('content-type') ?? '') !== MEDIA_TYPE_OHTTP_RESPONSE) {
        return { kind: 'answered', response: errorResponse(502, 'BAD_WORKER_ANSWER') };
      }
      return { kind: 'answered', response: { status: 200, headers: { 'content-type': MEDIA_TYPE_OHTTP_RESPONSE, 'cache-control': 'no-store' }, body: bytes } };
    }
    let code = 'WORKER_ERROR';
    try {
      const parsed = JSON.parse(new TextDecoder().decode(bytes)) as { error?: unknown };
      if (typeof parsed.error === 'string' && /^[A-Z_]{1,48}$/.test(parsed.error)) code = parsed.error;
    } catch {
      code = 'WORKER_ERROR';
    }
    if (res.status === 503 && NOT_PROCESSED.has(code)) return { kind: 'not-processed' };
    // The worker saw the request: pass its plain refusal on (4xx codes are the client's business).
    const status = res.status >= 400 && res.status < 500 ? res.status : 502;
    return { kind: 'answered', response: errorResponse(status, code) };
  }
}

