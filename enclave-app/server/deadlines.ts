// Responses leave the enclave at a fixed deadline per request bucket, so their timing
// reveals no more than their size bucket (DESIGN.md §4). Published, the largest under
// 20 s, so it nests inside the gateway's and API Gateway's timeouts.

import { PADDING_BUCKETS } from '../../protocol';

/** Milliseconds from receipt to answer, by request bucket (bytes). */
export const DEFAULT_DEADLINES_MS: Readonly<Record<number, number>> = Object.freeze({
  [PADDING_BUCKETS[0]!]: 2_000,
  [PADDING_BUCKETS[1]!]: 3_000,
  [PADDING_BUCKETS[2]!]: 4_000,
  [PADDING_BUCKETS[3]!]: 6_000,
  [PADDING_BUCKETS[4]!]: 10_000,
  [PADDING_BUCKETS[5]!]: 18_000,
});

export type Deadlines = Readonly<Record<number, number>> | 'off';

/** Waits until `start + deadline(bucket)`; true if the deadline had already passed. */
export async function holdUntilDeadline(deadlines: Deadlines, bucket: number, start: number, now: () => number): Promise<boolean> {
  if (deadlines === 'off') return false;
  const due = start + (deadlines[bucket] ?? deadlines[PADDING_BUCKETS[PADDING_BUCKETS.length - 1]!]!);
  const wait = due - now();
  if (wait <= 0) return wait < 0;
  await new Promise((resolve) => setTimeout(resolve, wait));
  return false;
}
