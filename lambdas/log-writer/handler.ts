// The log writer's HTTP face: `POST /v1/entries` with one log entry in its canonical
// encoding (application/cbor). Who may append what is decided by the caller's IAM
// identity, which API Gateway authenticates (the route uses AWS_IAM authorization) and
// passes on as `request.caller`: the release publisher's role may append releases and
// session keys, the rotation role issuer keys. The body is checked by the log writer
// itself (decoding, then every rule of the log), so a caller can at most be refused.
// Locally, `npm start -- --serve` maps a bearer secret to the same role ARNs.

import { createLogger, decodeLogEntry, type AllowlistLogger } from '../../protocol';
import { errorResponse, handleRoutes, mediaType, type HttpRequest, type HttpResponse } from '../common/http';
import { LogWriterError, type LogWriter, type LogWriterErrorCode, type Submitter } from './log';

/** HTTP status for each refusal of the log writer. */
const STATUS: Record<LogWriterErrorCode, number> = {
  NOT_AUTHORIZED: 403,
  INVALID_ENTRY: 400,
  ENTRY_TOO_LARGE: 413,
  EMULATED_NOT_ALLOWED: 400,
  RELEASE_EXISTS: 409,
  UNKNOWN_RELEASE: 409,
  KEY_EXISTS: 409,
  KEY_REJECTED: 400,
  TOO_MANY_SESSION_KEYS: 409,
  ISSUER_KEY_REJECTED: 400,
  TOO_MANY_ISSUER_KEYS: 409,
  UNKNOWN_TARGET: 409,
  STORAGE_INCONSISTENT: 503,
};

/** A log entry is at most MAX_ENTRY_LENGTH; the body cap leaves room and refuses anything bigger unread. */
export const MAX_APPEND_BODY = 256 * 1024;

export interface LogWriterHandlerOptions {
  readonly log: LogWriter;
  /** Role name (the part after `role/` or `assumed-role/`) → what it submits as. */
  readonly submitters: Readonly<Record<string, Submitter>>;
  /** The account the roles live in; callers from any other account are refused. */
  readonly account: string;
  readonly logger?: AllowlistLogger;
}

const ROLE_ARN = /^arn:aws[a-z-]*:(?:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})|sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/[\w+=,.@-]+)$/;

/** The submitter of an authenticated caller ARN, or undefined. */
export function submitterOf(caller: string | undefined, account: string, submitters: Readonly<Record<string, Submitter>>): Submitter | undefined {
  const m = caller === undefined ? null : ROLE_ARN.exec(caller);
  if (!m) return undefined;
  const callerAccount = m[1] ?? m[3];
  const role = (m[2] ?? m[4])!;
  if (callerAccount !== account || !Object.hasOwn(submitters, role)) return undefined;
  return submitters[role];
}

export class LogWriterHandler {
  private readonly logger: AllowlistLogger;

  constructor(private readonly options: LogWriterHandlerOptions) {
    this.logger = options.logger ?? createLogger('log-writer', (line) => process.stdout.write(`${line}\n`));
  }

  handle(request: HttpRequest): Promise<HttpResponse> {
    return handleRoutes(request, { '/v1/entries': { methods: ['POST'], handle: (r) => this.append(r) } }, { logger: this.logger, event: 'append', retryAfterOnFailure: 5 });
  }

  private async append(request: HttpRequest): Promise<HttpResponse> {
    const submitter = submitterOf(request.caller, this.options.account, this.options.submitters);
    if (!submitter) return errorResponse(request.caller === undefined ? 401 : 403, request.caller === undefined ? 'UNAUTHENTICATED' : 'NOT_AUTHORIZED');
    if (mediaType(request.headers['content-type']) !== 'application/cbor') return errorResponse(415, 'UNSUPPORTED_MEDIA_TYPE');
    if (request.body.length > MAX_APPEND_BODY) return errorResponse(413, 'ENTRY_TOO_LARGE');
    let entry;
    try {
      entry = decodeLogEntry(request.body);
    } catch {
      return errorResponse(400, 'INVALID_ENTRY');
    }
    try {
      const { index, checkpoint } = await this.options.log.append(entry, submitter);
      const size = Number(checkpoint.split('\n')[1]);
      return { status: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: new TextEncoder().encode(JSON.stringify({ index, size })) };
    } catch (err) {
      if (err instanceof LogWriterError) return errorResponse(STATUS[err.code], err.code);
      throw err;
    }
  }
}
