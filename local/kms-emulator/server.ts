// The KMS emulator's HTTP face: the KMS JSON 1.1 protocol (POST /, X-Amz-Target:
// TrentService.<Operation>), SigV4-authenticated, so the unchanged
// @aws-sdk/client-kms works against it with an endpoint override. Listens on
// loopback only.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KmsEmulator, KmsException, type KmsEmulatorOptions, type Principal } from './emulator';
import { SigV4Error, verifySigV4, type Credential } from './sigv4';

export interface EmulatorIdentity extends Credential {
  readonly principal: Principal;
}

export interface KmsServerOptions extends KmsEmulatorOptions {
  /** Who may call, by access key id. */
  readonly identities: readonly EmulatorIdentity[];
  readonly port?: number;
}

const MAX_BODY = 1024 * 1024;
const CONTENT_TYPE = 'application/x-amz-json-1.1';

function send(res: ServerResponse, status: number, body: object, errorType?: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': CONTENT_TYPE,
    'content-length': Buffer.byteLength(text),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export class KmsServer {
  readonly emulator: KmsEmulator;
  private server: Server | undefined;
  private readonly identities = new Map<string, EmulatorIdentity>();

  constructor(private readonly options: KmsServerOptions) {
    this.emulator = new KmsEmulator(options);
    for (const identity of options.identities) this.identities.set(identity.accessKeyId, identity);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (body === undefined) return send(res, 413, { __type: 'ValidationException', message: 'Request too large' }, 'ValidationException');
    const target = String(req.headers['x-amz-target'] ?? '');
    if (req.method !== 'POST' || req.url !== '/' || !target.startsWith('TrentService.') || !String(req.headers['content-type']).startsWith(CONTENT_TYPE)) {
      return send(res, 400, { __type: 'UnknownOperationException', message: 'Unknown operation' }, 'UnknownOperationException');
    }
    let identity: EmulatorIdentity;
    try {
      const credential = await verifySigV4({ method: req.method, path: req.url, headers: req.headers, body }, (id) => this.identities.get(id), new Date());
      identity = this.identities.get(credential.accessKeyId)!;
    } catch (err) {
      if (err instanceof SigV4Error) return send(res, 400, { __type: err.exception, message: err.message }, err.exception);
      throw err;
    }
    let input: Record<string, unknown>;
    try {
      const parsed = JSON.parse(body.toString('utf8') || '{}') as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      input = parsed as Record<string, unknown>;
    } catch {
      return send(res, 400, { __type: 'SerializationException', message: 'Malformed request body' }, 'SerializationException');
    }
    try {
      send(res, 200, await this.emulator.handle(target.slice('TrentService.'.length), input, identity.principal));
    } catch (err) {
      if (err instanceof KmsException) return send(res, 400, { __type: err.exception, message: err.message }, err.exception);
      send(res, 500, { __type: 'KMSInternalException', message: 'Internal error' }, 'KMSInternalException');
    }
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => send(res, 500, { __type: 'KMSInternalException', message: 'Internal error' }, 'KMSInternalException'));
    });
    await new Promise<void>((resolve) => this.server!.listen(this.options.port ?? 0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve, reject) => (this.server ? this.server.close((e) => (e ? reject(e) : resolve())) : resolve()));
    this.server = undefined;
  }
}
