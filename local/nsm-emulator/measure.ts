// Emulated enclave measurements. Until the shared `measure` of protocol/ exists
// (shared-formats issue), this computes PCR0/1/2 of an enclave bundle the way
// Nitro's PCRs are built: each register starts at 48 zero bytes and is extended
// with SHA-384 digests, PCR = SHA-384(PCR || SHA-384(part)).
//   PCR1: the kernel and boot ramdisk part; PCR2: the application part;
//   PCR0: the whole image (both parts, in order).

import { createHash } from 'node:crypto';
import { pcrExtend, toHex } from '../../protocol';

export const PCR_LENGTH = 48;

export interface EnclaveBundle {
  readonly kernel: Uint8Array;
  readonly application: Uint8Array;
}

const sha384 = (data: Uint8Array) => new Uint8Array(createHash('sha384').update(data).digest());

export function measureBundle(bundle: EnclaveBundle): { pcr0: string; pcr1: string; pcr2: string } {
  const zero = new Uint8Array(PCR_LENGTH);
  const pcr1 = pcrExtend(zero, sha384(bundle.kernel));
  const pcr2 = pcrExtend(zero, sha384(bundle.application));
  const pcr0 = pcrExtend(pcrExtend(zero, sha384(bundle.kernel)), sha384(bundle.application));
  return { pcr0: toHex(pcr0), pcr1: toHex(pcr1), pcr2: toHex(pcr2) };
}

/** AWS's PCR3: SHA-384(48 zero bytes || parent instance role ARN). */
export function pcr3ForRole(roleArn: string): string {
  return toHex(pcrExtend(new Uint8Array(PCR_LENGTH), new TextEncoder().encode(roleArn)));
}

/** AWS's PCR4: SHA-384(48 zero bytes || parent instance id). */
export function pcr4ForInstance(instanceId: string): string {
  return toHex(pcrExtend(new Uint8Array(PCR_LENGTH), new TextEncoder().encode(instanceId)));
}
