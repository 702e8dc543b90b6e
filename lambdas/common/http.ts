// The HTTP shape handlers work on, independent of Lambda or node:http, and the adapters
// for API Gateway HTTP API (payload format 2.0) events. Handlers answer errors as
// `{"error":"CODE"}` with a 4xx/5xx status: never a stack trace, never request content.

import type { AllowlistLogger } from '../../protocol';

export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Uint8Array;
  /**
   * The IAM principal ARN API Gateway authenticated, on IAM-authorized routes only (the
   * log writer's). The relay, gateway and issuer routes have none: they never learn who.
   */
  readonly caller?: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
  /** The error code of an error response (what the body says), for the handler's log line. */
  readonly code?: string;
}

export function errorResponse(status: number, code: string, headers: Record<string, string> = {}): HttpResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: new TextEncoder().encode(JSON.stringify({ error: code })),
    code,
  };
}

/** One path of a handler: the methods it answers and what answers them. */
export interface Route {
  readonly methods: readonly string[];
  readonly handle: (request: HttpRequest) => Promise<HttpResponse> | HttpResponse;
}

/**
 * Dispatches by exact path (404, 405 with Allow), answers a failure of the handler itself
 * with 503 UNAVAILABLE and no detail, and logs one allowlisted line per request: event,
 * status, duration and the error code.
 */
export async function handleRoutes(
  request: HttpRequest,
  routes: Readonly<Record<string, Route>>,
  log: { readonly logger: AllowlistLogger; readonly event: string; readonly retryAfterOnFailure: number },
): Promise<HttpResponse> {
  const started = performance.now();
  let response: HttpResponse;
  const route = Object.hasOwn(routes, request.path) ? routes[request.path] : undefined;
  try {
    if (!route) response = errorResponse(404, 'NOT_FOUND');
    else if (!route.methods.includes(request.method)) response = errorResponse(405, 'METHOD_NOT_ALLOWED', { allow: route.methods.join(', ') });
    else response = await route.handle(request);
  } catch {
    response = errorResponse(503, 'UNAVAILABLE', { 'retry-after': String(log.retryAfterOnFailure) });
  }
  log.logger.log({ event: log.event, status: response.status, ms: performance.now() - started, ...(response.code ? { code: response.code } : {}) });
  return response;
}

/** Media type without parameters, lower-cased. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

export interface ApiGatewayV2Event {
  readonly requestContext: {
    readonly http: { readonly method: string; readonly path: string };
    /** Present on routes with AWS_IAM authorization. */
    readonly authorizer?: { readonly iam?: { readonly userArn?: string } };
  };
  readonly headers?: Record<string, string | undefined>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
}

export interface ApiGatewayV2Result {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly isBase64Encoded: true;
}

export function fromApiGatewayEvent(event: ApiGatewayV2Event): HttpRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
  const body = event.body === undefined ? new Uint8Array() : new Uint8Array(Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8'));
  const caller = event.requestContext.authorizer?.iam?.userArn;
  return { method: event.requestContext.http.method.toUpperCase(), path: event.requestContext.http.path, headers, body, ...(caller ? { caller } : {}) };
}

export function toApiGatewayResult(response: HttpResponse): ApiGatewayV2Result {
  return { statusCode: response.status, headers: response.headers, body: Buffer.from(response.body).toString('base64'), isBase64Encoded: true };
}
