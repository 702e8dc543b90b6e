// A small benchmark harness: warm up, then run an operation for a fixed time and
// report operations per second and microseconds per operation.

export interface Result {
  name: string;
  ops: number;
  opsPerSecond: number;
  microsPerOp: number;
}

export async function measure(name: string, op: () => unknown, seconds = 1): Promise<Result> {
  const warmupEnd = performance.now() + 200;
  while (performance.now() < warmupEnd) await op();
  let ops = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    // Batches of 8 keep the clock reads out of the figure for sub-microsecond operations.
    for (let i = 0; i < 8; i++) await op();
    ops += 8;
    now = performance.now();
  }
  const elapsedMs = now - start;
  return { name, ops, opsPerSecond: (ops * 1000) / elapsedMs, microsPerOp: (elapsedMs * 1000) / ops };
}

export function printTable(title: string, results: Result[]): void {
  const width = Math.max(...results.map((r) => r.name.length));
  process.stdout.write(`\n${title}\n`);
  process.stdout.write(`${'operation'.padEnd(width)}  ${'ops/s'.padStart(12)}  ${'µs/op'.padStart(10)}\n`);
  for (const r of results) {
    process.stdout.write(
      `${r.name.padEnd(width)}  ${r.opsPerSecond.toFixed(0).padStart(12)}  ${r.microsPerOp.toFixed(2).padStart(10)}\n`,
    );
  }
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `once` `total` times from `concurrency` loops; returns the sorted latencies (ms) and requests per second. */
export async function runConcurrent(total: number, concurrency: number, once: () => Promise<void>): Promise<{ latencies: number[]; perSecond: number }> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const t = performance.now();
        await once();
        latencies.push(performance.now() - t);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { latencies, perSecond: latencies.length / ((performance.now() - start) / 1000) };
}
