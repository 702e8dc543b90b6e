// The enclave's identity towards KMS: an ephemeral RSA-2048 key whose public half
// (DER SPKI) sits in the `public_key` of an attestation document. KMS encrypts what
// it releases to that key. The key and document are reused for a few minutes, then
// renewed (KMS documents no maximum age for a Recipient document).

import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { NsmClient } from '../nsm/client';

export interface RecipientIdentity {
  readonly attestationDocument: Uint8Array;
  readonly privateKey: KeyObject;
  /** DER SubjectPublicKeyInfo of the RSA key, as carried in the document. */
  readonly spki: Uint8Array;
  readonly createdAt: number;
}

export interface AttestedRecipientOptions {
  /** How long one key and document are used. Default 4 minutes. */
  readonly lifetimeMs?: number;
  readonly now?: () => number;
}

export class AttestedRecipient {
  private identity: RecipientIdentity | undefined;
  private pending: Promise<RecipientIdentity> | undefined;

  constructor(
    private readonly nsm: NsmClient,
    private readonly options: AttestedRecipientOptions = {},
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private async create(): Promise<RecipientIdentity> {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
    const attestationDocument = await this.nsm.attestation({ publicKey: spki });
    return { attestationDocument, privateKey, spki, createdAt: this.now() };
  }

  /** The current identity, renewed when older than its lifetime. */
  async current(): Promise<RecipientIdentity> {
    const lifetime = this.options.lifetimeMs ?? 4 * 60_000;
    if (this.identity && this.now() - this.identity.createdAt < lifetime) return this.identity;
    this.pending ??= this.create().finally(() => (this.pending = undefined));
    this.identity = await this.pending;
    return this.identity;
  }

  /** Drops the current key and document (e.g. at re-attestation). */
  reset(): void {
    this.identity = undefined;
  }
}
