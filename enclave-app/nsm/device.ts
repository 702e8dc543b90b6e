// The real NSM: /dev/nsm is driven by ioctl(NSM_IOCTL 0xC0200A00), which Node
// cannot issue, so a tiny C helper (bridge/nsm-bridge.c, built into the enclave
// image) holds the device open and carries frames between its stdin/stdout and
// the ioctl. A frame is a 4-byte big-endian length followed by that many bytes:
// one request in, one response out, strictly in turn.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { NSM_RESPONSE_MAX_SIZE } from './codec';
import type { NsmTransport } from './client';
import { NsmError } from './errors';

export const DEFAULT_BRIDGE_PATH = '/usr/local/bin/nsm-bridge';

export function frame(bytes: Uint8Array): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(bytes.length);
  return Buffer.concat([header, bytes]);
}

/** Talks to the bridge helper; requests are serialised. */
export class NsmDeviceTransport implements NsmTransport {
  private child: ChildProcessWithoutNullStreams | undefined;
  private buffered = Buffer.alloc(0);
  private pending: { resolve: (b: Uint8Array) => void; reject: (e: Error) => void } | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly command: readonly string[] = [DEFAULT_BRIDGE_PATH]) {}

  private start(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const [cmd, ...args] = this.command;
    const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    const failAll = () => {
      this.child = undefined;
      this.pending?.reject(new NsmError('UNAVAILABLE', 'the NSM bridge exited'));
      this.pending = undefined;
    };
    child.on('exit', failAll);
    child.on('error', failAll);
    this.child = child;
    return child;
  }

  private onData(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    if (this.buffered.length < 4) return;
    const length = this.buffered.readUInt32BE(0);
    if (length > NSM_RESPONSE_MAX_SIZE) {
      this.pending?.reject(new NsmError('InvalidResponse', 'oversized frame from the bridge'));
      this.pending = undefined;
      this.close();
      return;
    }
    if (this.buffered.length < 4 + length) return;
    const body = new Uint8Array(this.buffered.subarray(4, 4 + length));
    this.buffered = this.buffered.subarray(4 + length);
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve(body);
  }

  exchange(request: Uint8Array): Promise<Uint8Array> {
    const run = () =>
      new Promise<Uint8Array>((resolve, reject) => {
        const child = this.start();
        this.pending = { resolve, reject };
        child.stdin.write(frame(request));
      });
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  close(): void {
    this.child?.kill();
    this.child = undefined;
  }
}
