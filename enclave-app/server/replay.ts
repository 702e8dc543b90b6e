// RFC 9458 §6.5: the enclave refuses an `enc` it has already opened within the Date
// window, so a captured request cannot be replayed. An `enc` is remembered only after
// a successful open (so nobody can poison the cache with garbage), for twice the
// allowed clock skew, in memory only.

import { createHash } from 'node:crypto';

export class ReplayCache {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries = 500_000,
  ) {}

  private key(enc: Uint8Array): string {
    // A digest, so the cache holds no request bytes.
    return createHash('sha256').update(enc).digest('base64');
  }

  private prune(now: number): void {
    for (const [k, expires] of this.seen) {
      if (expires > now) break; // insertion order = expiry order
      this.seen.delete(k);
    }
  }

  has(enc: Uint8Array, now: number): boolean {
    this.prune(now);
    return this.seen.has(this.key(enc));
  }

  /** Records `enc`; false if the cache is full (the caller refuses rather than forgets). */
  add(enc: Uint8Array, now: number): boolean {
    this.prune(now);
    if (this.seen.size >= this.maxEntries) return false;
    this.seen.set(this.key(enc), now + this.windowMs);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}
