// The whole private path on one machine with real sockets (the local stack and tests): issuer, relay, gateway,
// parent proxy and enclave (with the KMS and NSM emulators). Every hop's requests and
// every component's log lines are recorded, so tests can look for canaries.
import { createLogger, ROLE_NAMES, type LogEntry } from '../../protocol';
import { Gateway, type LogView } from '../../lambdas/gateway/gateway';
import { WorkerRegistry } from '../../lambdas/gateway/workers';
import { Relay } from '../../lambdas/relay/relay';
import { MemorySpendStore } from '../../lambdas/common/spend-store';
import type { HttpRequest, HttpResponse } from '../../lambdas/common/http';
import { generateIssuerKey, type IssuerKeyRecord } from '../../lambdas/issuer/keys';
import { serveHandler, type ServedHandler } from '../http-adapter';
import { enclaveWorld, MEASUREMENT, MODEL_SHA256, runAsProcess, runInProcess, type EnclaveWorld, type RunningWorker } from './enclave';
import { accountToken, issuerWorld, ISSUER_NAME, ORIGIN_NAME } from './privacy-pass';
import type { PrivateProcessingClient, PrivateProcessingConfig } from '../../client';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { LogWriter } from '../../lambdas/log-writer/log';
import { LogWriterHandler } from '../../lambdas/log-writer/handler';
import { publishRelease } from '../../scripts/release';
import { logWriterAppender } from '../../lambdas/log-writer/client';
import type { ReleaseManifest } from '../../protocol';
import type { MemoryStorage } from '../../lambdas/log-writer/storage';
import { Clock, LOG_KEY, logWorld, ORIGIN as LOG_ORIGIN, WITNESS_KEYS } from './tlog';
import { ACCOUNT } from './kms';

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
  readonly workers: readonly RunningWorker[];
  /** The local enclave's release manifest, as published. */
  readonly manifest: ReleaseManifest;
  readonly issuerUrl: string;
  readonly relayUrl: string;
  readonly gatewayUrl: string;
  readonly logUrl: string;
  /** The log writer's append endpoint (IAM-authorized in AWS; here a bearer secret per role). */
  readonly logWriterUrl: string;
  /** Bearer secrets standing in for the publisher's and rotation role's IAM identities. */
  readonly logWriterSecrets: { readonly publisher: string; readonly rotation: string };
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
  /** Run each enclave app as its own process (as `npm start` does) or in this one (default, faster). */
  readonly enclave?: 'process' | 'in-process';
  /** Fixed loopback port of the log writer's append endpoint (default: any free port). */
  readonly logWriterPort?: number;
}

let sourceCommit: string | undefined;
/** The commit the local enclave is built from (zeros outside a git checkout). */
function localSourceCommit(): string {
  if (sourceCommit === undefined) {
    try {
      sourceCommit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: __dirname, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      sourceCommit = '0'.repeat(40);
    }
    if (!/^[0-9a-f]{40}$/.test(sourceCommit)) sourceCommit = '0'.repeat(40);
  }
  return sourceCommit;
}

/** The release manifest of the local enclave build (kind `emulated`: measured by `measure`, never by nitro-cli). */
export function localReleaseManifest(releaseId: string, createdAt: number): ReleaseManifest {
  return {
    version: 1,
    releaseId,
    kind: 'emulated',
    measurements: { pcr0: MEASUREMENT.pcr0, pcr1: MEASUREMENT.pcr1, pcr2: MEASUREMENT.pcr2 },
    imageSha384: MEASUREMENT.imageSha384,
    modelSha256: MODEL_SHA256,
    sourceCommit: localSourceCommit(),
    buildRecipe: 'local build of enclave-app (__PP_BUILD__ = "local"): tsx local/enclave-process.ts',
    createdAt,
  };
}

export async function privatePathWorld(options: PrivatePathOptions = {}): Promise<PrivatePath> {
  const now = Math.floor(Date.now() / 1000);
  const world = await enclaveWorld();
  const stacks: RunningWorker[] = [];
  for (let i = 0; i < (options.workers ?? 1); i++) {
    if (options.enclave === 'process') {
      const p = await runAsProcess(world);
      await p.booted;
      stacks.push(p);
    } else {
      const s = await runInProcess(world, options.kmsRatePerSecond ? { kmsRatePerSecond: options.kmsRatePerSecond } : {});
      // The parent connects (and pushes credentials) on its first call; the enclave then boots.
      await fetch(`${s.parentUrl}/healthz`);
      await s.enclave.booted;
      stacks.push({ parentUrl: s.parentUrl, logs: s.logs, booted: s.enclave.booted.then(() => undefined), stop: () => s.stop() });
    }
  }
  const issuerKey = await generateIssuerKey({ notBefore: now - 60, signUntil: now + 7 * 86_400, notAfter: now + 9 * 86_400 });
  const recorded: Recorded[] = [];
  const keep = options.record === false ? undefined : recorded;
  const port = (name: keyof NonNullable<PrivatePathOptions['ports']>) => (options.ports?.[name] !== undefined ? { port: options.ports[name] } : {});
  const logs: Record<string, string[]> = { issuer: [], relay: [], gateway: [], 'log-writer': [], parent: stacks[0]!.logs };

  // A real log, cosigned by two witnesses: the release and its session key, published by the
  // release pipeline's own code through the log writer's HTTP endpoint as the publisher role
  // (the key exactly as KMS describes it), and the issuer key as the rotation role.
  const { log, storage: logStorage } = await logWorld({ witnesses: 2, clock: new Clock(now) });
  const logWriterSecrets = { publisher: randomBytes(24).toString('base64url'), rotation: randomBytes(24).toString('base64url') };
  const callers = new Map([
    [logWriterSecrets.publisher, `arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE_NAMES.publisher}/local-release`],
    [logWriterSecrets.rotation, `arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE_NAMES.rotation}/local-rotation`],
  ]);
  const logWriter = new LogWriterHandler({
    log,
    account: ACCOUNT,
    submitters: { [ROLE_NAMES.publisher]: 'publisher', [ROLE_NAMES.rotation]: 'rotation' },
    logger: createLogger('log-writer', (l) => logs['log-writer']!.push(l)),
  });
  const logWriterServed = await serveHandler(
    recording('log-writer', keep, (r) => {
      // The bearer secret stands in for API Gateway's IAM authentication; it goes no further.
      const bearer = /^Bearer (\S+)$/.exec(r.headers.authorization ?? '')?.[1];
      const caller = bearer === undefined ? undefined : callers.get(bearer);
      const { authorization: _, ...headers } = r.headers;
      return logWriter.handle({ ...r, headers, ...(caller ? { caller } : {}) });
    }),
    { maxBody: 256 * 1024, ...(options.logWriterPort !== undefined ? { port: options.logWriterPort } : {}) },
  );
  const manifest = localReleaseManifest(world.config.releaseId, now - 3600);
  await publishRelease({
    manifest,
    sessionKeyArn: world.config.sessionKeyArn,
    kms: world.kms.client('publisher'),
    append: logWriterAppender(`${logWriterServed.url}/v1/entries`, { bearer: logWriterSecrets.publisher }),
    window: { notBefore: now - 3600, notAfter: now + 180 * 86_400 },
    keyWindow: { notBefore: now - 3600, notAfter: now + 7 * 86_400 },
  });
  await logWriterAppender(`${logWriterServed.url}/v1/entries`, { bearer: logWriterSecrets.rotation })({ type: 'issuer_key', tokenKey: issuerKey.tokenKey, tokenKeyId: issuerKey.tokenKeyId, notBefore: issuerKey.notBefore, notAfter: issuerKey.notAfter });
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

  const served: ServedHandler[] = [issuerServed, gatewayServed, logServed, relayServed, logWriterServed];
  return {
    world,
    workers: stacks,
    manifest,
    logWriterUrl: `${logWriterServed.url}/v1/entries`,
    logWriterSecrets,
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
