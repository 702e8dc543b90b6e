// Runs the enclave app as its own process on loopback, with the NSM emulator standing
// in for /dev/nsm and the KMS emulator's endpoint: `tsx local/enclave-process.ts <config.json>`.
// It prints one line, `ENCLAVE_LISTENING <port>`, and nothing else; its logs leave
// through the parent channel like in AWS.

import { readFileSync } from 'node:fs';
import { startEnclave } from '../enclave-app/start';
import { NsmEmulator } from './nsm-emulator/emulator';
import { measureLocalEnclave } from './enclave-measure';
import type { Deadlines } from '../enclave-app/server/deadlines';

export interface EnclaveProcessConfig {
  readonly nsmStateDir: string;
  readonly region: string;
  readonly kmsEndpoint: string;
  readonly parentRoleArn: string;
  readonly instanceId: string;
  readonly port?: number;
  readonly deadlines?: Deadlines;
  readonly kmsRatePerSecond?: number;
  readonly enclave: {
    readonly releaseId: string;
    readonly sessionKeyArn: string;
    readonly modelKeyArn: string;
    readonly encryptedModelDataKey: string;
    readonly sealedModel: string;
    readonly modelSha256: string;
    readonly reattestIntervalMs?: number;
  };
}

async function main(): Promise<void> {
  const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as EnclaveProcessConfig;
  const measurement = measureLocalEnclave();
  const nsm = await NsmEmulator.create({ measurement, parentRoleArn: config.parentRoleArn, instanceId: config.instanceId, stateDir: config.nsmStateDir });
  const running = await startEnclave({
    nsm,
    region: config.region,
    kmsEndpointOverride: config.kmsEndpoint,
    listen: { host: '127.0.0.1', port: config.port ?? 0 },
    ...(config.deadlines ? { deadlines: config.deadlines } : {}),
    ...(config.kmsRatePerSecond ? { kmsRatePerSecond: config.kmsRatePerSecond } : {}),
    config: {
      ...config.enclave,
      encryptedModelDataKey: new Uint8Array(Buffer.from(config.enclave.encryptedModelDataKey, 'base64')),
      sealedModel: new Uint8Array(Buffer.from(config.enclave.sealedModel, 'base64')),
    },
  });
  const address = running.address as { port: number };
  process.stdout.write(`ENCLAVE_LISTENING ${address.port}\n`);
  running.booted.catch(() => {
    // The reason went out on the log channel; a failed boot exits non-zero.
    setTimeout(() => process.exit(2), 200);
  });
  process.on('SIGTERM', () => void running.close().then(() => process.exit(0)));
}

main().catch(() => process.exit(1));
