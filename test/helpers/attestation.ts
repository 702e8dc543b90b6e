// Builds attestation documents with chains a test chooses, from the emulator's CA
// functions, to exercise each way chain verification can fail.
import { sign } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { cborEncode, encodeCoseSign1, ES384_PROTECTED_HEADER, sigStructure } from '../../protocol';
import { createIntermediates, createLeaf, createRoot, derOf, issueCertificate, nodeKey, type CertifiedKey } from '../../local/nsm-emulator/ca';

export const AWS_ROOT_SUBJECT = 'C=US, O=Amazon, OU=AWS, CN=aws.nitro-enclaves';
const HOUR = 3600_000;

export interface Chain {
  root: CertifiedKey;
  intermediates: CertifiedKey[];
  leaf: CertifiedKey;
}

export async function makeChain(now: Date, rootSubject?: string): Promise<Chain> {
  const root = await createRoot(now, rootSubject);
  const intermediates = [...(await createIntermediates(root, now, { region: 'test-1', instanceId: 'i-0test' }))];
  const leaf = await createLeaf(intermediates[2]!, 'i-0test-enc0', now);
  return { root, intermediates, leaf };
}

export function pcrMap(pcr0: Uint8Array, fill = 0x11): Map<number, Uint8Array> {
  const pcrs = new Map<number, Uint8Array>();
  for (let i = 0; i < 16; i++) pcrs.set(i, new Uint8Array(48).fill(i < 3 ? fill : 0));
  pcrs.set(0, pcr0);
  return pcrs;
}

export interface DocumentParts {
  now: Date;
  signer: CertifiedKey;
  certificate: Uint8Array;
  cabundle: Uint8Array[];
  pcrs?: Map<number, Uint8Array>;
  extra?: [string, unknown][];
  drop?: string[];
  nonce?: Uint8Array | null;
}

/** A document with the given chain, signed by `signer`. */
export function buildDocument(parts: DocumentParts): Uint8Array {
  const entries = new Map<string, unknown>([
    ['module_id', 'i-0test-enc0'],
    ['digest', 'SHA384'],
    ['timestamp', BigInt(parts.now.getTime())],
    ['pcrs', parts.pcrs ?? pcrMap(new Uint8Array(48).fill(0xaa))],
    ['certificate', parts.certificate],
    ['cabundle', parts.cabundle],
    ['public_key', null],
    ['user_data', null],
    ['nonce', parts.nonce ?? null],
  ]);
  for (const k of parts.drop ?? []) entries.delete(k);
  for (const [k, v] of parts.extra ?? []) entries.set(k, v);
  const payload = cborEncode(entries);
  const signature = sign('sha384', sigStructure(ES384_PROTECTED_HEADER, payload), { key: nodeKey(parts.signer.keys.privateKey), dsaEncoding: 'ieee-p1363' });
  return encodeCoseSign1(payload, signature);
}

export function documentFromChain(chain: Chain, now: Date, overrides: Partial<DocumentParts> = {}): Uint8Array {
  return buildDocument({
    now,
    signer: chain.leaf,
    certificate: derOf(chain.leaf.cert),
    cabundle: [chain.root, ...chain.intermediates].map((c) => derOf(c.cert)),
    ...overrides,
  });
}

/** A certificate with chosen constraints, issued by `issuer`. */
export function issue(issuer: CertifiedKey, now: Date, options: { ca: boolean; pathLength?: number; usage?: x509.KeyUsageFlags; hours?: number; startHours?: number }) {
  const start = new Date(now.getTime() + (options.startHours ?? -1) * HOUR);
  return issueCertificate({
    subject: `CN=test ${Math.random().toString(36).slice(2)}`,
    issuer,
    notBefore: start,
    notAfter: new Date(start.getTime() + (options.hours ?? 24) * HOUR),
    ca: options.ca,
    ...(options.pathLength === undefined ? {} : { pathLength: options.pathLength }),
    keyUsage: options.usage ?? (options.ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature : x509.KeyUsageFlags.digitalSignature),
  });
}

export { derOf, x509 };
