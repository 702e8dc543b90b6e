// The size ladder of DESIGN.md §4. Inner requests and responses are padded with
// zero bytes (RFC 9292 §3.8 padding) to the smallest bucket that holds them, so
// the ciphertext length reveals only the bucket.

import { BhttpError } from './errors';

const KIB = 1024;

/** Bucket sizes in bytes: 1, 4, 16, 64, 256 and 1024 KiB. */
export const PADDING_BUCKETS: readonly number[] = Object.freeze([1, 4, 16, 64, 256, 1024].map((k) => k * KIB));

/** The largest inner message accepted anywhere (1 MiB). */
export const MAX_PADDED_LENGTH = PADDING_BUCKETS[PADDING_BUCKETS.length - 1]!;

/** The smallest bucket that holds `length` bytes; `BODY_TOO_LARGE` past the largest. */
export function bucketFor(length: number): number {
  for (const bucket of PADDING_BUCKETS) if (length <= bucket) return bucket;
  throw new BhttpError('BODY_TOO_LARGE');
}

export function isBucketLength(length: number): boolean {
  return PADDING_BUCKETS.includes(length);
}

/**
 * A copy of `message` followed by zero bytes up to its bucket, or up to the bucket of
 * `atLeast` bytes when that is larger (a response padded to its request's bucket).
 */
export function padToBucket(message: Uint8Array, atLeast = 0): Uint8Array {
  const out = new Uint8Array(bucketFor(Math.max(message.length, atLeast)));
  out.set(message);
  return out;
}
