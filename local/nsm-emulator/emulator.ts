// The local attestation emulator: an NSM that answers the same CBOR requests as
// /dev/nsm with documents of the real format — untagged COSE_Sign1 ES384, all nine
// payload keys (unused ones null), 16 PCRs of 48 bytes, a P-384 chain root →
// regional → zonal → instance → leaf — signed under a local root that only a
// verifier given that root's PEM accepts.

import { randomBytes, sign } from 'node:crypto';
import { join } from 'node:path';
import {
  cborEncode,
  cborEncodeIndefiniteMap,
  encodeCoseSign1,
  fromHex,
  ES384_PROTECTED_HEADER,
  pcr3ForRoleArn,
  pcr4ForInstanceId,
  sigStructure,
  type Measurement,
} from '../../protocol';
import { decodeNsmRequest, encodeNsmResponse, type NsmErrorCode, type NsmResponse } from '../../enclave-app/nsm/codec';
import type { NsmTransport } from '../../enclave-app/nsm/client';
import { NsmError } from '../../enclave-app/nsm/errors';
import { createIntermediates, createLeaf, derOf, loadOrCreateRoot, nodeKey, pemOf, type CertifiedKey } from './ca';

export const PCR_COUNT = 16;
const PCR_LENGTH = 48;
/** The NSM's limits on caller-supplied fields. */
export const MAX_ATTESTATION_FIELD = 1024;
const DEFAULT_STATE_DIR = join(__dirname, '..', '..', '.local', 'nsm-emulator');

export interface NsmEmulatorOptions {
  /** The enclave image's measurement (protocol's `measure` of its bundle). */
  readonly measurement: Pick<Measurement, 'pcr0' | 'pcr1' | 'pcr2'>;
  readonly parentRoleArn: string;
  readonly instanceId: string;
  readonly region?: string;
  /** Debug mode: PCR0, PCR1 and PCR2 read as zero, as on a real debug enclave. */
  readonly debug?: boolean;
  /** Payload map form: real documents use both. Default 'definite'. */
  readonly payloadEncoding?: 'definite' | 'indefinite';
  /** Wrap the COSE_Sign1 in tag 18 (real documents are untagged). */
  readonly tagged?: boolean;
  readonly now?: () => Date;
  /** A root to use (tests); otherwise the persistent local root in `stateDir`. */
  readonly root?: CertifiedKey;
  /** Where the local root lives. Default: `.local/nsm-emulator` at the repository root. */
  readonly stateDir?: string;
}

export class NsmEmulator implements NsmTransport {
  private intermediates: readonly CertifiedKey[] = [];
  readonly moduleId: string;
  readonly pcrs: ReadonlyMap<number, Uint8Array>;

  private constructor(
    private readonly options: NsmEmulatorOptions,
    readonly root: CertifiedKey,
  ) {
    this.moduleId = `${options.instanceId}-enc${randomBytes(8).toString('hex')}`;
    const pcrs = new Map<number, Uint8Array>();
    for (let i = 0; i < PCR_COUNT; i++) pcrs.set(i, new Uint8Array(PCR_LENGTH));
    if (!options.debug) {
      pcrs.set(0, fromHex(options.measurement.pcr0));
      pcrs.set(1, fromHex(options.measurement.pcr1));
      pcrs.set(2, fromHex(options.measurement.pcr2));
    }
    pcrs.set(3, fromHex(pcr3ForRoleArn(options.parentRoleArn)));
    pcrs.set(4, fromHex(pcr4ForInstanceId(options.instanceId)));
    for (const [index, value] of pcrs) if (value.length !== PCR_LENGTH) throw new Error(`PCR${index} must be 48 bytes`);
    this.pcrs = pcrs;
  }

  static async create(options: NsmEmulatorOptions): Promise<NsmEmulator> {
    const now = (options.now ?? (() => new Date()))();
    const root = options.root ?? (await loadOrCreateRoot(options.stateDir ?? DEFAULT_STATE_DIR, now));
    return new NsmEmulator(options, root);
  }

  /** The PEM a verifier must be given to accept this emulator's documents. */
  get rootPem(): string {
    return pemOf(this.root.cert);
  }

  private now(): Date {
    return (this.options.now ?? (() => new Date()))();
  }

  /** Intermediates are reissued when the emulator's clock leaves their validity. */
  private async currentIntermediates(now: Date): Promise<readonly CertifiedKey[]> {
    const valid = this.intermediates.length === 3 && this.intermediates.every((c) => c.cert.notBefore <= now && now <= c.cert.notAfter);
    if (!valid) {
      this.intermediates = await createIntermediates(this.root, now, {
        region: this.options.region ?? 'local-1',
        instanceId: this.options.instanceId,
      });
    }
    return this.intermediates;
  }

  /** A signed attestation document, as the NSM's Attestation request returns it. */
  async attest(fields: { userData?: Uint8Array | null; nonce?: Uint8Array | null; publicKey?: Uint8Array | null } = {}): Promise<Uint8Array> {
    for (const f of [fields.userData, fields.nonce, fields.publicKey]) {
      if (f && f.length > MAX_ATTESTATION_FIELD) throw new NsmError('InputTooLarge');
    }
    const now = this.now();
    const [regional, zonal, instance] = await this.currentIntermediates(now);
    const leaf = await createLeaf(instance!, this.moduleId, now);
    const entries: [string, unknown][] = [
      ['module_id', this.moduleId],
      ['digest', 'SHA384'],
      ['timestamp', BigInt(now.getTime())],
      ['pcrs', new Map(this.pcrs)],
      ['certificate', derOf(leaf.cert)],
      ['cabundle', [this.root, regional!, zonal!, instance!].map((c) => derOf(c.cert))],
      ['public_key', fields.publicKey ?? null],
      ['user_data', fields.userData ?? null],
      ['nonce', fields.nonce ?? null],
    ];
    const payload =
      this.options.payloadEncoding === 'indefinite' ? cborEncodeIndefiniteMap(entries) : cborEncode(new Map(entries));
    const signature = sign('sha384', sigStructure(ES384_PROTECTED_HEADER, payload), {
      key: nodeKey(leaf.keys.privateKey),
      dsaEncoding: 'ieee-p1363',
    });
    return encodeCoseSign1(payload, signature, { tagged: this.options.tagged ?? false });
  }

  private async answer(requestBytes: Uint8Array): Promise<NsmResponse> {
    const request = decodeNsmRequest(requestBytes);
    switch (request.kind) {
      case 'Attestation':
        return { kind: 'Attestation', document: await this.attest(request) };
      case 'DescribePCR': {
        const data = this.pcrs.get(request.index);
        if (!data) return { kind: 'Error', code: 'InvalidIndex' };
        return { kind: 'DescribePCR', lock: true, data };
      }
      case 'GetRandom':
        return { kind: 'GetRandom', random: new Uint8Array(randomBytes(256)) };
    }
  }

  /** NsmTransport: CBOR request in, CBOR response out, like the device. */
  async exchange(requestBytes: Uint8Array): Promise<Uint8Array> {
    let response: NsmResponse;
    try {
      response = await this.answer(requestBytes);
    } catch (err) {
      const code: NsmErrorCode = err instanceof NsmError && err.code !== 'UNAVAILABLE' ? err.code : 'InternalError';
      response = { kind: 'Error', code };
    }
    return encodeNsmResponse(response);
  }
}
