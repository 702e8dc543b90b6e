// KMS: the enclave's DeriveSharedSecret round trip (SigV4, policy evaluation with
// iam-simulate, CMS seal and unwrap) against the local emulator, and a whole OHTTP
// request decapsulation through it. The emulator's cost stands in for KMS's network
// round trip, which dominates in AWS (and is capped by the 300 req/s ECC quota).
import { decapsulateRequest, encapsulateRequest, generateKeyPair, KEM_P256_HKDF_SHA256 } from '../protocol';
import { checkSessionKey } from '../enclave-app/kms/key-check';
import { kmsWorld, RELEASED } from '../test/helpers/kms';
import { measure, printTable } from './harness';

export async function kmsBenchmarks(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const world = await kmsWorld();
  try {
    const keyArn = await world.createKey({ spec: 'session' });
    const { kms } = world.enclave(await world.nsm());
    const checked = await checkSessionKey(kms, keyArn, RELEASED.pcr0);
    const enc = generateKeyPair(KEM_P256_HKDF_SHA256).publicKey;
    const body = new Uint8Array(1024);
    const keys = [{ config: checked.keyConfig, dh: kms.dhFor(keyArn) }];
    printTable('KMS (local emulator over HTTP, SigV4, iam-simulate)', [
      await measure('DeriveSharedSecret with Recipient + CMS unwrap', () => kms.deriveSharedSecret(keyArn, enc), 2),
      await measure('OHTTP request decapsulation through KMS (1 KiB)', async () => {
        const { encapsulated } = await encapsulateRequest(checked.keyConfig, body);
        await decapsulateRequest(keys, encapsulated);
      }, 2),
      await measure('session key check (DescribeKey, ListGrants, GetKeyPolicy, GetPublicKey)', () => checkSessionKey(kms, keyArn, RELEASED.pcr0), 2),
    ]);
  } finally {
    await world.stop();
  }
}
