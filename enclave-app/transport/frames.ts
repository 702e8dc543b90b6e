// The framing between the parent instance and the enclave: each frame is a 4-byte
// big-endian length and that many bytes of a deterministic CBOR message. In AWS the
// frames cross vsock (bridged by socat to a Unix socket inside the enclave, see
// docs/enclave.md); locally they cross TCP on loopback. The code is the same.

import type { Socket } from 'node:net';
import { decodeDeterministic, encodeDeterministic, type DInput, type DValue } from '../../protocol';

/** Largest frame: the top padding bucket plus OHTTP overhead and a little framing. */
export const MAX_FRAME = 1024 * 1024 + 64 * 1024;

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

export function encodeFrame(message: DInput): Buffer {
  const body = encodeDeterministic(message);
  if (body.length > MAX_FRAME) throw new FrameError('frame too large');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

/** Splits a byte stream into decoded messages; a bad frame closes the connection. */
export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): DValue[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const messages: DValue[] = [];
    while (this.buffered.length >= 4) {
      const length = this.buffered.readUInt32BE(0);
      if (length > MAX_FRAME) throw new FrameError('frame too large');
      if (this.buffered.length < 4 + length) break;
      const body = this.buffered.subarray(4, 4 + length);
      this.buffered = this.buffered.subarray(4 + length);
      messages.push(decodeDeterministic(new Uint8Array(body)));
    }
    return messages;
  }
}

/** Reads frames from a socket; any framing error destroys it. */
export function onFrames(socket: Socket, handle: (message: DValue) => void): void {
  const reader = new FrameReader();
  socket.on('data', (chunk: Buffer) => {
    let messages: DValue[];
    try {
      messages = reader.push(chunk);
    } catch {
      socket.destroy();
      return;
    }
    for (const m of messages) handle(m);
  });
}

export type Message = ReadonlyMap<string, DValue>;

export function asMessage(value: DValue): Message | undefined {
  return value instanceof Map ? (value as Message) : undefined;
}
