// The enclave's end of the parent channel. The parent connects and exchanges frames:
//   parent → enclave: {t: "request", id, body} | {t: "health", id} | {t: "attestation", id}
//                     | {t: "credentials", accessKeyId, secretAccessKey, sessionToken?, expiration?}
//                     | {t: "boot", sessionKeyArn, modelKeyArn, encryptedModelDataKey, sealedModel}
//   enclave → parent: {t: "response", id, status, body, code, retryAfter?} | {t: "health", id, …}
//                     | {t: "attestation", id, document} | {t: "log", line}
// Logs leave the enclave only here, as lines the allowlisted logger produced.

import { createServer, type Server, type Socket } from 'node:net';
import type { DInput, DValue } from '../../protocol';
import { asMessage, encodeFrame, onFrames, type Message } from '../transport/frames';
import type { PushedCredentials } from './credentials';
import type { Enclave } from './enclave';
import type { RequestHandler } from './handler';

/** Where the enclave listens: a Unix socket (bridged to vsock by socat in AWS) or, in a local build, TCP on loopback. */
export type ListenAddress = { readonly path: string } | { readonly host: typeof LOOPBACK; readonly port: number };
const LOOPBACK = '127.0.0.1';

const MAX_PENDING_LOG_LINES = 1000;

declare const __PP_BUILD__: string | undefined;

export class EnclaveListener {
  private server: Server | undefined;
  private readonly parents = new Set<Socket>();
  private readonly pendingLogs: string[] = [];

  constructor(
    private readonly deps: {
      readonly enclave: () => Enclave | undefined;
      readonly handler: () => RequestHandler | undefined;
      readonly credentials: PushedCredentials;
      /** The deployment's boot parameters from the parent (production entry only). */
      readonly onBoot?: (message: Message) => void;
    },
  ) {}

  /** The log sink of the enclave's logger: to every connected parent, buffered until one connects. */
  readonly logSink = (line: string): void => {
    if (this.parents.size === 0) {
      if (this.pendingLogs.length < MAX_PENDING_LOG_LINES) this.pendingLogs.push(line);
      return;
    }
    for (const p of this.parents) p.write(encodeFrame({ t: 'log', line }));
  };

  private send(socket: Socket, message: DInput): void {
    if (!socket.destroyed) socket.write(encodeFrame(message));
  }

  private async onMessage(socket: Socket, value: DValue): Promise<void> {
    const m = asMessage(value);
    if (!m) return;
    const id = m.get('id');
    switch (m.get('t')) {
      case 'request': {
        const body = m.get('body');
        const handler = this.deps.handler();
        if (typeof id !== 'number' || !(body instanceof Uint8Array)) return;
        if (!handler) {
          this.send(socket, { t: 'response', id, status: 503, code: 'NOT_SERVING', body: new TextEncoder().encode('{"error":"NOT_SERVING"}') });
          return;
        }
        const result = await handler.handle(body);
        this.send(socket, { t: 'response', id, status: result.status, code: result.code, body: result.body, ...(result.retryAfter ? { retryAfter: result.retryAfter } : {}) });
        return;
      }
      case 'health': {
        const enclave = this.deps.enclave();
        this.send(socket, {
          t: 'health',
          id: typeof id === 'number' ? id : 0,
          ready: enclave?.serving ?? false,
          releaseId: enclave?.releaseId ?? null,
          keyId: enclave?.serving ? enclave.keyConfig.keyId : null,
        });
        return;
      }
      case 'attestation': {
        const enclave = this.deps.enclave();
        this.send(socket, { t: 'attestation', id: typeof id === 'number' ? id : 0, document: enclave?.serving ? enclave.attestation : null });
        return;
      }
      case 'credentials': {
        const [accessKeyId, secretAccessKey, sessionToken, expiration] = ['accessKeyId', 'secretAccessKey', 'sessionToken', 'expiration'].map((k) => m.get(k));
        if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string') return;
        this.deps.credentials.update({
          accessKeyId,
          secretAccessKey,
          ...(typeof sessionToken === 'string' ? { sessionToken } : {}),
          ...(typeof expiration === 'number' ? { expiration: new Date(expiration * 1000) } : {}),
        });
        return;
      }
      case 'boot':
        this.deps.onBoot?.(m);
        return;
      default:
        return;
    }
  }

  async listen(address: ListenAddress): Promise<ListenAddress> {
    this.server = createServer((socket) => {
      // Frames are small and request/response: Nagle's algorithm would add ~40 ms to each.
      socket.setNoDelay(true);
      this.parents.add(socket);
      socket.on('close', () => this.parents.delete(socket));
      socket.on('error', () => socket.destroy());
      for (const line of this.pendingLogs.splice(0)) this.send(socket, { t: 'log', line });
      onFrames(socket, (m) => void this.onMessage(socket, m));
    });
    const server = this.server;
    if ('path' in address) {
      await new Promise<void>((resolve) => server.listen(address.path, resolve));
      return address;
    }
    // TCP on loopback is for local builds; a production bundle has none of it (compiled out).
    if (typeof __PP_BUILD__ !== 'undefined' && __PP_BUILD__ === 'production') throw new Error('a production build listens on the vsock bridge socket only');
    await new Promise<void>((resolve) => server.listen(address.port, address.host, resolve));
    const bound = server.address();
    return { host: address.host, port: typeof bound === 'object' && bound ? bound.port : address.port };
  }

  async close(): Promise<void> {
    for (const p of this.parents) p.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
