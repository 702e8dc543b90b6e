// The parent instance's proxy (runs on the EC2 host, outside the enclave). It accepts
// the gateway's POST of ciphertext on a private port, forwards it to the enclave over
// the framed channel and returns the answer; serves /healthz (ready, release, key id)
// and the enclave's current attestation document; pushes the instance role's
// credentials (IMDSv2) into the enclave and refreshes them. It sees ciphertext only,
// and logs counts and status codes only.
//
// In AWS it also runs `vsock-proxy 8000 kms.<region>.amazonaws.com 443` with an
// allowlist of that one host (see docs/enclave.md); nothing else leaves the enclave.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  MAX_PADDED_LENGTH,
  MEDIA_TYPE_OHTTP_REQUEST,
  MEDIA_TYPE_OHTTP_RESPONSE,
  createLogger,
  type AllowlistLogger,
  type DValue,
} from '../../protocol';
import { asMessage, encodeFrame, onFrames, type Message } from '../transport/frames';
import type { ListenAddress } from '../server/listener';

/** Requests carry at most the top bucket plus the OHTTP overhead (88 bytes for P-256). */
export const MAX_REQUEST_BODY = MAX_PADDED_LENGTH + 88;

export interface InstanceCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** Unix seconds. */
  readonly expiration?: number;
}

export interface ParentProxyOptions {
  readonly enclave: ListenAddress;
  /** The private port the gateway reaches (bound to `host`, default 127.0.0.1). */
  readonly port?: number;
  readonly host?: string;
  /** Fetches the instance role's credentials (IMDSv2 in AWS, static locally). */
  readonly credentials: () => Promise<InstanceCredentials>;
  /** How often credentials are pushed again. Default 5 minutes. */
  readonly credentialRefreshMs?: number;
  /** Where the proxy's own log lines and the enclave's go. */
  readonly logSink?: (line: string) => void;
  readonly requestTimeoutMs?: number;
  /**
   * The deployment's boot parameters for a production image (which compiles in only its
   * release id and model hash): sent once on connecting, before credentials.
   */
  readonly bootConfig?: {
    readonly sessionKeyArn: string;
    readonly modelKeyArn: string;
    readonly encryptedModelDataKey: Uint8Array;
    readonly sealedModel: Uint8Array;
  };
}

interface Pending {
  resolve: (m: Message) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class ParentProxy {
  private server: Server | undefined;
  private channel: Socket | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private refresh: NodeJS.Timeout | undefined;
  readonly logger: AllowlistLogger;

  constructor(private readonly options: ParentProxyOptions) {
    this.logger = createLogger('parent', options.logSink ?? (() => undefined));
  }

  private async connectEnclave(): Promise<Socket> {
    if (this.channel && !this.channel.destroyed) return this.channel;
    const address = this.options.enclave;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = 'path' in address ? connect(address.path) : connect(address.port, address.host);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    socket.setNoDelay(true); // small request/response frames: no Nagle delay
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      for (const [, p] of this.pending) p.reject(new Error('enclave channel closed'));
      this.pending.clear();
      if (this.channel === socket) this.channel = undefined;
    });
    onFrames(socket, (value: DValue) => {
      const m = asMessage(value);
      if (!m) return;
      if (m.get('t') === 'log') {
        // The enclave's allowlisted log lines, passed on as they are.
        const line = m.get('line');
        if (typeof line === 'string') this.options.logSink?.(line);
        return;
      }
      const id = m.get('id');
      const p = typeof id === 'number' ? this.pending.get(id) : undefined;
      if (!p) return;
      clearTimeout(p.timer);
      this.pending.delete(id as number);
      p.resolve(m);
    });
    this.channel = socket;
    const boot = this.options.bootConfig;
    if (boot) socket.write(encodeFrame({ t: 'boot', sessionKeyArn: boot.sessionKeyArn, modelKeyArn: boot.modelKeyArn, encryptedModelDataKey: boot.encryptedModelDataKey, sealedModel: boot.sealedModel }));
    await this.pushCredentials();
    return socket;
  }

  private async call(message: Record<string, DValue>): Promise<Message> {
    const socket = await this.connectEnclave();
    const id = this.nextId++;
    return new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error('enclave timeout'));
      }, this.options.requestTimeoutMs ?? 25_000);
      this.pending.set(id, { resolve, reject, timer });
      socket.write(encodeFrame({ ...message, id }));
    });
  }

  /** Pushes fresh instance credentials into the enclave. */
  async pushCredentials(): Promise<void> {
    const socket = this.channel;
    if (!socket || socket.destroyed) return;
    const c = await this.options.credentials();
    socket.write(
      encodeFrame({
        t: 'credentials',
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
        ...(c.expiration ? { expiration: c.expiration } : {}),
      }),
    );
    this.logger.log({ event: 'credentials_pushed' });
  }

  private respond(res: ServerResponse, status: number, body: Uint8Array | string, contentType: string, extra: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', ...extra });
    res.end(body);
  }

  private error(res: ServerResponse, status: number, code: string, extra: Record<string, string> = {}): void {
    this.logger.log({ event: 'http', status, code });
    this.respond(res, status, JSON.stringify({ error: code }), 'application/json', extra);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/healthz' && req.method === 'GET') {
      try {
        const h = await this.call({ t: 'health' });
        const body = { ready: h.get('ready') === true, releaseId: h.get('releaseId') ?? null, keyId: h.get('keyId') ?? null };
        return this.respond(res, body.ready ? 200 : 503, JSON.stringify(body), 'application/json');
      } catch {
        return this.error(res, 503, 'ENCLAVE_UNREACHABLE');
      }
    }
    if (path === '/v1/attestation' && req.method === 'GET') {
      try {
        const document = (await this.call({ t: 'attestation' })).get('document');
        if (!(document instanceof Uint8Array)) return this.error(res, 503, 'NOT_SERVING');
        return this.respond(res, 200, document, 'application/cbor');
      } catch {
        return this.error(res, 503, 'ENCLAVE_UNREACHABLE');
      }
    }
    if (path !== '/v1/ohttp') return this.error(res, 404, 'UNKNOWN_PATH');
    if (req.method !== 'POST') return this.error(res, 405, 'METHOD_NOT_ALLOWED', { allow: 'POST' });
    if (req.headers['content-type'] !== MEDIA_TYPE_OHTTP_REQUEST) return this.error(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > MAX_REQUEST_BODY) return this.error(res, 413, 'BODY_TOO_LARGE');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_REQUEST_BODY) return this.error(res, 413, 'BODY_TOO_LARGE');
      chunks.push(chunk as Buffer);
    }
    let answer: Message;
    try {
      answer = await this.call({ t: 'request', body: new Uint8Array(Buffer.concat(chunks)) });
    } catch {
      return this.error(res, 503, 'ENCLAVE_UNREACHABLE', { 'retry-after': '5' });
    }
    const status = answer.get('status');
    const body = answer.get('body');
    const code = answer.get('code');
    const retryAfter = answer.get('retryAfter');
    if (typeof status !== 'number' || !(body instanceof Uint8Array)) return this.error(res, 502, 'BAD_ENCLAVE_ANSWER');
    this.logger.log({ event: 'http', status, ...(typeof code === 'string' && /^[A-Z_]+$/.test(code) ? { code } : {}) });
    const extra: Record<string, string> = typeof retryAfter === 'number' ? { 'retry-after': String(retryAfter) } : {};
    this.respond(res, status, body, status === 200 ? MEDIA_TYPE_OHTTP_RESPONSE : 'application/json', extra);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => this.error(res, 500, 'INTERNAL'));
    });
    await new Promise<void>((resolve) => this.server!.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', resolve));
    this.refresh = setInterval(() => void this.pushCredentials().catch(() => this.logger.log({ event: 'credentials_failed' })), this.options.credentialRefreshMs ?? 5 * 60_000);
    this.refresh.unref();
    // Connect now so the enclave gets its credentials and can boot.
    await this.connectEnclave().catch(() => this.logger.log({ event: 'enclave_unreachable' }));
    return `http://${this.options.host ?? '127.0.0.1'}:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (this.refresh) clearInterval(this.refresh);
    this.channel?.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
