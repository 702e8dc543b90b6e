// The token wallet: Privacy Pass tokens fetched ahead of use, in fixed-size batches on
// a fixed, jittered schedule that never depends on use (so the issuer cannot tell when
// or how much a user uses the features), only under the current logged issuer key. One
// token per request, taken out of the wallet before it is sent: never reused.

import { beginTokenIssuance, equalBytes, MEDIA_TYPE_TOKEN_REQUEST, MEDIA_TYPE_TOKEN_RESPONSE, type LogEntry } from '../protocol';

type IssuerKeyEntry = LogEntry & { type: 'issuer_key' };

export interface WalletSchedule {
  /** Tokens per batch (default 8). */
  readonly batchSize: number;
  /** Mean time between batches (default 6 hours). */
  readonly intervalMs: number;
  /** Each wait is intervalMs ± jitterMs, uniformly (default 1 hour). */
  readonly jitterMs: number;
  /** A batch is skipped while the wallet holds this many (default 32). */
  readonly capacity: number;
}

export const DEFAULT_WALLET_SCHEDULE: WalletSchedule = { batchSize: 8, intervalMs: 6 * 3600_000, jitterMs: 3600_000, capacity: 32 };

export interface WalletOptions {
  readonly issuerUrl: string;
  readonly issuerName: string;
  readonly originName: string;
  /** The account credential (a JWT from the messenger's account service). */
  readonly credential: () => Promise<string>;
  /**
   * The issuer keys the client's log copy says are current and previous; `fresh` asks for
   * a log sync first (refills, off the request path), otherwise the last synced copy will do.
   */
  readonly issuerKeys: (fresh: boolean) => Promise<{ current?: IssuerKeyEntry; previous?: IssuerKeyEntry }>;
  readonly fetch: typeof fetch;
  readonly schedule?: Partial<WalletSchedule>;
  readonly random?: () => number;
  /** The timer the schedule runs on (setTimeout by default). */
  readonly timer?: { set(run: () => void, delayMs: number): unknown; clear(handle: unknown): void };
}

const SYSTEM_TIMER = {
  set(run: () => void, delayMs: number): unknown {
    const handle = setTimeout(run, delayMs);
    handle.unref?.();
    return handle;
  },
  clear(handle: unknown): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

interface Held {
  readonly token: Uint8Array;
  readonly tokenKeyId: Uint8Array;
}

export class TokenWallet {
  private tokens: Held[] = [];
  private timer: unknown;
  private readonly schedule: WalletSchedule;
  private running = false;
  private generation = 0;

  constructor(private readonly options: WalletOptions) {
    this.schedule = { ...DEFAULT_WALLET_SCHEDULE, ...options.schedule };
    const s = this.schedule;
    if (!(s.batchSize >= 1 && s.intervalMs > 0 && s.jitterMs >= 0 && s.jitterMs < s.intervalMs && s.capacity >= s.batchSize)) throw new Error('invalid wallet schedule');
  }

  get size(): number {
    return this.tokens.length;
  }

  /** Starts the schedule: the first batch after a random wait in [0, jitter], then every interval ± jitter. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.arm(this.random() * this.schedule.jitterMs);
  }

  /** Stops the schedule and drops every token. */
  stop(): void {
    this.running = false;
    this.generation++;
    if (this.timer !== undefined) (this.options.timer ?? SYSTEM_TIMER).clear(this.timer);
    this.timer = undefined;
    this.tokens = [];
  }

  private random(): number {
    return (this.options.random ?? Math.random)();
  }

  private arm(delayMs: number): void {
    this.timer = (this.options.timer ?? SYSTEM_TIMER).set(() => {
      void this.refill()
        .catch(() => undefined)
        .finally(() => {
          if (this.running) this.arm(this.schedule.intervalMs + (2 * this.random() - 1) * this.schedule.jitterMs);
        });
    }, delayMs);
  }

  /** Fetches one batch (unless full); returns how many tokens were added. Called by the schedule only. */
  async refill(): Promise<number> {
    if (this.tokens.length + this.schedule.batchSize > this.schedule.capacity) return 0;
    const generation = this.generation;
    const { current } = await this.options.issuerKeys(true);
    if (!current) return 0;
    let added = 0;
    for (let i = 0; i < this.schedule.batchSize; i++) {
      const issuance = await beginTokenIssuance(this.options.issuerName, this.options.originName, current.tokenKey);
      const res = await this.options.fetch(this.options.issuerUrl, {
        method: 'POST',
        headers: { 'content-type': MEDIA_TYPE_TOKEN_REQUEST, accept: MEDIA_TYPE_TOKEN_RESPONSE, authorization: `Bearer ${await this.options.credential()}` },
        body: issuance.request,
      });
      if (res.status !== 200) break;
      // finish() verifies the signature under the logged key: a token under any other key fails here.
      const token = await issuance.finish(new Uint8Array(await res.arrayBuffer()));
      // Opted out meanwhile: the batch is dropped with everything else.
      if (generation !== this.generation) return 0;
      this.tokens.push({ token, tokenKeyId: current.tokenKeyId });
      added++;
    }
    return added;
  }

  /** Takes one token under the current or previous logged key, or undefined. */
  async take(): Promise<Uint8Array | undefined> {
    const { current, previous } = await this.options.issuerKeys(false);
    const usable = (h: Held) => (current && equalBytes(h.tokenKeyId, current.tokenKeyId)) || (previous && equalBytes(h.tokenKeyId, previous.tokenKeyId));
    // Tokens under keys no longer logged as current or previous are useless: drop them.
    this.tokens = this.tokens.filter(usable);
    return this.tokens.shift()?.token;
  }
}
