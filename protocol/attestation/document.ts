// The attestation document payload of aws-nitro-enclaves-nsm-api `AttestationDoc`:
// a CBOR map (definite or indefinite length) with exactly the nine keys below.
// Unused optional fields are CBOR null. Anything else is MALFORMED: in particular
// a NitroTPM document, which has `nitrotpm_pcrs` instead of `pcrs`.

import { AttestationError } from '../errors';
import { decodeCbor } from './cose';

export const PAYLOAD_KEYS = [
  'module_id',
  'digest',
  'timestamp',
  'pcrs',
  'certificate',
  'cabundle',
  'public_key',
  'user_data',
  'nonce',
] as const;

/** AWS's limits on the caller-supplied fields (NSM API). */
export const MAX_USER_DATA = 1024;
export const MAX_NONCE = 1024;
export const MAX_PUBLIC_KEY = 1024;
const MAX_CABUNDLE = 8;
const PCR_LENGTHS: Record<string, number> = { SHA256: 32, SHA384: 48, SHA512: 64 };

export interface AttestationPayload {
  readonly moduleId: string;
  readonly digest: 'SHA384';
  /** Milliseconds since the Unix epoch. */
  readonly timestamp: number;
  /** PCR index to value. */
  readonly pcrs: ReadonlyMap<number, Uint8Array>;
  readonly certificate: Uint8Array;
  readonly cabundle: readonly Uint8Array[];
  readonly publicKey: Uint8Array | null;
  readonly userData: Uint8Array | null;
  readonly nonce: Uint8Array | null;
}

function malformed(message: string): never {
  throw new AttestationError('MALFORMED', message);
}

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;

function optionalBytes(value: unknown, max: number, name: string): Uint8Array | null {
  if (value === null) return null;
  if (!isBytes(value) || value.length > max) malformed(`invalid ${name}`);
  return Uint8Array.from(value);
}

export function parseAttestationPayload(payload: Uint8Array): AttestationPayload {
  const map = decodeCbor(payload);
  if (!(map instanceof Map)) malformed('payload is not a map');
  if (!map.has('pcrs')) malformed(map.has('nitrotpm_pcrs') ? 'a NitroTPM document, not an enclave document' : 'no pcrs');
  if (map.size !== PAYLOAD_KEYS.length || !PAYLOAD_KEYS.every((k) => map.has(k))) malformed('unexpected payload keys');

  const moduleId = map.get('module_id');
  if (typeof moduleId !== 'string' || moduleId.length === 0) malformed('invalid module_id');
  // Nitro Enclaves use SHA-384 PCRs; a document in another bank is not one we can check.
  const digest = map.get('digest');
  if (digest !== 'SHA384') malformed('digest is not SHA384');

  const rawTimestamp = map.get('timestamp');
  const timestamp = typeof rawTimestamp === 'bigint' ? Number(rawTimestamp) : rawTimestamp;
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp <= 0) malformed('invalid timestamp');

  const rawPcrs = map.get('pcrs');
  if (!(rawPcrs instanceof Map) || rawPcrs.size === 0 || rawPcrs.size > 32) malformed('invalid pcrs');
  const pcrs = new Map<number, Uint8Array>();
  for (const [index, value] of rawPcrs) {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= 32) malformed('invalid PCR index');
    if (!isBytes(value) || value.length !== PCR_LENGTHS[digest]) malformed('invalid PCR value');
    pcrs.set(index, Uint8Array.from(value));
  }
  for (const index of [0, 1, 2]) if (!pcrs.has(index)) malformed('PCR0, PCR1 and PCR2 are required');

  const certificate = map.get('certificate');
  if (!isBytes(certificate) || certificate.length === 0) malformed('invalid certificate');
  const cabundle = map.get('cabundle');
  if (!Array.isArray(cabundle) || cabundle.length === 0 || cabundle.length > MAX_CABUNDLE || !cabundle.every(isBytes)) {
    malformed('invalid cabundle');
  }

  return {
    moduleId,
    digest,
    timestamp,
    pcrs,
    certificate: Uint8Array.from(certificate),
    cabundle: cabundle.map((c: Uint8Array) => Uint8Array.from(c)),
    publicKey: optionalBytes(map.get('public_key'), MAX_PUBLIC_KEY, 'public_key'),
    userData: optionalBytes(map.get('user_data'), MAX_USER_DATA, 'user_data'),
    nonce: optionalBytes(map.get('nonce'), MAX_NONCE, 'nonce'),
  };
}
