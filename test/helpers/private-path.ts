// The whole private path on one machine with real sockets: issuer, relay, gateway,
// parent proxy and enclave (with the KMS and NSM emulators). Every hop's requests and
// every component's log lines are recorded, so tests can look for canaries.
import { createLogger, type LogEntry } from '../../protocol';
import { Gateway, type LogView } from '../../lambdas/gateway/gateway';
import { WorkerRegistry } from '../../lambdas/gateway/workers';
import { Relay } from '../../lambdas/relay/relay';
import { MemorySpendStore } from '../../lambdas/shared/spend-store';
import type { HttpRequest, HttpResponse } from '../../lambdas/shared/http';
import { generateIssuerKey, type IssuerKeyRecord } from '../../lambdas/issuer/keys';
import { serveHandler, type ServedHandler } from '../../local/http-adapter';
import { enclaveWorld, MEASUREMENT, runInProcess, type EnclaveWorld, type RunningStack } from './enclave';
import { issuerWorld, ISSUER_NAME, ORIGIN_NAME } from './privacy-pass';
import { releaseEntry } from './tlog';

export interface Recorded {
  readonly component: string;
  readonly request: HttpRequest;
  readonly response: HttpResponse;
}

export interface PrivatePath {
  readonly world: EnclaveWorld;
  readonly stack: RunningStack;
  readonly issuerUrl: string;
  readonly relayUrl: string;
  readonly gatewayUrl: string;
  readonly logUrl: string;
  readonly gateway: Gateway;
  readonly relay: Relay;
  readonly registry: WorkerRegistry;
  readonly spends: MemorySpendStore;
  readonly issuerKey: IssuerKeyRecord;
  readonly recorded: Recorded[];
  /** Log lines of every component: issuer, relay, gateway, parent and enclave. */
  readonly logs: Record<string, string[]>;
  readonly entries: LogEntry[];
  stop(): Promise<void>;
}

function recording(component: string, recorded: Recorded[], handler: (r: HttpRequest) => Promise<HttpResponse>) {
  return async (request: HttpRequest) => {
    const response = await handler(request);
    recorded.push({ component, request, response });
    return response;
  };
}

export async function privatePathWorld(options: { workers?: number; kmsRatePerSecond?: number } = {}): Promise<PrivatePath> {
  const now = Math.floor(Date.now() / 1000);
  const world = await enclaveWorld();
  const stacks: RunningStack[] = [];
  for (let i = 0; i < (options.workers ?? 1); i++) {
    const s = await runInProcess(world, options.kmsRatePerSecond ? { kmsRatePerSecond: options.kmsRatePerSecond } : {});
    // The parent connects (and pushes credentials) on its first call; the enclave then boots.
    await fetch(`${s.parentUrl}/healthz`);
    await s.enclave.booted;
    stacks.push(s);
  }
  const stack = stacks[0]!;
  const issuerKey = await generateIssuerKey({ notBefore: now - 60, signUntil: now + 7 * 86_400, notAfter: now + 9 * 86_400 });
  const recorded: Recorded[] = [];
  const logs: Record<string, string[]> = { issuer: [], relay: [], gateway: [], parent: stack.logs };

  const entries: LogEntry[] = [
    releaseEntry(world.config.releaseId, now - 3600, MEASUREMENT.pcr0),
    {
      type: 'session_key',
      releaseId: world.config.releaseId,
      kmsKeyArn: world.config.sessionKeyArn,
      keyConfig: world.keyConfigBytes,
      keyPolicy: '{}',
      describeKey: '{}',
      notBefore: now - 3600,
      notAfter: now + 7 * 86_400,
    },
    { type: 'issuer_key', tokenKey: issuerKey.tokenKey, tokenKeyId: issuerKey.tokenKeyId, notBefore: issuerKey.notBefore, notAfter: issuerKey.notAfter },
  ];
  const view: LogView = { entries, checkpoint: null };

  const { issuer, lines } = await issuerWorld({ records: [issuerKey], clock: { get seconds() { return Math.floor(Date.now() / 1000); } } });
  logs.issuer = lines;
  const issuerServed = await serveHandler(recording('issuer', recorded, (r) => issuer.handle(r)), { maxBody: 4096 });

  const registry = new WorkerRegistry({ discover: () => stacks.map((s) => s.parentUrl) });
  await registry.refresh();
  const spends = new MemorySpendStore();
  const gateway = new Gateway({ issuerName: ISSUER_NAME, originName: ORIGIN_NAME, log: () => view, spends, workers: registry, logger: createLogger('gateway', (l) => logs.gateway!.push(l)) });
  const gatewayServed = await serveHandler(recording('gateway', recorded, (r) => gateway.handle(r)), { maxBody: 2 * 1024 * 1024 });

  // A stand-in for the log's public bucket: serves a checkpoint and refuses everything else.
  const logServed = await serveHandler(
    recording('log', recorded, async (r): Promise<HttpResponse> =>
      r.path === '/checkpoint'
        ? { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'max-age=10' }, body: new TextEncoder().encode('log.test\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n') }
        : { status: 404, headers: { 'content-type': 'text/plain' }, body: new Uint8Array() },
    ),
    { maxBody: 0 },
  );
  const relay = new Relay({ gatewayUrl: gatewayServed.url, logUrl: logServed.url, logger: createLogger('relay', (l) => logs.relay!.push(l)) });
  const relayServed = await serveHandler(recording('relay', recorded, (r) => relay.handle(r)), { maxBody: 2 * 1024 * 1024 });

  const served: ServedHandler[] = [issuerServed, gatewayServed, logServed, relayServed];
  return {
    world,
    stack,
    issuerUrl: issuerServed.url,
    relayUrl: relayServed.url,
    gatewayUrl: gatewayServed.url,
    logUrl: logServed.url,
    gateway,
    relay,
    registry,
    spends,
    issuerKey,
    recorded,
    logs,
    entries,
    async stop() {
      for (const s of served) await s.close();
      for (const s of stacks) await s.stop();
      await world.stop();
    },
  };
}
