// The one function that computes the emulated measurement of an enclave bundle,
// used by the NSM emulator and the release pipeline alike. It mirrors how Nitro
// builds its PCRs: each register starts as 48 zero bytes and is extended with
// SHA-384 digests, PCR = SHA-384(PCR || digest).
//   PCR1: the platform part (for Nitro: kernel and boot ramdisk; here its name);
//   PCR2: the application part (every file of the bundle, by path and content);
//   PCR0: the whole image (platform, then application).
// imageSha384 is the SHA-384 of the bundle's canonical encoding (the artefact an
// auditor hashes), which is not PCR0.

import { createHash } from 'node:crypto';
import { toHex } from '../bytes';
import { encodeDeterministic } from '../dcbor';
import { FormatError } from '../errors';
import { pcrExtend } from '../attestation/verify';

export interface EnclaveBundle {
  /** Names the boot platform, e.g. `emulated-nitro/node-20`. */
  readonly platform: string;
  /** Application files by relative POSIX path. */
  readonly files: ReadonlyMap<string, Uint8Array>;
}

export interface Measurement {
  readonly pcr0: string;
  readonly pcr1: string;
  readonly pcr2: string;
  readonly imageSha384: string;
}

const PCR_LENGTH = 48;
const SEGMENT = /^[A-Za-z0-9._@+-]+$/;

/** A relative POSIX path whose segments are plain names (no `.`, `..` or empty ones). */
function isBundlePath(path: string): boolean {
  if (path.length === 0 || path.length > 255) return false;
  return path.split('/').every((s) => SEGMENT.test(s) && s !== '.' && s !== '..');
}

const sha384 = (data: Uint8Array) => new Uint8Array(createHash('sha384').update(data).digest());

function canonicalFiles(bundle: EnclaveBundle): [string, Uint8Array][] {
  if (bundle.platform.length === 0 || bundle.platform.length > 200) throw new FormatError('INVALID_FIELD', 'invalid platform name');
  const entries = [...bundle.files.entries()];
  if (entries.length === 0) throw new FormatError('INVALID_FIELD', 'an enclave bundle has files');
  for (const [path, content] of entries) {
    if (!isBundlePath(path)) throw new FormatError('INVALID_FIELD', 'invalid file path in the bundle');
    if (!(content instanceof Uint8Array)) throw new FormatError('INVALID_FIELD', 'file content must be bytes');
  }
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function measure(bundle: EnclaveBundle): Measurement {
  const files = canonicalFiles(bundle);
  const platformDigest = sha384(new TextEncoder().encode(bundle.platform));
  const applicationDigest = sha384(encodeDeterministic(files.map(([path, content]) => [path, sha384(content)])));
  const zero = new Uint8Array(PCR_LENGTH);
  const image = encodeDeterministic({ platform: bundle.platform, files: new Map(files) });
  return {
    pcr0: toHex(pcrExtend(pcrExtend(zero, platformDigest), applicationDigest)),
    pcr1: toHex(pcrExtend(zero, platformDigest)),
    pcr2: toHex(pcrExtend(zero, applicationDigest)),
    imageSha384: toHex(sha384(image)),
  };
}

/** AWS's PCR3: SHA-384(48 zero bytes || the parent instance's IAM role ARN). */
export function pcr3ForRoleArn(roleArn: string): string {
  return toHex(pcrExtend(new Uint8Array(PCR_LENGTH), new TextEncoder().encode(roleArn)));
}

/** AWS's PCR4: SHA-384(48 zero bytes || the parent instance id). */
export function pcr4ForInstanceId(instanceId: string): string {
  return toHex(pcrExtend(new Uint8Array(PCR_LENGTH), new TextEncoder().encode(instanceId)));
}
