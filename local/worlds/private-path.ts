// The whole private path on one machine with real sockets (the local stack and tests): issuer, relay, gateway,
// parent proxy and enclave (with the KMS and NSM emulators). Every hop's requests and
// every component's log lines are recorded, so tests can look for canaries.
import { createLogger, type LogEntry } from '../../protocol';
import { Gateway, type LogView } from '../../lambdas/gateway/gateway';
import { WorkerRegistry } from '../../lambdas/gateway/workers';
import { Relay } from '../../lambdas/relay/relay';
import { MemorySpendStore } from '../../lambdas/common/spend-store';
import type { HttpRequest, HttpResponse } from '../../lambdas/common/http';
import { generateIssuerKey, type IssuerKeyRecord } from '../../lambdas/issuer/keys';
import { serveHandler, type ServedHandler } from '../http-adapter';
import { enclaveWorld, MEASUREMENT, runInProcess, type EnclaveWorld, type RunningStack } from './enclave';
import { accountToken, issuerWorld, ISSUER_NAME, ORIGIN_NAME } from './privacy-pass';
import type { PrivateProcessingClient, PrivateProcessingConfig } from '../../client';
import { GetKeyPolicyCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import type { LogWriter } from '../../lambdas/log-writer/log';
import type { MemoryStorage } from '../../lambdas/log-writer/storage';
import { Clock, LOG_KEY, logWorld, ORIGIN as LOG_ORIGIN, releaseEntry, WITNESS_KEYS } from './tlog';

/** What a client pins to follow this world's log. */
export const CLIENT_LOG_CONFIG = {
  origin: LOG_ORIGIN,
  logKey: LOG_KEY.verifierKey,
  witnessKeys: WITNESS_KEYS.slice(0, 2).map((k) => k.verifierKey),
  quorum: 2,
  publicationDelayMs: 0,
};

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
  readonly entries: readonly LogEntry[];
  readonly log: LogWriter;
  readonly logStorage: MemoryStorage;
  stop(): Promise<void>;
}

function recording(component: string, recorded: Recorded[] | undefined, handler: (r: HttpRequest) => Promise<HttpResponse>) {
  return async (request: HttpRequest) => {
    const response = await handler(request);
    recorded?.push({ component, request, response });
    return response;
  };
}

export interface PrivatePathOptions {
  readonly workers?: number;
  readonly kmsRatePerSecond?: number;
  /** Fixed loopback ports (default: any free port). */
  readonly ports?: { readonly relay?: number; readonly gateway?: number; readonly issuer?: number; readonly log?: number };
  /** Keep every hop's requests for inspection (default true; off for a long-running stack). */
  readonly record?: boolean;
}

export async function privatePathWorld(options: PrivatePathOptions = {}): Promise<PrivatePath> {
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
  const keep = options.record === false ? undefined : recorded;
  const port = (name: keyof NonNullable<PrivatePathOptions['ports']>) => (options.ports?.[name] !== undefined ? { port: options.ports[name] } : {});
  const logs: Record<string, string[]> = { issuer: [], relay: [], gateway: [], parent: stack.logs };

  // A real log: release, session key (exactly as KMS describes it) and issuer key, cosigned by two witnesses.
  const { log, storage: logStorage } = await logWorld({ witnesses: 2, clock: new Clock(now) });
  const publisher = world.kms.client('publisher');
  const keyPolicy = (await publisher.send(new GetKeyPolicyCommand({ KeyId: world.config.sessionKeyArn, PolicyName: 'default' }))).Policy!;
  const describeKey = JSON.stringify(await publisher.send(new DescribeKeyCommand({ KeyId: world.config.sessionKeyArn })), (k, v) => (k === '$metadata' ? undefined : v));
  await log.append(releaseEntry(world.config.releaseId, now - 3600, MEASUREMENT.pcr0), 'publisher');
  await log.append(
    { type: 'session_key', releaseId: world.config.releaseId, kmsKeyArn: world.config.sessionKeyArn, keyConfig: world.keyConfigBytes, keyPolicy, describeKey, notBefore: now - 3600, notAfter: now + 7 * 86_400 },
    'publisher',
  );
  await log.append({ type: 'issuer_key', tokenKey: issuerKey.tokenKey, tokenKeyId: issuerKey.tokenKeyId, notBefore: issuerKey.notBefore, notAfter: issuerKey.notAfter }, 'rotation');
  const view = (): LogView => ({ entries: log.allEntries(), checkpoint: log.checkpoint });

  const { issuer, lines } = await issuerWorld({ records: [issuerKey], clock: { get seconds() { return Math.floor(Date.now() / 1000); } } });
  logs.issuer = lines;
  const issuerServed = await serveHandler(recording('issuer', keep, (r) => issuer.handle(r)), { maxBody: 4096, ...port('issuer') });

  const registry = new WorkerRegistry({ discover: () => stacks.map((s) => s.parentUrl) });
  await registry.refresh();
  // Health checks go on: the enclave re-attests every few minutes and the bundle must carry a fresh document.
  const healthChecks = setInterval(() => void registry.refresh().catch(() => undefined), 60_000);
  healthChecks.unref();
  const spends = new MemorySpendStore();
  const gateway = new Gateway({ issuerName: ISSUER_NAME, originName: ORIGIN_NAME, log: view, spends, workers: registry, logger: createLogger('gateway', (l) => logs.gateway!.push(l)) });
  const gatewayServed = await serveHandler(recording('gateway', keep, (r) => gateway.handle(r)), { maxBody: 2 * 1024 * 1024, ...port('gateway') });

  // The log's public bucket: the writer's storage, read-only.
  const logServed = await serveHandler(
    recording('log', keep, async (r): Promise<HttpResponse> => {
      const bytes = r.method === 'GET' ? await logStorage.read(r.path.slice(1)) : undefined;
      return bytes
        ? { status: 200, headers: { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=10' }, body: bytes }
        : { status: 404, headers: { 'content-type': 'text/plain' }, body: new Uint8Array() };
    }),
    { maxBody: 0, ...port('log') },
  );
  const relay = new Relay({ gatewayUrl: gatewayServed.url, logUrl: logServed.url, logger: createLogger('relay', (l) => logs.relay!.push(l)) });
  const relayServed = await serveHandler(recording('relay', keep, (r) => relay.handle(r)), { maxBody: 2 * 1024 * 1024, ...port('relay') });

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
    get entries() {
      return log.allEntries();
    },
    log,
    logStorage,
    async stop() {
      clearInterval(healthChecks);
      for (const s of served) await s.close();
      for (const s of stacks) await s.stop();
      await world.stop();
    },
  };
}

/** A client configuration for this world: its relay, issuer, log pins and the emulator's root (local mode). */
export function clientConfig(world: PrivatePath, extra: Partial<PrivateProcessingConfig> = {}, account = 'alice'): PrivateProcessingConfig {
  return {
    relayUrls: [world.relayUrl],
    issuerUrl: `${world.issuerUrl}/v1/token-request`,
    issuerName: ISSUER_NAME,
    originName: ORIGIN_NAME,
    log: CLIENT_LOG_CONFIG,
    accountCredential: () => accountToken(account, { iat: Math.floor(Date.now() / 1000) }),
    local: { attestationRootPem: world.world.kms.rootPem },
    ...extra,
  };
}

/** Waits until the client's wallet holds `n` tokens (they arrive on its schedule after opt-in). */
export async function waitForTokens(client: PrivateProcessingClient, n: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (client.tokensAvailable < n) {
    if (Date.now() > until) throw new Error('the wallet did not fill');
    await new Promise((r) => setTimeout(r, 20));
  }
}
