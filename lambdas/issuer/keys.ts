// Issuer keys: RSA-2048 blind-signing keys with their logged validity windows.
//
// A key is used for signing from `notBefore` to `signUntil`, and stays acceptable for
// redemption until `notAfter` (the window logged with it); `notAfter - signUntil` is
// the overlap during which tokens fetched ahead of use under the previous key remain
// spendable. Only issuer-rotation adds keys, and only after the key is in the log.

import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { checkTokenKey, encodeTokenKey, equalBytes, fromHex, toHex } from '../../protocol';

export interface IssuerKeyRecord {
  /** PKCS#8 PEM of the RSA private key. Secret: readable by issuer and rotation only. */
  readonly privateKeyPem: string;
  /** RFC 9578 token key (SPKI, RSASSA-PSS) as logged. */
  readonly tokenKey: Uint8Array;
  readonly tokenKeyId: Uint8Array;
  readonly notBefore: number;
  readonly signUntil: number;
  readonly notAfter: number;
}

export interface IssuerKeyStore {
  list(): Promise<IssuerKeyRecord[]>;
  add(record: IssuerKeyRecord): Promise<void>;
}

/** A loaded key, ready to sign. */
export interface IssuerSigningKey {
  readonly record: IssuerKeyRecord;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function loadSigningKey(record: IssuerKeyRecord): IssuerSigningKey {
  const privateKey = createPrivateKey(record.privateKeyPem);
  if (privateKey.asymmetricKeyType !== 'rsa') throw new Error('issuer key is not an RSA key');
  const publicKey = createPublicKey(privateKey);
  // The stored token key must be this key's, and its id must be SHA-256 of it.
  if (!equalBytes(encodeTokenKey(publicKey), record.tokenKey)) throw new Error('issuer key does not match its token key');
  if (!equalBytes(checkTokenKey(record.tokenKey), record.tokenKeyId)) throw new Error('issuer key id does not match its token key');
  return { record, privateKey, publicKey };
}

/** The key to sign with at `now`: the newest whose signing period has begun and not ended. */
export function signingKeyAt(records: readonly IssuerKeyRecord[], now: number): IssuerKeyRecord | undefined {
  return records
    .filter((r) => r.notBefore <= now && now < r.signUntil)
    .sort((a, b) => b.notBefore - a.notBefore)[0];
}

/** A fresh RSA-2048 (e = 65537) issuer key and its token key. */
export async function generateIssuerKey(window: { notBefore: number; signUntil: number; notAfter: number }): Promise<IssuerKeyRecord> {
  if (!(window.notBefore < window.signUntil && window.signUntil <= window.notAfter)) throw new Error('invalid issuer key window');
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048, publicExponent: 65537 });
  const tokenKey = encodeTokenKey(publicKey);
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    tokenKey,
    tokenKeyId: checkTokenKey(tokenKey),
    ...window,
  };
}

export class MemoryIssuerKeyStore implements IssuerKeyStore {
  private readonly records: IssuerKeyRecord[] = [];
  async list(): Promise<IssuerKeyRecord[]> {
    return [...this.records];
  }
  async add(record: IssuerKeyRecord): Promise<void> {
    this.records.push(record);
  }
}

interface StoredRecord {
  privateKeyPem: string;
  tokenKey: string;
  tokenKeyId: string;
  notBefore: number;
  signUntil: number;
  notAfter: number;
}

/** The records as stored (a JSON array, keys in hex): the file locally, the secret in AWS. */
export function encodeIssuerKeyRecords(records: readonly IssuerKeyRecord[]): string {
  const stored: StoredRecord[] = records.map((r) => ({
    privateKeyPem: r.privateKeyPem,
    tokenKey: toHex(r.tokenKey),
    tokenKeyId: toHex(r.tokenKeyId),
    notBefore: r.notBefore,
    signUntil: r.signUntil,
    notAfter: r.notAfter,
  }));
  return JSON.stringify(stored, null, 1);
}

export function decodeIssuerKeyRecords(text: string): IssuerKeyRecord[] {
  return (JSON.parse(text) as StoredRecord[]).map((r) => ({ ...r, tokenKey: fromHex(r.tokenKey), tokenKeyId: fromHex(r.tokenKeyId) }));
}

/**
 * A JSON file readable only by its owner (mode 0600), for the local stack. In AWS the
 * same records live in Secrets Manager (secrets-key-store.ts).
 */
export class FileIssuerKeyStore implements IssuerKeyStore {
  constructor(private readonly path: string) {}

  async list(): Promise<IssuerKeyRecord[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return decodeIssuerKeyRecords(text);
  }

  async add(record: IssuerKeyRecord): Promise<void> {
    const text = encodeIssuerKeyRecords((await this.list()).concat(record));
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, text, { mode: 0o600 });
    await chmod(temporary, 0o600);
    await rename(temporary, this.path);
  }
}
