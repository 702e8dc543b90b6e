// One request through the enclave. Before decryption, failures are typed 4xx/5xx
// codes for the parent (there is nothing to encrypt an answer to); after it, every
// answer — result or error — is a padded Binary HTTP response sealed to the client,
// released at the request bucket's deadline.

import {
  BhttpError,
  COMPOSE_RESULT_SCHEMA,
  HpkeError,
  SUMMARIZE_RESULT_SCHEMA,
  OhttpError,
  bucketFor,
  conforms,
  decapsulateRequest,
  decodeBhttpRequest,
  encodeBhttpResponse,
  padToBucket,
  peekRequestHeader,
  type AllowlistLogger,
  type GatewayKey,
  type ServerContext,
} from '../../protocol';
import { FeatureError, parseComposeRequest, parseSummarizeRequest, type ModelBackend } from '../features/api';
import { fitAnswer, responseBucketFor } from '../features/fit';
import { forgetRegExpInput } from '../features/regexp-statics';
import { KmsClientError } from '../kms/errors';
import type { TokenBucket } from './admission';
import { holdUntilDeadline, type Deadlines } from './deadlines';
import type { ReplayCache } from './replay';

/** What the parent gets back: an HTTP status, a body (ciphertext, or a code) and headers. */
export interface HandlerResult {
  readonly status: number;
  readonly body: Uint8Array;
  /** A stable code, for plaintext errors and for logs. */
  readonly code: string;
  readonly retryAfter?: number;
}

export interface HandlerDeps {
  /** The keys served now; empty when not serving. */
  readonly keys: () => readonly GatewayKey[];
  readonly serving: () => boolean;
  readonly replay: ReplayCache;
  readonly admission: TokenBucket;
  /**
   * Requests being decrypted or computed at once (default 8); past it, 503 OVERLOADED
   * before any KMS call. The engine works on one core, so a longer queue would only make
   * answers miss their bucket's deadline, and a late answer tells its size by its time.
   */
  readonly maxInFlight?: number;
  readonly engine: () => ModelBackend;
  readonly deadlines: Deadlines;
  /** Allowed difference between the request's Date and the enclave's clock (RFC 9458 §6.5). */
  readonly clockSkewMs: number;
  readonly now: () => number;
  readonly logger: AllowlistLogger;
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const plain = (status: number, code: string, retryAfter?: number): HandlerResult => ({
  status,
  code,
  body: json({ error: code }),
  ...(retryAfter !== undefined ? { retryAfter } : {}),
});

/** OHTTP failures before decryption, as statuses. */
function ohttpFailure(err: OhttpError): HandlerResult {
  switch (err.code) {
    case 'BODY_TOO_LARGE':
      return plain(413, err.code);
    case 'KEY_ID_UNKNOWN':
    case 'UNSUPPORTED_SUITE':
    case 'TRUNCATED':
    case 'MALFORMED':
    case 'INVALID_KEY':
    case 'DECRYPT_FAILED':
      return plain(400, err.code);
    default:
      return plain(400, 'DECRYPT_FAILED');
  }
}

interface InnerAnswer {
  status: number;
  body: unknown;
}

function parseHttpDate(value: string | undefined): number | undefined {
  if (!value || !/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(value)) return undefined;
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : undefined;
}

export class RequestHandler {
  private inFlight = 0;

  constructor(private readonly deps: HandlerDeps) {}

  async handle(encapsulated: Uint8Array): Promise<HandlerResult> {
    const { deps } = this;
    const start = deps.now();
    if (!deps.serving()) return plain(503, 'NOT_SERVING', 30);
    let enc: Uint8Array;
    try {
      enc = peekRequestHeader(encapsulated).enc;
    } catch (err) {
      return err instanceof OhttpError ? ohttpFailure(err) : plain(400, 'MALFORMED');
    }
    // A replay is refused before it costs a KMS call.
    if (deps.replay.has(enc, start)) return plain(400, 'REPLAYED');
    if (this.inFlight >= (deps.maxInFlight ?? 8)) return plain(503, 'OVERLOADED', 1);
    if (!deps.admission.tryTake(start)) return plain(503, 'OVERLOADED', deps.admission.retryAfter());
    this.inFlight++;
    let computed = false;
    const done = () => {
      if (!computed) {
        computed = true;
        this.inFlight--;
      }
    };
    try {
      return await this.compute(encapsulated, enc, start, done);
    } finally {
      done();
    }
  }

  /** From decryption to the sealed answer; calls `done` once the CPU work is over (before holding for the deadline). */
  private async compute(encapsulated: Uint8Array, enc: Uint8Array, start: number, done: () => void): Promise<HandlerResult> {
    const { deps } = this;

    let request: Uint8Array;
    let context: ServerContext;
    try {
      ({ request, context } = await decapsulateRequest(deps.keys(), encapsulated));
    } catch (err) {
      if (err instanceof OhttpError) return ohttpFailure(err);
      if (err instanceof HpkeError) return plain(400, 'DECRYPT_FAILED');
      if (err instanceof KmsClientError) return plain(503, err.code === 'UNAVAILABLE' ? 'KMS_UNAVAILABLE' : 'KEY_UNAVAILABLE', 5);
      return plain(503, 'KMS_UNAVAILABLE', 5);
    }
    if (!deps.replay.add(enc, deps.now())) return plain(503, 'OVERLOADED', 1);

    // From here on the client can read the answer: every outcome is sealed to it.
    // Clients pad requests to a bucket; the deadline follows the request's bucket, and
    // the answer is padded to a size that follows from it alone (features/fit.ts).
    const bucket = bucketFor(request.length);
    const size = responseBucketFor(bucket);
    let answer = await this.answer(request, bucket);
    const encode = (body: unknown) =>
      encodeBhttpResponse({ informational: [], status: answer.status, headers: [{ name: 'content-type', value: 'application/json' }], content: json(body), trailers: [] });
    let encoded = fitAnswer(answer.body, encode, size);
    if (!encoded) {
      answer = { status: 500, body: { error: 'RESPONSE_TOO_LARGE' } };
      encoded = encode(answer.body);
    }
    const inner = padToBucket(encoded, size);
    done();
    const late = await holdUntilDeadline(deps.deadlines, bucket, start, deps.now);
    const sealed = await context.encapsulateResponse(inner);
    const code = (answer.body as { error?: string }).error ?? 'OK';
    deps.logger.log({ event: 'request', status: answer.status, code: late ? 'DEADLINE_MISSED' : code, bucket, ms: deps.now() - start });
    return { status: 200, body: sealed, code };
  }

  /** The decrypted request: Date, route, feature. Never throws; never echoes the request. */
  private async answer(request: Uint8Array, bucket: number): Promise<InnerAnswer> {
    try {
      let message;
      try {
        message = decodeBhttpRequest(request);
      } catch (err) {
        return { status: 400, body: { error: err instanceof BhttpError ? 'BAD_REQUEST' : 'MALFORMED' } };
      }
      const date = parseHttpDate(message.headers.find((h) => h.name.toLowerCase() === 'date')?.value);
      const now = this.deps.now();
      if (date === undefined) return { status: 400, body: { error: 'DATE_REQUIRED' } };
      if (Math.abs(now - date) > this.deps.clockSkewMs) {
        return { status: 400, body: { error: 'DATE_SKEW', serverTime: new Date(now).toUTCString() } };
      }
      const route = message.path === '/v1/summarize' ? 'summarize' : message.path === '/v1/compose' ? 'compose' : undefined;
      if (!route) return { status: 404, body: { error: 'UNKNOWN_PATH' } };
      if (message.method !== 'POST') return { status: 405, body: { error: 'METHOD_NOT_ALLOWED' } };
      const engine = this.deps.engine();
      const body = route === 'summarize' ? await engine.summarize(parseSummarizeRequest(message.content), { bucket }) : await engine.compose(parseComposeRequest(message.content), { bucket });
      // Only the declared shape leaves the enclave, whatever the engine returned.
      if (!conforms(route === 'summarize' ? SUMMARIZE_RESULT_SCHEMA : COMPOSE_RESULT_SCHEMA, body)) return { status: 500, body: { error: 'FEATURE_FAILED' } };
      return { status: 200, body };
    } catch (err) {
      if (err instanceof FeatureError) {
        // A language the engine cannot read is refused politely, with a fixed sentence (never the input).
        if (err.code === 'UNSUPPORTED_LANGUAGE') return { status: 422, body: { error: err.code, message: err.message } };
        return { status: err.code === 'TOO_LARGE' ? 413 : 400, body: { error: err.code } };
      }
      return { status: 500, body: { error: 'FEATURE_FAILED' } };
    } finally {
      forgetRegExpInput();
    }
  }
}
