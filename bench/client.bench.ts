// The client's cost per request over the local path: with the verified key cached, and
// cold (a fresh client: log sync, bundle, key policy, attestation and binding checks,
// then the request); and the pipeline's own steps.
import { clearChainCache, decodeKeyBundle } from '../protocol';
import { PrivateProcessingClient, type PrivateProcessingConfig } from '../client';
import { LogSync } from '../client/log/sync';
import { verifyBundle } from '../client/verify';
import { SAMPLE_CHAT } from '../test/helpers/enclave';
import { CLIENT_LOG_CONFIG, clientConfig, privatePathWorld, waitForTokens } from '../test/helpers/private-path';
import { measure, percentile, printTable } from './harness';

export async function clientBenchmarks(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const path = await privatePathWorld({ kmsRatePerSecond: 100_000 });
  const config = (batchSize: number): PrivateProcessingConfig =>
    clientConfig(path, { wallet: { batchSize, intervalMs: 3_600_000, jitterMs: 1, capacity: batchSize } }, `bench-${batchSize}`);
  const chat = { id: 'bench', ...SAMPLE_CHAT };
  try {
    const fetchLog = async (p: string) => {
      const res = await fetch(`${path.relayUrl}/log/${p}`);
      return res.status === 200 ? new Uint8Array(await res.arrayBuffer()) : undefined;
    };
    const sync = new LogSync({ ...CLIENT_LOG_CONFIG, fetch: fetchLog });
    await sync.sync();
    const live = sync.liveSet();
    const bundle = new Uint8Array(await (await fetch(`${path.relayUrl}/v1/keys`)).arrayBuffer());
    decodeKeyBundle(bundle);
    const anchor = path.world.kms.rootPem;
    printTable('Client verification pipeline (local path)', [
      await measure('log sync from scratch through the relay (3 entries, 2 witnesses)', () => new LogSync({ ...CLIENT_LOG_CONFIG, fetch: fetchLog }).sync(), 1),
      await measure('verify bundle: key policy + attestation (chain cold) + binding', () => {
        clearChainCache();
        return verifyBundle(bundle, live, { now: new Date(), trustAnchorPem: anchor });
      }, 1),
      await measure('verify bundle, chain cached', () => verifyBundle(bundle, live, { now: new Date(), trustAnchorPem: anchor }), 1),
    ]);

    // Cached: one client, key verified once, 60 requests.
    const warm = new PrivateProcessingClient(config(64));
    warm.optIn();
    await waitForTokens(warm, 64);
    await warm.summarize(chat);
    const cached: number[] = [];
    for (let i = 0; i < 60; i++) {
      const t = performance.now();
      await warm.summarize(chat);
      cached.push(performance.now() - t);
    }
    warm.optOut();
    // Cold: a fresh client per request (tokens fetched beforehand, as wallets do).
    const cold: number[] = [];
    for (let i = 0; i < 8; i++) {
      const client = new PrivateProcessingClient(config(1));
      client.optIn();
      await waitForTokens(client, 1);
      clearChainCache();
      const t = performance.now();
      await client.summarize(chat);
      cold.push(performance.now() - t);
      client.optOut();
    }
    cached.sort((a, b) => a - b);
    cold.sort((a, b) => a - b);
    process.stdout.write(
      `\nClient summarize through the local path (one process, 2 cores, KMS emulator)\n` +
        `verified key cached: p50 ${percentile(cached, 50).toFixed(2)} ms, p99 ${percentile(cached, 99).toFixed(2)} ms (${cached.length} requests)\n` +
        `cold (log sync + bundle + verification + request): p50 ${percentile(cold, 50).toFixed(2)} ms, max ${cold.at(-1)!.toFixed(2)} ms (${cold.length} fresh clients)\n`,
    );
  } finally {
    await path.stop();
  }
}
