// The enclave's checks of its own keys, at boot and at every re-attestation, with
// exact equality (DESIGN.md §2): the key's metadata, that it has no grant, that its
// policy is exactly the release template for the enclave's own PCR0 in the key's own
// account, and — for the session key — its public key, from which the enclave builds
// the key configuration it serves. Any failure throws; the caller stops serving.

import {
  checkGrants,
  checkKeyMetadata,
  checkKeyPolicy,
  checkModelKeyPolicy,
  encodeKeyConfig,
  sessionKeyConfig,
  type KeyConfig,
} from '../../protocol';
import type { EnclaveKms } from './client';
import { KmsClientError } from './errors';

const KEY_ARN = /^arn:(aws|aws-cn|aws-us-gov):kms:([a-z0-9-]+):(\d{12}):key\/[0-9a-f-]{36}$/;

export interface CheckedSessionKey {
  readonly keyArn: string;
  readonly keyConfig: KeyConfig;
  readonly keyConfigBytes: Uint8Array;
  /** The policy document exactly as GetKeyPolicy returned it (its hash goes in user_data). */
  readonly keyPolicy: string;
  /** Unix seconds of this check. */
  readonly checkedAt: number;
}

function parseArn(keyArn: string): { region: string; account: string } {
  const m = KEY_ARN.exec(keyArn);
  if (!m) throw new KmsClientError('NOT_FOUND', 'not a single-region KMS key ARN');
  return { region: m[2]!, account: m[3]! };
}

export async function checkSessionKey(kms: EnclaveKms, keyArn: string, ownPcr0: string, now: () => number = Date.now): Promise<CheckedSessionKey> {
  const { region, account } = parseArn(keyArn);
  const metadata = await kms.describeKey(keyArn);
  if (metadata.Arn !== keyArn) throw new KmsClientError('INVALID_RESPONSE', 'DescribeKey answered for another key');
  checkKeyMetadata(metadata as never, 'session');
  checkGrants(await kms.listGrants(keyArn));
  const keyPolicy = await kms.getKeyPolicy(keyArn);
  checkKeyPolicy(keyPolicy, ownPcr0, { account, region });
  const keyConfig = sessionKeyConfig(await kms.getPublicKey(keyArn));
  return { keyArn, keyConfig, keyConfigBytes: encodeKeyConfig(keyConfig), keyPolicy, checkedAt: Math.floor(now() / 1000) };
}

export async function checkModelKey(kms: EnclaveKms, keyArn: string, ownPcr0: string): Promise<void> {
  const { region, account } = parseArn(keyArn);
  const metadata = await kms.describeKey(keyArn);
  if (metadata.Arn !== keyArn) throw new KmsClientError('INVALID_RESPONSE', 'DescribeKey answered for another key');
  checkKeyMetadata(metadata as never, 'model');
  checkGrants(await kms.listGrants(keyArn));
  checkModelKeyPolicy(await kms.getKeyPolicy(keyArn), ownPcr0, { account, region });
}

/** Checks the model key, then has KMS release the model data key to this enclave. */
export async function decryptModelDataKey(kms: EnclaveKms, modelKeyArn: string, encryptedDataKey: Uint8Array, ownPcr0: string): Promise<Uint8Array> {
  await checkModelKey(kms, modelKeyArn, ownPcr0);
  const dataKey = await kms.decrypt(modelKeyArn, encryptedDataKey);
  if (dataKey.length !== 32) throw new KmsClientError('INVALID_RESPONSE', 'the model data key is not 256 bits');
  return dataKey;
}
