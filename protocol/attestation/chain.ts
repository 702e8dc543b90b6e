// The certificate chain of an attestation document: cabundle[0] is the root, each
// later entry is signed by the one before it, and `certificate` (the leaf that
// signs the document) by the last. Checked in this order (AWS, "Verifying the
// root of trust"): the anchor first, then each link's signature, then validity at
// the caller's time, basic constraints, path lengths and key usage.
//
// Parsing and extensions: @peculiar/x509. Signatures: node:crypto (native ECDSA).

import 'reflect-metadata';
import { createHash, X509Certificate as NodeCertificate, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { equalBytes } from '../bytes';
import { AttestationError } from '../errors';

interface ParsedCertificate {
  readonly der: Uint8Array;
  readonly sha256: string;
  readonly cert: x509.X509Certificate;
  readonly native: NodeCertificate;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly isCa: boolean;
  readonly pathLength: number | undefined;
  readonly keyUsage: number | undefined;
}

function untrusted(message: string): never {
  throw new AttestationError('CHAIN_UNTRUSTED', message);
}

/** Parsed certificates by SHA-256 of their DER, and verified issuer→subject links. */
const parsedCache = new Map<string, ParsedCertificate>();
const verifiedLinks = new Set<string>();
const CACHE_LIMIT = 4096;

function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  if (map.size >= CACHE_LIMIT) map.delete(map.keys().next().value as K);
  map.set(key, value);
}

function parse(der: Uint8Array): ParsedCertificate {
  const sha256 = createHash('sha256').update(der).digest('hex');
  const cached = parsedCache.get(sha256);
  if (cached) return cached;
  let parsed: ParsedCertificate;
  let keyIsP384 = false;
  let signedWithSha384 = false;
  try {
    const cert = new x509.X509Certificate(Buffer.from(der));
    const native = new NodeCertificate(Buffer.from(der));
    const basic = cert.getExtension(x509.BasicConstraintsExtension);
    const usage = cert.getExtension(x509.KeyUsagesExtension);
    parsed = {
      der: Uint8Array.from(der),
      sha256,
      cert,
      native,
      notBefore: cert.notBefore.getTime(),
      notAfter: cert.notAfter.getTime(),
      isCa: basic?.ca === true,
      pathLength: basic?.pathLength,
      keyUsage: usage?.usages,
    };
    // Nitro chains are ECDSA P-384 with SHA-384 throughout. Reading the key can
    // fail on a damaged certificate: that is MALFORMED too.
    const key = native.publicKey;
    keyIsP384 = key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp384r1';
    const alg = cert.signatureAlgorithm as { name?: string; hash?: { name?: string } };
    signedWithSha384 = alg.name === 'ECDSA' && alg.hash?.name === 'SHA-384';
  } catch {
    throw new AttestationError('MALFORMED', 'a certificate does not parse');
  }
  if (!keyIsP384) untrusted('certificate key is not P-384');
  if (!signedWithSha384) untrusted('certificate not signed with ECDSA SHA-384');
  remember(parsedCache, sha256, parsed);
  return parsed;
}

function checkLink(issuer: ParsedCertificate, subject: ParsedCertificate): void {
  const key = `${issuer.sha256}>${subject.sha256}`;
  if (verifiedLinks.has(key)) return;
  let ok = false;
  try {
    ok = subject.native.checkIssued(issuer.native) && subject.native.verify(issuer.native.publicKey);
  } catch {
    ok = false;
  }
  if (!ok) untrusted('certificate not issued by the one before it');
  if (verifiedLinks.size >= CACHE_LIMIT) verifiedLinks.clear();
  verifiedLinks.add(key);
}

export interface TrustAnchor {
  readonly der: Uint8Array;
  readonly sha256: string;
}

export function trustAnchorFromPem(pem: string): TrustAnchor {
  let der: Uint8Array;
  try {
    der = new Uint8Array(new NodeCertificate(pem).raw);
  } catch {
    throw new AttestationError('POLICY_REQUIRED', 'the trust anchor is not a certificate');
  }
  return { der, sha256: createHash('sha256').update(der).digest('hex') };
}

export interface VerifiedChain {
  /** The leaf's public key, which must have signed the document. */
  readonly leafKey: KeyObject;
  readonly leafDer: Uint8Array;
}

/** Verifies cabundle + certificate up to `anchor` at time `now` (ms). */
export function verifyChain(cabundle: readonly Uint8Array[], certificate: Uint8Array, anchor: TrustAnchor, now: number): VerifiedChain {
  // 1. The anchor: cabundle[0] must be it, byte for byte (a lookalike root with AWS's name is not).
  if (!equalBytes(cabundle[0]!, anchor.der)) untrusted('cabundle does not start at the trust anchor');
  const chain = [...cabundle, certificate].map(parse);
  // 2. Every link's signature, root to leaf.
  for (let i = 1; i < chain.length; i++) checkLink(chain[i - 1]!, chain[i]!);
  checkLink(chain[0]!, chain[0]!); // the root is self-signed
  // 3. Validity at `now`, every certificate including the root.
  for (const c of chain) {
    if (now < c.notBefore || now > c.notAfter) throw new AttestationError('CERT_EXPIRED', 'a certificate is not valid at this time');
  }
  // 4. Constraints: every certificate but the leaf is a CA allowed to sign certificates, whose
  // path length admits the CAs below it; the leaf is not a CA and may sign.
  const leafIndex = chain.length - 1;
  for (let i = 0; i < leafIndex; i++) {
    const c = chain[i]!;
    if (!c.isCa) untrusted('an intermediate is not a CA');
    if (c.keyUsage !== undefined && (c.keyUsage & x509.KeyUsageFlags.keyCertSign) === 0) untrusted('a CA may not sign certificates');
    const casBelow = leafIndex - i - 1;
    if (c.pathLength !== undefined && casBelow > c.pathLength) untrusted('path length exceeded');
  }
  const leaf = chain[leafIndex]!;
  if (leaf.isCa) untrusted('the signing certificate is a CA');
  if (leaf.keyUsage !== undefined && (leaf.keyUsage & x509.KeyUsageFlags.digitalSignature) === 0) untrusted('the leaf may not sign');
  return { leafKey: leaf.native.publicKey, leafDer: leaf.der };
}

/** Test and benchmark hook: forget cached certificates and links. */
export function clearChainCache(): void {
  parsedCache.clear();
  verifiedLinks.clear();
}

