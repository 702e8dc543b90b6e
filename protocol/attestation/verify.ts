// verifyAttestation: the fail-closed pipeline every consumer of an attestation
// document runs (client, KMS emulator, tests). Each step either passes or throws
// AttestationError with a stable code:
//   policy present → parse COSE_Sign1 → parse payload → chain to the anchor →
//   COSE signature with the leaf key → debug mode → released PCRs → freshness → nonce.

import { createHash } from 'node:crypto';
import { equalBytes, toHex } from '../bytes';
import { AttestationError } from '../errors';
import { AWS_NITRO_ROOT_G1_PEM, AWS_NITRO_ROOT_G1_SHA256 } from './aws-root';
import { trustAnchorFromPem, verifyChain, type TrustAnchor } from './chain';
import { parseCoseSign1, verifyCoseSignature } from './cose';
import { parseAttestationPayload, type AttestationPayload } from './document';

/** PCR index to lower-case hex; a document matches when every listed PCR is equal. */
export type Release = Readonly<Record<number, string>>;

export interface VerifyAttestationOptions {
  /** The time to verify at (certificate validity and freshness). Default: now. */
  readonly now?: Date;
  /** PEM of the trust anchor. Default: the AWS Nitro Enclaves Root-G1. */
  readonly trustAnchorPem?: string;
  /** Released measurements, or 'any' (inspection tools only). Required. */
  readonly releases: readonly Release[] | 'any';
  /** Maximum age of the document. Default 10 minutes. */
  readonly maxAgeMs?: number;
  /** If given, the document's nonce must equal it. */
  readonly nonce?: Uint8Array;
}

export interface VerifiedAttestation {
  readonly moduleId: string;
  /** Milliseconds since the Unix epoch. */
  readonly timestamp: number;
  /** PCR index to lower-case hex. */
  readonly pcrs: Readonly<Record<number, string>>;
  readonly publicKey: Uint8Array | null;
  readonly userData: Uint8Array | null;
  readonly nonce: Uint8Array | null;
  /** DER of the leaf certificate that signed the document. */
  readonly certificate: Uint8Array;
}

export const DEFAULT_MAX_AGE_MS = 10 * 60 * 1000;
/** Documents may be dated this far ahead of the verifier's clock. */
export const CLOCK_SKEW_MS = 60 * 1000;
/** Largest document accepted (the NSM response buffer is 12 KiB). */
export const MAX_DOCUMENT_LENGTH = 16 * 1024;

const HEX_48 = /^[0-9a-f]{96}$/;

const AWS_ANCHOR: TrustAnchor = (() => {
  const anchor = trustAnchorFromPem(AWS_NITRO_ROOT_G1_PEM);
  if (anchor.sha256 !== AWS_NITRO_ROOT_G1_SHA256) throw new Error('embedded AWS Nitro root does not match its pinned fingerprint');
  return anchor;
})();

const anchorCache = new Map<string, TrustAnchor>();
function anchorFor(pem: string | undefined): TrustAnchor {
  if (pem === undefined) return AWS_ANCHOR;
  let anchor = anchorCache.get(pem);
  if (!anchor) {
    anchor = trustAnchorFromPem(pem);
    anchorCache.set(pem, anchor);
  }
  return anchor;
}

function fail(code: AttestationError['code'], message?: string): never {
  throw new AttestationError(code, message);
}

function checkPolicy(options: VerifyAttestationOptions | undefined): void {
  const releases = options?.releases;
  if (releases === 'any') return;
  if (!Array.isArray(releases) || releases.length === 0) fail('POLICY_REQUIRED', 'no released measurements given');
  for (const release of releases) {
    const entries = Object.entries(release ?? {});
    // Every release pins PCR0 at least; an empty release would accept any enclave.
    if (entries.length === 0 || !('0' in release)) fail('POLICY_REQUIRED', 'a release must pin PCR0');
    for (const [index, value] of entries) {
      if (!/^(0|[1-9][0-9]?)$/.test(index) || typeof value !== 'string' || !HEX_48.test(value)) {
        fail('POLICY_REQUIRED', 'a release PCR must be 48 bytes of lower-case hex');
      }
      if (/^0+$/.test(value)) fail('POLICY_REQUIRED', 'a release cannot pin an all-zero (debug) PCR');
    }
  }
}

const isZero = (bytes: Uint8Array | undefined) => bytes !== undefined && bytes.every((b) => b === 0);

export interface AuthenticateOptions {
  readonly now?: Date;
  readonly trustAnchorPem?: string;
}

export interface AuthenticatedAttestation {
  readonly payload: AttestationPayload;
  /** DER of the leaf certificate that signed the document. */
  readonly certificate: Uint8Array;
}

/**
 * Steps 2–5 only: the document is well formed, chains to the anchor at `now`, and is
 * signed by its leaf. No policy: this is what KMS itself checks of a `Recipient`
 * (the KMS emulator uses it); everyone else calls verifyAttestation.
 */
export function authenticateAttestation(document: Uint8Array, options: AuthenticateOptions = {}): AuthenticatedAttestation {
  const now = (options.now ?? new Date()).getTime();
  if (!Number.isFinite(now)) fail('POLICY_REQUIRED', 'invalid time');
  const anchor = anchorFor(options.trustAnchorPem);
  if (!(document instanceof Uint8Array) || document.length > MAX_DOCUMENT_LENGTH) fail('MALFORMED', 'document too large');
  const cose = parseCoseSign1(document);
  const payload = parseAttestationPayload(cose.payload);
  const chain = verifyChain(payload.cabundle, payload.certificate, anchor, now);
  if (!verifyCoseSignature(cose, chain.leafKey)) fail('SIGNATURE_INVALID');
  return { payload, certificate: chain.leafDer };
}

export async function verifyAttestation(document: Uint8Array, options: VerifyAttestationOptions): Promise<VerifiedAttestation> {
  checkPolicy(options);
  const now = (options.now ?? new Date()).getTime();
  const { payload, certificate } = authenticateAttestation(document, options);

  // Debug mode zeroes PCR0, PCR1 and PCR2 (PCR8 is zero for every unsigned image: not a signal).
  if (isZero(payload.pcrs.get(0)) && isZero(payload.pcrs.get(1)) && isZero(payload.pcrs.get(2))) fail('DEBUG_ENCLAVE');

  const pcrs: Record<number, string> = {};
  for (const [index, value] of payload.pcrs) pcrs[index] = toHex(value);
  if (options.releases !== 'any') {
    const released = options.releases.some((release) =>
      Object.entries(release).every(([index, value]) => pcrs[Number(index)] === value),
    );
    if (!released) fail('PCR_NOT_RELEASED');
  }

  const maxAge = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  if (payload.timestamp < now - maxAge) fail('STALE', 'document older than the maximum age');
  if (payload.timestamp > now + CLOCK_SKEW_MS) fail('STALE', 'document dated in the future');

  if (options.nonce !== undefined && (payload.nonce === null || !equalBytes(payload.nonce, options.nonce))) fail('NONCE_MISMATCH');

  return {
    moduleId: payload.moduleId,
    timestamp: payload.timestamp,
    pcrs,
    publicKey: payload.publicKey,
    userData: payload.userData,
    nonce: payload.nonce,
    certificate,
  };
}

/** SHA-384 PCR extension, PCR = SHA-384(PCR || data): AWS's formula for PCR3 and PCR4. */
export function pcrExtend(previous: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha384').update(previous).update(data).digest());
}
