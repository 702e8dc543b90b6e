// The emulator's certificate authority: a P-384 chain shaped like AWS's
// (root → regional → zonal → instance → leaf, ECDSA with SHA-384, the same basic
// constraints, path lengths and key usages), under a local root that exists only
// on this machine. Its subject never claims to be AWS's.

import 'reflect-metadata';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

// @peculiar/x509 declares DOM types; node's webcrypto is the same API.
x509.cryptoProvider.set(webcrypto as never);

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-384' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-384' } as const;
const HOUR = 3600_000;
const DAY = 24 * HOUR;

export const LOCAL_ROOT_SUBJECT = 'C=ZZ, O=Private Processing (local only), OU=NSM emulator, CN=local.nitro-enclaves-emulator';

export interface CertifiedKey {
  readonly cert: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
}

export interface IssueOptions {
  readonly subject: string;
  readonly issuer?: CertifiedKey;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly ca: boolean;
  readonly pathLength?: number;
  readonly keyUsage: x509.KeyUsageFlags;
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function issueCertificate(options: IssueOptions): Promise<CertifiedKey> {
  const keys = await generateKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(options.ca, options.pathLength, true),
    new x509.KeyUsagesExtension(options.keyUsage, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (options.issuer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(options.issuer.keys.publicKey));
  const common = {
    serialNumber: randomBytes(16).toString('hex').replace(/^[89a-f]/, '1'),
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions,
  };
  const cert = options.issuer
    ? await x509.X509CertificateGenerator.create({
        ...common,
        subject: options.subject,
        issuer: options.issuer.cert.subject,
        publicKey: keys.publicKey,
        signingKey: options.issuer.keys.privateKey,
      })
    : await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: options.subject, keys });
  return { cert, keys };
}

const CA_USAGE = x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;

/** A new root, valid 30 years from `now` (minus an hour, for clock skew). */
export function createRoot(now: Date, subject = LOCAL_ROOT_SUBJECT): Promise<CertifiedKey> {
  return issueCertificate({
    subject,
    notBefore: new Date(now.getTime() - HOUR),
    notAfter: new Date(now.getTime() + 30 * 365 * DAY),
    ca: true,
    keyUsage: CA_USAGE,
  });
}

/** The intermediate CAs below a root, as AWS issues them (regional, zonal, instance). */
export async function createIntermediates(root: CertifiedKey, now: Date, names: { region: string; instanceId: string }) {
  const start = new Date(now.getTime() - HOUR);
  const regional = await issueCertificate({
    subject: `C=ZZ, O=Private Processing (local only), OU=NSM emulator, CN=${randomBytes(8).toString('hex')}.${names.region}.local.nitro-enclaves-emulator`,
    issuer: root,
    notBefore: start,
    notAfter: new Date(start.getTime() + 20 * DAY),
    ca: true,
    pathLength: 2,
    keyUsage: CA_USAGE,
  });
  const zonal = await issueCertificate({
    subject: `C=ZZ, O=Private Processing (local only), OU=NSM emulator, CN=${randomBytes(8).toString('hex')}.zonal.${names.region}.local.nitro-enclaves-emulator`,
    issuer: regional,
    notBefore: start,
    notAfter: new Date(start.getTime() + 5 * DAY),
    ca: true,
    pathLength: 1,
    keyUsage: CA_USAGE,
  });
  const instance = await issueCertificate({
    subject: `C=ZZ, O=Private Processing (local only), OU=NSM emulator, CN=${names.instanceId}.${names.region}.local.nitro-enclaves-emulator`,
    issuer: zonal,
    notBefore: start,
    notAfter: new Date(start.getTime() + DAY),
    ca: true,
    pathLength: 0,
    keyUsage: x509.KeyUsageFlags.keyCertSign,
  });
  return [regional, zonal, instance] as const;
}

/** The leaf that signs one document: valid for about 3 hours, like AWS's. */
export function createLeaf(instance: CertifiedKey, moduleId: string, timestamp: Date): Promise<CertifiedKey> {
  const notBefore = new Date(timestamp.getTime() - 3000);
  return issueCertificate({
    subject: `C=ZZ, O=Private Processing (local only), OU=NSM emulator, CN=${moduleId}.local`,
    issuer: instance,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 3 * HOUR),
    ca: false,
    keyUsage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation,
  });
}

export function derOf(cert: x509.X509Certificate): Uint8Array {
  return new Uint8Array(cert.rawData);
}

export function pemOf(cert: x509.X509Certificate): string {
  return cert.toString('pem');
}

export function nodeKey(key: CryptoKey): KeyObject {
  return KeyObject.from(key);
}

/**
 * The local root, created on first use and kept in `dir` (git-ignored `.local/`),
 * so documents stay verifiable across runs with the same root PEM.
 */
export async function loadOrCreateRoot(dir: string, now: Date): Promise<CertifiedKey> {
  const certPath = join(dir, 'root.cert.pem');
  const keyPath = join(dir, 'root.key.pem');
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = new x509.X509Certificate(readFileSync(certPath, 'utf8'));
    const pkcs8 = x509.PemConverter.decodeFirst(readFileSync(keyPath, 'utf8'));
    const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, KEY_ALGORITHM, true, ['sign']);
    const publicKey = (await cert.publicKey.export(KEY_ALGORITHM, ['verify'], webcrypto as never)) as CryptoKey;
    return { cert, keys: { privateKey, publicKey } };
  }
  const root = await createRoot(now);
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', root.keys.privateKey);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(keyPath, x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'), { mode: 0o600 });
  writeFileSync(certPath, pemOf(root.cert));
  return root;
}
