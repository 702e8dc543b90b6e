// The enclave's client of the Nitro Secure Module, over any transport: the device
// (/dev/nsm through the bridge helper, ./device.ts) or the local emulator.

import { decodeNsmResponse, encodeNsmRequest, NSM_REQUEST_MAX_SIZE, type NsmRequest, type NsmResponse } from './codec';
import { NsmError } from './errors';

/** Carries one CBOR request to the NSM and returns its CBOR response. */
export interface NsmTransport {
  exchange(request: Uint8Array): Promise<Uint8Array>;
}

export interface AttestationRequest {
  readonly userData?: Uint8Array;
  readonly nonce?: Uint8Array;
  readonly publicKey?: Uint8Array;
}

export class NsmClient {
  constructor(private readonly transport: NsmTransport) {}

  private async call(request: NsmRequest): Promise<NsmResponse> {
    const encoded = encodeNsmRequest(request);
    if (encoded.length > NSM_REQUEST_MAX_SIZE) throw new NsmError('InputTooLarge');
    let answer: Uint8Array;
    try {
      answer = await this.transport.exchange(encoded);
    } catch (err) {
      if (err instanceof NsmError) throw err;
      throw new NsmError('UNAVAILABLE', 'the NSM transport failed');
    }
    const response = decodeNsmResponse(answer);
    if (response.kind === 'Error') throw new NsmError(response.code);
    if (response.kind !== request.kind) throw new NsmError('InvalidResponse');
    return response;
  }

  /** A signed attestation document carrying the given fields. */
  async attestation(request: AttestationRequest = {}): Promise<Uint8Array> {
    const response = await this.call({
      kind: 'Attestation',
      userData: request.userData ?? null,
      nonce: request.nonce ?? null,
      publicKey: request.publicKey ?? null,
    });
    return (response as Extract<NsmResponse, { kind: 'Attestation' }>).document;
  }

  async describePcr(index: number): Promise<{ lock: boolean; data: Uint8Array }> {
    const response = (await this.call({ kind: 'DescribePCR', index })) as Extract<NsmResponse, { kind: 'DescribePCR' }>;
    return { lock: response.lock, data: response.data };
  }

  async getRandom(): Promise<Uint8Array> {
    return ((await this.call({ kind: 'GetRandom' })) as Extract<NsmResponse, { kind: 'GetRandom' }>).random;
  }
}
