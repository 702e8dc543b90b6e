// A fixed token budget per padding bucket (DESIGN.md §4): the enclave answers each
// bucket at a published deadline, so generation must end well before it on CPU. The
// budget bounds the prompt (the newest messages that fit are kept) and the output; a time
// limit per bucket stops generation even if the machine is slower than measured (the
// answer then carries what was generated so far).
//
// Derived from `npm run bench` on a 2-core machine, one llama.cpp thread, for the
// reference model shape (SmolLM2-360M's, Q4_0), at speeds under the slowest of seven
// runs (planned: prompt 120 tokens/s, generation 22 tokens/s; measured 137–255 and
// 23–47: the machine is shared and noisy), rounded down: the
// prompt (instructions, template and as much of the chat as fits) and then the output
// both fit inside the bucket's time limit, and the time limit leaves 300 ms to 1.5 s of
// the published deadline for queueing, HPKE and the response (README.md "Token budgets").
// Operators with another model or machine run the bench and pass their own table
// (`budgets` option).

import { PADDING_BUCKETS } from '../../../protocol/padding';

/** The enclave's published deadlines per request bucket (enclave-app/server/deadlines.ts). */
export const BUCKET_DEADLINES_MS: Readonly<Record<number, number>> = Object.freeze({
  1024: 2_000,
  4096: 3_000,
  16384: 4_000,
  65536: 6_000,
  262144: 10_000,
  1048576: 18_000,
});

export interface TokenBudget {
  /** Tokens of system text, user text and template together. */
  readonly promptTokens: number;
  /** Tokens generated at most. */
  readonly outputTokens: number;
  /** Generation stops after this long from the call, whatever the budget. */
  readonly timeLimitMs: number;
}

export type BudgetTable = Readonly<Record<number, TokenBudget>>;

export const DEFAULT_BUDGETS: BudgetTable = Object.freeze({
  1024: { promptTokens: 96, outputTokens: 16, timeLimitMs: 1_700 },
  4096: { promptTokens: 144, outputTokens: 26, timeLimitMs: 2_600 },
  16384: { promptTokens: 192, outputTokens: 36, timeLimitMs: 3_500 },
  65536: { promptTokens: 288, outputTokens: 60, timeLimitMs: 5_300 },
  262144: { promptTokens: 480, outputTokens: 104, timeLimitMs: 9_000 },
  1048576: { promptTokens: 832, outputTokens: 200, timeLimitMs: 16_500 },
});

/** The budget of `bucket`: its own entry, else the largest smaller bucket's, else the smallest. */
export function budgetFor(bucket: number | undefined, table: BudgetTable = DEFAULT_BUDGETS): TokenBudget {
  const sizes = Object.keys(table)
    .map(Number)
    .sort((a, b) => a - b);
  if (sizes.length === 0) throw new Error('an empty budget table');
  let chosen = sizes[0]!;
  if (bucket !== undefined) for (const s of sizes) if (s <= bucket) chosen = s;
  return table[chosen]!;
}

export { PADDING_BUCKETS };
