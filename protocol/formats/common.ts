// Field patterns shared by the formats.

/** A release id: lower-case letters, digits, dots and dashes, e.g. `2026.11.27-1a2b3c4`. */
export const RELEASE_ID = /^[a-z0-9][a-z0-9.-]{0,62}$/;
/** A single-region KMS key ARN (multi-region keys have `mrk-` ids and are refused). */
export const KMS_KEY_ARN = /^arn:aws(-cn|-us-gov)?:kms:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:key\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A git commit id. */
export const COMMIT = /^[0-9a-f]{40}$/;
export const HEX_48 = /^[0-9a-f]{96}$/;
export const HEX_32 = /^[0-9a-f]{64}$/;

export const SHA384_LENGTH = 48;
export const SHA256_LENGTH = 32;

/** Unix seconds that fit comfortably (before year 2500). */
export function isUnixSeconds(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0 && n < 16_725_225_600;
}
