// A feature's answer always fills exactly one size: the request's bucket, or 4 KiB for
// the smallest requests (a compose answer may be a little longer than its draft). So
// the response length is a function of the request length alone, which the relay and
// gateway saw anyway. An answer that would not fit loses list entries from the end
// (the longest list first) until it does; one that still cannot fit is an error of the
// same size.

import { PADDING_BUCKETS } from '../../protocol';

export const RESPONSE_FLOOR = PADDING_BUCKETS[1]!;

/** The size every response to a request of `requestLength` padded bytes is padded to. */
export function responseBucketFor(requestLength: number): number {
  return Math.max(requestLength, RESPONSE_FLOOR);
}

const LISTS = ['questions', 'decisions', 'actionItems', 'topics', 'suggestions'] as const;

/**
 * Encodes `body` with `encode`, dropping list entries until it is at most `max` bytes.
 * Undefined when even the answer without list entries does not fit.
 */
export function fitAnswer(body: unknown, encode: (body: unknown) => Uint8Array, max: number): Uint8Array | undefined {
  let current = body;
  for (;;) {
    const bytes = encode(current);
    if (bytes.length <= max) return bytes;
    if (current === null || typeof current !== 'object') return undefined;
    const record = { ...(current as Record<string, unknown>) };
    const lists = LISTS.filter((k) => Array.isArray(record[k]) && (record[k] as unknown[]).length > 0);
    if (lists.length === 0) return undefined;
    const longest = lists.reduce((a, b) => ((record[b] as unknown[]).length > (record[a] as unknown[]).length ? b : a));
    record[longest] = (record[longest] as unknown[]).slice(0, -1);
    current = record;
  }
}
