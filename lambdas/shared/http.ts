// The HTTP shape handlers work on, independent of Lambda or node:http, and the adapters
// for API Gateway HTTP API (payload format 2.0) events. Handlers answer errors as
// `{"error":"CODE"}` with a 4xx/5xx status: never a stack trace, never request content.

export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Uint8Array;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

export function errorResponse(status: number, code: string, headers: Record<string, string> = {}): HttpResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: new TextEncoder().encode(JSON.stringify({ error: code })),
  };
}

/** Media type without parameters, lower-cased. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

export interface ApiGatewayV2Event {
  readonly requestContext: { readonly http: { readonly method: string; readonly path: string } };
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
  return { method: event.requestContext.http.method.toUpperCase(), path: event.requestContext.http.path, headers, body };
}

export function toApiGatewayResult(response: HttpResponse): ApiGatewayV2Result {
  return { statusCode: response.status, headers: response.headers, body: Buffer.from(response.body).toString('base64'), isBase64Encoded: true };
}
