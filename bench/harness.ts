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
