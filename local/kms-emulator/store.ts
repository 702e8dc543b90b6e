// The emulator's keys, persisted as JSON under a git-ignored folder (mode 0600: it
// holds key material; it exists only on a developer's machine or in a test).

import { createECDH, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type KeySpec = 'SYMMETRIC_DEFAULT' | 'ECC_NIST_P256';
export type KeyUsage = 'ENCRYPT_DECRYPT' | 'KEY_AGREEMENT' | 'SIGN_VERIFY';
export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion' | 'PendingImport';

export interface Grant {
  readonly grantId: string;
  readonly granteePrincipal: string;
  readonly operations: readonly string[];
  readonly issuingAccount: string;
  readonly creationDate: number;
}

export interface StoredKey {
  readonly keyId: string;
  readonly arn: string;
  readonly account: string;
  readonly keySpec: KeySpec;
  readonly keyUsage: KeyUsage;
  readonly origin: 'AWS_KMS' | 'EXTERNAL';
  readonly multiRegion: boolean;
  readonly creationDate: number;
  readonly description: string;
  state: KeyState;
  policy: string;
  deletionDate?: number;
  grants: Grant[];
  /** Hex: 32-byte AES key (symmetric) or the P-256 private scalar. Absent for EXTERNAL keys not imported. */
  material?: string;
}

export class KeyStore {
  private readonly keys = new Map<string, StoredKey>();

  constructor(private readonly file?: string) {
    if (file && existsSync(file)) {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as StoredKey[];
      for (const k of saved) this.keys.set(k.keyId, k);
    }
  }

  private persist(): void {
    if (!this.file) return;
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.keys.values()], null, 2), { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  create(input: {
    account: string;
    region: string;
    keySpec: KeySpec;
    keyUsage: KeyUsage;
    origin: 'AWS_KMS' | 'EXTERNAL';
    multiRegion: boolean;
    policy: string;
    description: string;
    now: number;
  }): StoredKey {
    const keyId = input.multiRegion ? `mrk-${randomBytes(16).toString('hex')}` : randomUUID();
    let material: string | undefined;
    if (input.origin === 'AWS_KMS') {
      if (input.keySpec === 'SYMMETRIC_DEFAULT') material = randomBytes(32).toString('hex');
      else {
        const ecdh = createECDH('prime256v1');
        ecdh.generateKeys();
        material = ecdh.getPrivateKey('hex').padStart(64, '0');
      }
    }
    const key: StoredKey = {
      keyId,
      arn: `arn:aws:kms:${input.region}:${input.account}:key/${keyId}`,
      account: input.account,
      keySpec: input.keySpec,
      keyUsage: input.keyUsage,
      origin: input.origin,
      multiRegion: input.multiRegion,
      creationDate: input.now,
      description: input.description,
      state: input.origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled',
      policy: input.policy,
      grants: [],
      ...(material ? { material } : {}),
    };
    this.keys.set(keyId, key);
    this.persist();
    return key;
  }

  /** By key id or key ARN. */
  find(keyIdOrArn: string): StoredKey | undefined {
    const id = keyIdOrArn.startsWith('arn:') ? keyIdOrArn.slice(keyIdOrArn.lastIndexOf('/') + 1) : keyIdOrArn;
    const key = this.keys.get(id);
    if (key && keyIdOrArn.startsWith('arn:') && key.arn !== keyIdOrArn) return undefined;
    return key;
  }

  update(key: StoredKey, change: (k: StoredKey) => void): void {
    change(key);
    this.persist();
  }
}
