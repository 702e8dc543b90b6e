// The parent proxy as a process on the worker instance (started by the worker's user
// data, EnclaveWorkerStack): `node parent-proxy.js <config.json>`. The config and the
// two files it names come from the release bucket: the deployment's boot parameters,
// the model data key as the model owner wrapped it, and the sealed model. None of it is
// secret from the parent (the data key is KMS ciphertext only an attested enclave can
// have opened, the model is AES-GCM under that key), and none of it is trusted: the
// enclave checks everything against its measurement.

import { readFileSync } from 'node:fs';
import { KMS_KEY_ARN } from '../../protocol';
import { IMDS_ENDPOINT, imdsCredentials } from './imds';
import { ParentProxy } from './proxy';

export interface ParentConfig {
  /** The loopback port of the socat bridge to the enclave's vsock port (the parent channel). */
  readonly enclavePort: number;
  /** The private address the gateway Lambda reaches (the security group admits only it). */
  readonly listen: { readonly host: string; readonly port: number };
  readonly sessionKeyArn: string;
  readonly modelKeyArn: string;
  readonly encryptedModelDataKeyFile: string;
  readonly sealedModelFile: string;
  /** IMDS endpoint (tests only; the default is the instance's). */
  readonly imdsEndpoint?: string;
}

const HOST = /^(?:\d{1,3}\.){3}\d{1,3}$/;

/** Parses and checks the config; throws one line naming the first bad field. */
export function parseParentConfig(json: string): ParentConfig {
  let c: ParentConfig;
  try {
    c = JSON.parse(json) as ParentConfig;
  } catch {
    throw new Error('config: not JSON');
  }
  const port = (p: unknown) => Number.isInteger(p) && (p as number) > 0 && (p as number) < 65536;
  if (!port(c.enclavePort)) throw new Error('config: enclavePort must be a port');
  // Port 0 (any free port) is for tests; the worker's user data sets the security group's port.
  if (!c.listen || !HOST.test(c.listen.host) || !(c.listen.port === 0 || port(c.listen.port))) throw new Error('config: listen must be {host, port}');
  if (!KMS_KEY_ARN.test(c.sessionKeyArn ?? '') || !KMS_KEY_ARN.test(c.modelKeyArn ?? '')) throw new Error('config: sessionKeyArn and modelKeyArn must be KMS key ARNs');
  if (typeof c.encryptedModelDataKeyFile !== 'string' || typeof c.sealedModelFile !== 'string') throw new Error('config: the model files are paths');
  if (c.imdsEndpoint !== undefined && !/^http:\/\/(?:127\.0\.0\.1|169\.254\.169\.254)(?::\d+)?$/.test(c.imdsEndpoint)) throw new Error('config: imdsEndpoint is the instance metadata service');
  return c;
}

async function main(): Promise<void> {
  const path = process.argv[2];
  if (!path) throw new Error('usage: parent-proxy <config.json>');
  const config = parseParentConfig(readFileSync(path, 'utf8'));
  const proxy = new ParentProxy({
    enclave: { host: '127.0.0.1', port: config.enclavePort },
    host: config.listen.host,
    port: config.listen.port,
    credentials: imdsCredentials({ endpoint: config.imdsEndpoint ?? IMDS_ENDPOINT }),
    logSink: (line) => process.stdout.write(`${line}\n`),
    bootConfig: {
      sessionKeyArn: config.sessionKeyArn,
      modelKeyArn: config.modelKeyArn,
      encryptedModelDataKey: new Uint8Array(readFileSync(config.encryptedModelDataKeyFile)),
      sealedModel: new Uint8Array(readFileSync(config.sealedModelFile)),
    },
  });
  const url = await proxy.start();
  process.stdout.write(`${JSON.stringify({ component: 'parent', event: 'listening', port: Number(new URL(url).port) })}\n`);
  const stop = () => void proxy.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`parent-proxy: ${err instanceof Error ? err.message : 'failed'}\n`);
    process.exit(1);
  });
}
