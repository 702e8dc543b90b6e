// Admission control: every request costs one KMS DeriveSharedSecret, and KMS's ECC
// quota (300/s per account and region by default) is shared by all workers. A token
// bucket keeps this worker under its configured share; past it, requests are refused
// with 503 and Retry-After before any KMS call.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  tryTake(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Seconds until a token is available. */
  retryAfter(): number {
    return Math.max(1, Math.ceil((1 - this.tokens) / this.ratePerSecond));
  }
}
