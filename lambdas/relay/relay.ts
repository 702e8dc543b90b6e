// The OHTTP relay (CloudFront + Lambda), the reference for the independent party that
// runs it. It sees who (the client's address reaches it) but not what (ciphertext), and
// passes on nothing about who: it forwards
//   POST /v1/ohttp            message/ohttp-req only, the client's `Private-Token` moved
//                             into `Authorization: PrivateToken token="…"`, to the gateway
//   GET  /v1/keys             the key bundle, from the gateway
//   GET  /log/<tile path>     the transparency log's checkpoint and tiles, from the log
// to URLs fixed at deploy time, builds every outgoing request from scratch (no client
// header survives but those two), returns only Content-Type (and Cache-Control on GET),
// caps sizes both ways and refuses to start without its URLs. It logs counts only.

import {
  MAX_PADDED_LENGTH,
  MEDIA_TYPE_OHTTP_REQUEST,
  MEDIA_TYPE_OHTTP_RESPONSE,
  formatAuthorization,
  type AllowlistLogger,
} from '../../protocol';
import { errorResponse, mediaType, type HttpRequest, type HttpResponse } from '../common/http';

/** The top padding bucket plus the OHTTP request overhead (P-256): the largest honest request. */
export const RELAY_MAX_REQUEST = MAX_PADDED_LENGTH + 88;
/** The top bucket plus the OHTTP response nonce and tag. */
export const RELAY_MAX_OHTTP_RESPONSE = MAX_PADDED_LENGTH + 32;
/** Key bundles and log tiles are small; this bounds what a misbehaving upstream can push through. */
export const RELAY_MAX_GET_RESPONSE = 1024 * 1024;

const TOKEN = /^[A-Za-z0-9_-]{1,1024}={0,2}$/;
// C2SP tlog-tiles paths: checkpoint, hash tiles and entry bundles, with optional partial
// width; and the log's checkpoint history (`checkpoints/<N>`), which clients use to date entries.
const LOG_PATH = /^\/log\/(checkpoint|tile\/(?:\d{1,2}|entries)\/(?:x\d{3}\/)*\d{3}(?:\.p\/\d{1,3})?|checkpoints\/(?:x\d{3}\/)*\d{3})$/;

export interface RelayOptions {
  /** The gateway's base URL, fixed at deploy time. */
  readonly gatewayUrl: string;
  /** The transparency log's public base URL, fixed at deploy time. */
  readonly logUrl: string;
  readonly logger: AllowlistLogger;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}

function checkUrl(name: string, value: string | undefined): string {
  if (!value) throw new Error(`relay: ${name} is required`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`relay: ${name} is not a URL`);
  }
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new Error(`relay: ${name} must be https (http only on loopback)`);
  if (url.search || url.hash || url.username || url.password) throw new Error(`relay: ${name} must be a plain base URL`);
  return value.replace(/\/+$/, '');
}

export type RelayOutcome = 'forwarded' | 'refused' | 'upstream_failed';

export class Relay {
  private readonly gatewayUrl: string;
  private readonly logUrl: string;
  private readonly counts = new Map<string, number>();

  constructor(private readonly options: RelayOptions) {
    this.gatewayUrl = checkUrl('gatewayUrl', options.gatewayUrl);
    this.logUrl = checkUrl('logUrl', options.logUrl);
  }

  /** Counters by outcome and status; the only thing the relay records. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  /** Writes the counters as log lines and resets them (call once a minute). */
  flushCounts(): void {
    for (const [key, count] of this.counts) {
      const [outcome, status] = key.split(':');
      this.options.logger.log({ event: `relay_${outcome}`, status: Number(status), count });
    }
    this.counts.clear();
  }

  private count(outcome: RelayOutcome, status: number): void {
    const key = `${outcome}:${status}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  private refuse(status: number, code: string, headers: Record<string, string> = {}): HttpResponse {
    this.count('refused', status);
    return errorResponse(status, code, headers);
  }

  async handle(request: HttpRequest): Promise<HttpResponse> {
    if (request.path === '/v1/ohttp') {
      if (request.method !== 'POST') return this.refuse(405, 'METHOD_NOT_ALLOWED', { allow: 'POST' });
      if (mediaType(request.headers['content-type']) !== MEDIA_TYPE_OHTTP_REQUEST) return this.refuse(415, 'UNSUPPORTED_MEDIA_TYPE');
      if (request.body.length === 0) return this.refuse(400, 'EMPTY');
      if (request.body.length > RELAY_MAX_REQUEST) return this.refuse(413, 'TOO_LARGE');
      const headers: Record<string, string> = { 'content-type': MEDIA_TYPE_OHTTP_REQUEST };
      const token = request.headers['private-token']?.trim();
      if (token !== undefined && token !== '') {
        if (!TOKEN.test(token)) return this.refuse(400, 'MALFORMED_TOKEN');
        headers['authorization'] = formatAuthorization(new Uint8Array(Buffer.from(token, 'base64url')));
      }
      return this.forward(`${this.gatewayUrl}/v1/ohttp`, { method: 'POST', headers, body: request.body }, RELAY_MAX_OHTTP_RESPONSE, false);
    }
    if (request.path === '/v1/keys' || LOG_PATH.test(request.path)) {
      if (request.method !== 'GET') return this.refuse(405, 'METHOD_NOT_ALLOWED', { allow: 'GET' });
      if (request.body.length > 0) return this.refuse(400, 'UNEXPECTED_BODY');
      const url = request.path === '/v1/keys' ? `${this.gatewayUrl}/v1/keys` : `${this.logUrl}/${request.path.slice('/log/'.length)}`;
      return this.forward(url, { method: 'GET', headers: {} }, RELAY_MAX_GET_RESPONSE, true);
    }
    return this.refuse(404, 'NOT_FOUND');
  }

  private async forward(url: string, init: { method: string; headers: Record<string, string>; body?: Uint8Array }, maxResponse: number, cacheable: boolean): Promise<HttpResponse> {
    const f = this.options.fetch ?? fetch;
    let res: Response;
    try {
      res = await f(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000) });
    } catch {
      this.count('upstream_failed', 502);
      return errorResponse(502, 'UPSTREAM_UNREACHABLE');
    }
    const body = await readCapped(res, maxResponse);
    if (!body) {
      this.count('upstream_failed', 502);
      return errorResponse(502, 'UPSTREAM_TOO_LARGE');
    }
    const headers: Record<string, string> = {};
    const contentType = res.headers.get('content-type');
    if (contentType) headers['content-type'] = contentType;
    if (cacheable && res.status === 200) headers['cache-control'] = res.headers.get('cache-control') ?? 'no-store';
    else headers['cache-control'] = 'no-store';
    // An OHTTP answer is passed on only as what it claims to be.
    if (init.method === 'POST' && res.status === 200 && mediaType(contentType ?? '') !== MEDIA_TYPE_OHTTP_RESPONSE) {
      this.count('upstream_failed', 502);
      return errorResponse(502, 'UPSTREAM_BAD_ANSWER');
    }
    this.count('forwarded', res.status);
    return { status: res.status, headers, body };
  }
}

async function readCapped(res: Response, max: number): Promise<Uint8Array | undefined> {
  const declared = Number(res.headers.get('content-length') ?? 'NaN');
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel();
    return undefined;
  }
  if (!res.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return new Uint8Array(Buffer.concat(chunks));
}
