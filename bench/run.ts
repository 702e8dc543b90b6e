// `npm run bench`: prints figures for each area. Never run by `npm test`.
import { cpus } from 'node:os';
import { attestationBenchmarks } from './attestation.bench';
import { clientBenchmarks } from './client.bench';
import { enclaveBenchmarks } from './enclave.bench';
import { featureBenchmarks } from './features.bench';
import { kmsBenchmarks } from './kms.bench';
import { privacyPassBenchmarks } from './privacy-pass.bench';
import { privatePathBenchmarks } from './private-path.bench';
import { protocolBenchmarks } from './protocol.bench';
import { tlogBenchmarks } from './tlog.bench';

async function main(): Promise<void> {
  process.stdout.write(`Node ${process.version} on ${cpus().length}× ${cpus()[0]?.model ?? 'unknown CPU'}\n`);
  await protocolBenchmarks();
  await attestationBenchmarks();
  await kmsBenchmarks();
  await tlogBenchmarks();
  await enclaveBenchmarks();
  await featureBenchmarks();
  await privacyPassBenchmarks();
  await privatePathBenchmarks();
  await clientBenchmarks();
}

const only = process.argv[2];
(only === 'features' ? featureBenchmarks() : main()).catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
