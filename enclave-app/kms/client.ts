// The enclave's KMS client: the unchanged @aws-sdk/client-kms, with every call that
// releases key material made with the enclave's attested `Recipient`, so KMS answers
// only with CiphertextForRecipient, which is opened here with the enclave's RSA key
// after checking that it was encrypted to that key (RECIPIENT_MISMATCH otherwise).

import {
  DecryptCommand,
  DeriveSharedSecretCommand,
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  GetPublicKeyCommand,
  KMSClient,
  ListGrantsCommand,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { openCiphertextForRecipient, p256SpkiFromRaw, type DhFunction } from '../../protocol';
import { kmsEndpoint } from './endpoint';
import { KmsClientError } from './errors';
import type { AttestedRecipient } from './recipient';

export interface EnclaveKmsOptions {
  readonly region: string;
  /** Credentials the parent pushes into the enclave; they identify the worker role and decide nothing else. */
  readonly credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  readonly recipient: AttestedRecipient;
  /** Local builds only: the KMS emulator's URL. */
  readonly endpointOverride?: string;
}

/** Maps a KMS SDK failure to what the enclave does about it. */
function mapError(err: unknown): KmsClientError {
  const name = (err as { name?: string }).name ?? '';
  switch (name) {
    case 'AccessDeniedException':
      return new KmsClientError('ACCESS_DENIED', 'KMS refused the call');
    case 'NotFoundException':
      return new KmsClientError('NOT_FOUND', 'KMS does not know the key');
    case 'DisabledException':
    case 'KMSInvalidStateException':
    case 'InvalidKeyUsageException':
      return new KmsClientError('KEY_UNUSABLE', 'the key cannot be used');
    case 'ValidationException':
      return new KmsClientError('INVALID_RECIPIENT', 'KMS refused the request (e.g. the attestation document)');
    default:
      return new KmsClientError('UNAVAILABLE', 'KMS could not be reached or failed');
  }
}

export class EnclaveKms {
  private readonly client: KMSClient;

  constructor(private readonly options: EnclaveKmsOptions) {
    this.client = new KMSClient({
      region: options.region,
      endpoint: kmsEndpoint(options.region, options.endpointOverride),
      credentials: options.credentials,
      maxAttempts: 2,
    });
  }

  private async call<T>(request: (client: KMSClient) => Promise<T>): Promise<T> {
    try {
      return await request(this.client);
    } catch (err) {
      throw mapError(err);
    }
  }

  private async recipientRequest() {
    const identity = await this.options.recipient.current();
    return { identity, recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' as const, AttestationDocument: identity.attestationDocument } };
  }

  private open(ciphertextForRecipient: Uint8Array | undefined, plaintext: Uint8Array | undefined, identity: Awaited<ReturnType<AttestedRecipient['current']>>): Uint8Array {
    // Asked with a Recipient, KMS must not return plaintext: refuse an answer that does.
    if (plaintext !== undefined || ciphertextForRecipient === undefined) throw new KmsClientError('INVALID_RESPONSE', 'KMS did not answer for the recipient');
    return openCiphertextForRecipient(ciphertextForRecipient, identity.privateKey, identity.spki);
  }

  /** ECDH between the KMS key and a request's `enc`: RFC 9180's DH output for P-256. */
  async deriveSharedSecret(keyId: string, encPublicKey: Uint8Array): Promise<Uint8Array> {
    const { identity, recipient } = await this.recipientRequest();
    const command = new DeriveSharedSecretCommand({
      KeyId: keyId,
      KeyAgreementAlgorithm: 'ECDH',
      PublicKey: p256SpkiFromRaw(encPublicKey),
      Recipient: recipient,
    });
    const out = await this.call((c) => c.send(command));
    const secret = this.open(out.CiphertextForRecipient, out.SharedSecret, identity);
    if (secret.length !== 32) throw new KmsClientError('INVALID_RESPONSE', 'the shared secret is not 32 bytes');
    return secret;
  }

  /** The DH function OHTTP decapsulation takes (protocol's `{config, dh}` form). */
  dhFor(keyId: string): DhFunction {
    return (enc) => this.deriveSharedSecret(keyId, enc);
  }

  /** Decrypts a symmetric ciphertext (the model data key) for the attested recipient. */
  async decrypt(keyId: string, ciphertextBlob: Uint8Array, encryptionContext?: Record<string, string>): Promise<Uint8Array> {
    const { identity, recipient } = await this.recipientRequest();
    const command = new DecryptCommand({
      KeyId: keyId,
      CiphertextBlob: ciphertextBlob,
      Recipient: recipient,
      ...(encryptionContext ? { EncryptionContext: encryptionContext } : {}),
    });
    const out = await this.call((c) => c.send(command));
    return this.open(out.CiphertextForRecipient, out.Plaintext, identity);
  }

  async describeKey(keyId: string): Promise<KeyMetadata> {
    const out = await this.call((c) => c.send(new DescribeKeyCommand({ KeyId: keyId })));
    if (!out.KeyMetadata) throw new KmsClientError('INVALID_RESPONSE', 'no KeyMetadata');
    return out.KeyMetadata;
  }

  /** The policy document exactly as KMS returns it. */
  async getKeyPolicy(keyId: string): Promise<string> {
    const out = await this.call((c) => c.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' })));
    if (typeof out.Policy !== 'string') throw new KmsClientError('INVALID_RESPONSE', 'no Policy');
    return out.Policy;
  }

  async listGrants(keyId: string): Promise<{ Grants: readonly unknown[]; Truncated: boolean }> {
    const out = await this.call((c) => c.send(new ListGrantsCommand({ KeyId: keyId })));
    if (!Array.isArray(out.Grants)) throw new KmsClientError('INVALID_RESPONSE', 'no Grants');
    return { Grants: out.Grants, Truncated: out.Truncated === true };
  }

  /** DER SubjectPublicKeyInfo of an asymmetric key. */
  async getPublicKey(keyId: string): Promise<Uint8Array> {
    const out = await this.call((c) => c.send(new GetPublicKeyCommand({ KeyId: keyId })));
    if (!(out.PublicKey instanceof Uint8Array)) throw new KmsClientError('INVALID_RESPONSE', 'no PublicKey');
    return out.PublicKey;
  }

  destroy(): void {
    this.client.destroy();
  }
}
