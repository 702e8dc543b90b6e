// The enclave through its parent proxy, with the emulated KMS round trip on every
// request (SigV4, policy evaluation, CMS), deadlines off: requests per second and
// latency percentiles, one client and eight concurrent clients.
import { SAMPLE_CHAT, enclaveWorld, exchange, runInProcess } from '../test/helpers/enclave';
import { percentile, runConcurrent } from './harness';

export async function enclaveBenchmarks(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const world = await enclaveWorld();
  const stack = await runInProcess(world, { kmsRatePerSecond: 100_000 });
  await stack.enclave.booted;
  const body = { v: 1, chat: SAMPLE_CHAT };
  const lines: string[] = [];
  try {
    for (let i = 0; i < 20; i++) await exchange(stack, world.keyConfig, { body }); // warm-up
    for (const concurrency of [1, 8]) {
      const { latencies, perSecond } = await runConcurrent(400, concurrency, async () => {
        const r = await exchange(stack, world.keyConfig, { body });
        if (r.status !== 200) throw new Error(`status ${r.status}`);
      });
      lines.push(
        `${String(concurrency).padStart(2)} client(s): ${perSecond.toFixed(0).padStart(5)} req/s, p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms (${latencies.length} requests, 1 KiB bucket, summarise)`,
      );
    }
  } finally {
    await stack.stop();
    await world.stop();
  }
  process.stdout.write(`\nEnclave through the parent proxy (client encrypt → parent → enclave → KMS emulator → back), deadlines off\n${lines.join('\n')}\n`);
}
