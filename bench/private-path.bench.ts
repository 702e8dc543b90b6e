// The whole private path on one machine (client encrypt → relay → gateway with token
// verify and spend → parent → enclave with the emulated KMS round trip → back), one and
// 32 concurrent clients, against the same feature over plain HTTP on the same machine:
// the ratio is what privacy costs here. Tokens are minted ahead (issuance is measured
// in the Privacy Pass benchmark), as wallets fetch them ahead of use.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeBhttpResponse, decodeKeyBundle, decodeKeyConfig } from '../protocol';
import { BuiltinEngine } from '../enclave-app/features/builtin/engine';
import { encryptRequest, MODEL, SAMPLE_CHAT } from '../test/helpers/enclave';
import { mintToken } from '../test/helpers/privacy-pass';
import { privatePathWorld } from '../test/helpers/private-path';
import { percentile, runConcurrent } from './harness';

async function run(total: number, concurrency: number, once: () => Promise<void>): Promise<string> {
  const { latencies, perSecond } = await runConcurrent(total, concurrency, once);
  return `${perSecond.toFixed(0).padStart(5)} req/s, p50 ${percentile(latencies, 50).toFixed(2).padStart(7)} ms, p99 ${percentile(latencies, 99).toFixed(2).padStart(7)} ms (${latencies.length} requests)`;
}

export async function privatePathBenchmarks(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const path = await privatePathWorld({ kmsRatePerSecond: 100_000 });
  const engine = BuiltinEngine.fromModel(MODEL);
  const plain = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { chat } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { chat: typeof SAMPLE_CHAT };
      const body = JSON.stringify(engine.summarize(chat as never));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  const plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/v1/summarize`;
  const body = { v: 1, chat: SAMPLE_CHAT };
  const lines: string[] = [];
  try {
    const bundle = decodeKeyBundle(new Uint8Array(await (await fetch(`${path.relayUrl}/v1/keys`)).arrayBuffer()));
    const keyConfig = decodeKeyConfig(bundle.keys[0]!.keyConfig);
    const privateOnce = async () => {
      const token = mintToken(path.issuerKey);
      const { encapsulated, context } = await encryptRequest(keyConfig, { body });
      const res = await fetch(`${path.relayUrl}/v1/ohttp`, {
        method: 'POST',
        headers: { 'content-type': 'message/ohttp-req', 'private-token': Buffer.from(token).toString('base64url') },
        body: encapsulated,
      });
      if (res.status !== 200) throw new Error(`private path answered ${res.status}: ${await res.text()}`);
      const inner = decodeBhttpResponse(await context.decapsulateResponse(new Uint8Array(await res.arrayBuffer())));
      if (inner.status !== 200) throw new Error(`enclave answered ${inner.status}`);
    };
    const plainOnce = async () => {
      const res = await fetch(plainUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (res.status !== 200) throw new Error(`plain answered ${res.status}`);
      await res.arrayBuffer();
    };
    for (let i = 0; i < 20; i++) await privateOnce();
    for (let i = 0; i < 50; i++) await plainOnce();
    for (const concurrency of [1, 32]) {
      lines.push(`private path, ${String(concurrency).padStart(2)} client(s): ${await run(400, concurrency, privateOnce)}`);
      lines.push(`plain HTTP,   ${String(concurrency).padStart(2)} client(s): ${await run(2000, concurrency, plainOnce)}`);
    }
  } finally {
    plain.close();
    await path.stop();
  }
  process.stdout.write(`\nWhole private path vs the same feature over plain HTTP (summarise, 1 KiB bucket, deadlines off, KMS emulator)\n${lines.join('\n')}\n`);
}
