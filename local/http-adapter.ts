// Runs a handler (issuer, gateway, relay) behind node:http, as API Gateway / a Lambda
// function URL would locally. The handler gets method, path, lower-case headers and the
// body, never the peer's address. Bodies over `maxBody` are refused before they are read.

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fromApiGatewayEvent, toApiGatewayResult, type HttpRequest, type HttpResponse } from '../lambdas/common/http';

export interface ServedHandler {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

export type Handler = (request: HttpRequest) => Promise<HttpResponse>;

function readBody(req: IncomingMessage, max: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 'NaN');
    if (Number.isFinite(declared) && declared > max) return resolve(undefined);
    const chunks: Buffer[] = [];
    let total = 0;
    req.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > max) {
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

export async function serveHandler(handler: Handler, options: { maxBody: number; port?: number; host?: string }): Promise<ServedHandler> {
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req, options.maxBody).catch(() => undefined);
      let response: HttpResponse;
      if (!body) {
        response = { status: 413, headers: { 'content-type': 'application/json', connection: 'close' }, body: new TextEncoder().encode('{"error":"TOO_LARGE"}') };
      } else {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        try {
          // Through the API Gateway v2 event shape both ways, as the Lambda sees it.
          const event = {
            requestContext: { http: { method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0]! } },
            headers,
            body: Buffer.from(body).toString('base64'),
            isBase64Encoded: true,
          };
          const result = toApiGatewayResult(await handler(fromApiGatewayEvent(event)));
          response = { status: result.statusCode, headers: result.headers, body: new Uint8Array(Buffer.from(result.body, 'base64')) };
        } catch {
          response = { status: 500, headers: { 'content-type': 'application/json' }, body: new TextEncoder().encode('{"error":"INTERNAL"}') };
        }
      }
      res.writeHead(response.status, { ...response.headers, 'content-length': String(response.body.length) });
      res.end(response.body);
    })();
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
