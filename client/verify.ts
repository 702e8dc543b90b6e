// The verification pipeline the client runs before it sends a byte (DESIGN.md §2), as
// small named steps. Each failure is a TamperAlert with the step, a stable code and
// evidence; nothing is sent and nothing falls back.
//
//   log         the client's own log copy synced (checkpoint, witnesses, consistency)
//   bundle      the bundle's keys are exactly live logged session keys, byte for byte
//   key-policy  the logged policy and key metadata are exactly a release's template
//   attestation the document chains to the anchor, PCR0 of the key's release, ≤ 10 min old
//   binding     user_data binds key config, KMS key ARN, policy hash, release, recent check

import { createHash } from 'node:crypto';
import {
  ProtocolError,
  checkKeyMetadata,
  checkKeyPolicy,
  checkUserData,
  decodeKeyBundle,
  decodeKeyConfig,
  toHex,
  verifyAttestation,
  type KeyBundle,
  type KeyConfig,
} from '../protocol';
import { TamperAlert, type VerificationStep } from './errors';
import { checkBundleKeys } from './log/bundle-check';
import type { LiveSet } from './log/sync';

export interface VerifyBundleOptions {
  /** PEM of the attestation trust anchor; undefined means the AWS Nitro Enclaves Root-G1. */
  readonly trustAnchorPem?: string;
  readonly now: Date;
  /** Maximum attestation age. Default 10 minutes. */
  readonly maxAttestationAgeMs?: number;
}

export interface VerifiedKey {
  readonly keyConfig: KeyConfig;
  readonly keyConfigBytes: Uint8Array;
  readonly releaseId: string;
  readonly kmsKeyArn: string;
  readonly pcr0: string;
  /** The attestation document's timestamp (ms): the key is re-verified before it is 10 minutes old. */
  readonly attestedAt: number;
  /** When `policy_checked_at` in the binding stops being recent enough (ms). */
  readonly validUntil: number;
}

const sha256 = (bytes: Uint8Array | string) => toHex(createHash('sha256').update(bytes).digest());

/** Runs `work` as pipeline step `step`: protocol errors become TamperAlerts with their code. */
async function step<T>(name: VerificationStep, evidence: Record<string, string | number>, work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof TamperAlert) throw err;
    const code = err instanceof ProtocolError ? err.code : 'FAILED';
    throw new TamperAlert(name, code, evidence, `${name}: ${code}`);
  }
}

export function decodeBundleStep(bytes: Uint8Array): Promise<KeyBundle> {
  return step('bundle', { bundleSha256: sha256(bytes), bundleLength: bytes.length }, () => decodeKeyBundle(bytes));
}

export async function verifyBundle(bytes: Uint8Array, live: LiveSet, options: VerifyBundleOptions): Promise<VerifiedKey> {
  const bundle = await decodeBundleStep(bytes);
  const bundleEvidence = { bundleSha256: sha256(bytes), keys: bundle.keys.length };
  const { entry, logged } = await step('bundle', bundleEvidence, () => checkBundleKeys(bundle, live));
  const release = live.releases.find((r) => r.releaseId === logged.releaseId);
  if (!release) throw new TamperAlert('bundle', 'RELEASE_NOT_LIVE', { releaseId: logged.releaseId });
  const pcr0 = toHex(release.pcr0);
  const keyEvidence = { releaseId: logged.releaseId, kmsKeyArn: logged.kmsKeyArn, keyPolicySha256: sha256(logged.keyPolicy), pcr0 };

  await step('key-policy', keyEvidence, () => {
    const [, , , region, account] = logged.kmsKeyArn.split(':');
    checkKeyPolicy(logged.keyPolicy, pcr0, { account: account!, region: region! });
    checkKeyMetadata(logged.describeKey, 'session');
  });

  const attestationEvidence = { ...keyEvidence, attestationSha256: sha256(entry.attestation) };
  const attestation = await step('attestation', attestationEvidence, () =>
    verifyAttestation(entry.attestation, {
      releases: [{ 0: pcr0 }],
      now: options.now,
      maxAgeMs: options.maxAttestationAgeMs ?? 10 * 60_000,
      ...(options.trustAnchorPem !== undefined ? { trustAnchorPem: options.trustAnchorPem } : {}),
    }),
  );

  const binding = await step('binding', { ...attestationEvidence, keyConfigSha256: sha256(logged.keyConfig) }, () =>
    checkUserData(attestation.userData, { keyConfig: logged.keyConfig, kmsKeyArn: logged.kmsKeyArn, keyPolicy: logged.keyPolicy, releaseId: logged.releaseId, now: options.now }),
  );

  return {
    keyConfig: decodeKeyConfig(logged.keyConfig),
    keyConfigBytes: logged.keyConfig,
    releaseId: logged.releaseId,
    kmsKeyArn: logged.kmsKeyArn,
    pcr0,
    attestedAt: attestation.timestamp,
    validUntil: Math.min(attestation.timestamp + (options.maxAttestationAgeMs ?? 10 * 60_000), binding.policyCheckedAt * 1000 + 10 * 60_000, binding.notAfter * 1000),
  };
}

/** A failure a fresh bundle may cure (an old attestation or binding), rather than tampering. */
export function isStale(alert: TamperAlert): boolean {
  return (alert.step === 'attestation' || alert.step === 'binding') && alert.code === 'STALE';
}

