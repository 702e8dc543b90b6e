// The enclave has no instance metadata service: the parent pushes the instance role's
// credentials over the channel and refreshes them. They only identify the worker role
// to KMS; what KMS releases is decided by the attestation.

import type { AwsCredentialIdentity } from '@smithy/types';
import { KmsClientError } from '../kms/errors';

export class PushedCredentials {
  private current: AwsCredentialIdentity | undefined;
  private waiters: ((c: AwsCredentialIdentity) => void)[] = [];

  update(credentials: AwsCredentialIdentity): void {
    this.current = credentials;
    for (const w of this.waiters.splice(0)) w(credentials);
  }

  /** Resolves once credentials have been pushed (used at boot). */
  ready(): Promise<AwsCredentialIdentity> {
    return this.current ? Promise.resolve(this.current) : new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The SDK's credential provider. */
  provider = async (): Promise<AwsCredentialIdentity> => {
    const c = this.current;
    if (!c) throw new KmsClientError('UNAVAILABLE', 'no credentials pushed yet');
    if (c.expiration && c.expiration.getTime() <= Date.now()) throw new KmsClientError('UNAVAILABLE', 'credentials expired');
    return c;
  };
}
