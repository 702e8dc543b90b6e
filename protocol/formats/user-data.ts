// `user_data` of an enclave's attestation document (DESIGN.md §2): a deterministic
// CBOR map binding the attested enclave to the key clients encrypt to, the KMS key
// behind it, that key's exact policy and the release, with when the enclave last
// checked the policy and until when the statement holds.

import { createHash } from 'node:crypto';
import { equalBytes } from '../bytes';
import { decodeDeterministic, encodeDeterministic, Fields } from '../dcbor';
import { AttestationError, FormatError } from '../errors';
import { CLOCK_SKEW_MS } from '../attestation/verify';
import { KMS_KEY_ARN, RELEASE_ID, SHA256_LENGTH, isUnixSeconds } from './common';

export interface UserData {
  /** SHA-256 of the single RFC 9458 key configuration the enclave serves. */
  readonly keyConfigSha256: Uint8Array;
  readonly kmsKeyArn: string;
  /** SHA-256 of the UTF-8 policy document exactly as GetKeyPolicy returned it. */
  readonly keyPolicySha256: Uint8Array;
  readonly releaseId: string;
  /** Unix seconds of the enclave's last successful key check. */
  readonly policyCheckedAt: number;
  /** Unix seconds after which this binding must not be trusted. */
  readonly notAfter: number;
}

const sha256 = (data: Uint8Array | string) => new Uint8Array(createHash('sha256').update(data).digest());

function validate(u: UserData): void {
  if (u.keyConfigSha256.length !== SHA256_LENGTH || u.keyPolicySha256.length !== SHA256_LENGTH) {
    throw new FormatError('INVALID_FIELD', 'hashes are 32 bytes');
  }
  if (!KMS_KEY_ARN.test(u.kmsKeyArn)) throw new FormatError('INVALID_FIELD', 'not a single-region KMS key ARN');
  if (!RELEASE_ID.test(u.releaseId)) throw new FormatError('INVALID_FIELD', 'invalid release id');
  if (!isUnixSeconds(u.policyCheckedAt) || !isUnixSeconds(u.notAfter) || u.notAfter <= u.policyCheckedAt) {
    throw new FormatError('INVALID_FIELD', 'invalid times');
  }
}

export function encodeUserData(u: UserData): Uint8Array {
  validate(u);
  return encodeDeterministic({
    key_config_sha256: u.keyConfigSha256,
    kms_key_arn: u.kmsKeyArn,
    key_policy_sha256: u.keyPolicySha256,
    release_id: u.releaseId,
    policy_checked_at: u.policyCheckedAt,
    not_after: u.notAfter,
  });
}

export function decodeUserData(bytes: Uint8Array): UserData {
  const f = Fields.of(decodeDeterministic(bytes), 'user_data');
  const u: UserData = {
    keyConfigSha256: f.bytes('key_config_sha256', SHA256_LENGTH),
    kmsKeyArn: f.text('kms_key_arn', KMS_KEY_ARN),
    keyPolicySha256: f.bytes('key_policy_sha256', SHA256_LENGTH),
    releaseId: f.text('release_id', RELEASE_ID),
    policyCheckedAt: f.uint('policy_checked_at'),
    notAfter: f.uint('not_after'),
  };
  f.done();
  validate(u);
  return u;
}

/** Builds user_data from what the enclave checked (its side). */
export function userDataFor(input: {
  keyConfig: Uint8Array;
  kmsKeyArn: string;
  keyPolicy: string;
  releaseId: string;
  policyCheckedAt: number;
  notAfter: number;
}): UserData {
  return {
    keyConfigSha256: sha256(input.keyConfig),
    kmsKeyArn: input.kmsKeyArn,
    keyPolicySha256: sha256(input.keyPolicy),
    releaseId: input.releaseId,
    policyCheckedAt: input.policyCheckedAt,
    notAfter: input.notAfter,
  };
}

export interface ExpectedBinding {
  /** The exact key configuration bytes the client is about to encrypt to. */
  readonly keyConfig: Uint8Array;
  readonly kmsKeyArn: string;
  /** The exact policy document logged for that key. */
  readonly keyPolicy: string;
  readonly releaseId: string;
  readonly now?: Date;
  /** How old `policy_checked_at` may be. Default 10 minutes (the enclave re-checks every 3). */
  readonly maxPolicyAgeMs?: number;
}

export const DEFAULT_MAX_POLICY_AGE_MS = 10 * 60 * 1000;

/**
 * The client's check that an attested enclave serves exactly the logged key:
 * `KEY_NOT_BOUND` when any binding differs (or user_data does not decode),
 * `STALE` when the policy check is too old, dated ahead, or past `not_after`.
 */
export function checkUserData(userData: UserData | Uint8Array | null, expected: ExpectedBinding): UserData {
  if (userData === null) throw new AttestationError('KEY_NOT_BOUND', 'the document carries no user_data');
  let u: UserData;
  try {
    u = userData instanceof Uint8Array ? decodeUserData(userData) : userData;
  } catch {
    throw new AttestationError('KEY_NOT_BOUND', 'user_data does not decode');
  }
  const bound =
    equalBytes(u.keyConfigSha256, sha256(expected.keyConfig)) &&
    u.kmsKeyArn === expected.kmsKeyArn &&
    equalBytes(u.keyPolicySha256, sha256(expected.keyPolicy)) &&
    u.releaseId === expected.releaseId;
  if (!bound) throw new AttestationError('KEY_NOT_BOUND');
  const now = (expected.now ?? new Date()).getTime();
  const checkedAt = u.policyCheckedAt * 1000;
  if (checkedAt < now - (expected.maxPolicyAgeMs ?? DEFAULT_MAX_POLICY_AGE_MS)) throw new AttestationError('STALE', 'policy check too old');
  if (checkedAt > now + CLOCK_SKEW_MS) throw new AttestationError('STALE', 'policy check dated in the future');
  if (now > u.notAfter * 1000) throw new AttestationError('STALE', 'binding past not_after');
  return u;
}
