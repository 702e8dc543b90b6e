// Starts the enclave app: listen on the parent channel, wait for the parent to push
// credentials, boot (key checks, model, attestation), then serve and re-attest on a
// timer. The NSM transport is the device in AWS and the emulator locally; the listen
// address is a Unix socket in AWS (socat bridges it to vsock) and may be TCP on
// loopback only in a local build.

import { createLogger, KMS_KEY_ARN, ProtocolError, type AllowlistLogger } from '../protocol';
import type { ModelBackend } from './features/api';
import { BuiltinEngine } from './features/builtin/engine';
import { EnclaveKms } from './kms/client';
import { AttestedRecipient } from './kms/recipient';
import { NsmClient, type NsmTransport } from './nsm/client';
import { TokenBucket } from './server/admission';
import { PushedCredentials } from './server/credentials';
import { DEFAULT_DEADLINES_MS, type Deadlines } from './server/deadlines';
import { Enclave, EnclaveBootError, type EnclaveConfig } from './server/enclave';
import { RequestHandler } from './server/handler';
import { EnclaveListener, type ListenAddress } from './server/listener';
import { ReplayCache } from './server/replay';

declare const __PP_BUILD__: string | undefined;

export interface StartEnclaveOptions {
  readonly nsm: NsmTransport;
  readonly region: string;
  /** Local builds only (enforced by enclave-app/kms/endpoint.ts). */
  readonly kmsEndpointOverride?: string;
  /**
   * The boot configuration; or, for the production entry, the parts compiled into the
   * image (release id, model hash), the rest arriving from the parent in a `boot` frame.
   */
  readonly config: EnclaveConfig | { readonly fromParent: CompiledRelease };
  readonly listen: ListenAddress;
  readonly deadlines?: Deadlines;
  /** This worker's share of the account's KMS ECC request quota. */
  readonly kmsRatePerSecond?: number;
  /** Requests decrypted or computed at once (default 8); see RequestHandler. */
  readonly maxInFlight?: number;
  readonly clockSkewMs?: number;
  /** Builds the engine from the checked model bytes; may be async (an LLM loads its model). A failure fails the boot. */
  readonly engine?: (model: Uint8Array) => ModelBackend | Promise<ModelBackend>;
  readonly now?: () => number;
}

export interface RunningEnclave {
  readonly address: ListenAddress;
  /** Resolves once booted and serving; rejects with the boot failure. */
  readonly booted: Promise<Enclave>;
  readonly logger: AllowlistLogger;
  close(): Promise<void>;
}

export const DEFAULT_CLOCK_SKEW_MS = 120_000;

/** What a release compiles into the enclave bundle, so it is part of PCR0. */
export interface CompiledRelease {
  readonly releaseId: string;
  readonly modelSha256: string;
}

/**
 * The parent's `boot` frame: only what the deployment decides (key ARNs, the wrapped
 * model key and the sealed model). Each is checked at boot against the measurement (key
 * policies name this PCR0; the model must hash to the compiled-in value), so a parent
 * can make the enclave refuse to serve but never serve under anything else. The first
 * well-formed frame wins.
 */
export function bootConfigFrom(m: ReadonlyMap<string, unknown>, release: CompiledRelease): EnclaveConfig | undefined {
  const [sessionKeyArn, modelKeyArn, encryptedModelDataKey, sealedModel] = ['sessionKeyArn', 'modelKeyArn', 'encryptedModelDataKey', 'sealedModel'].map((k) => m.get(k));
  if (typeof sessionKeyArn !== 'string' || !KMS_KEY_ARN.test(sessionKeyArn)) return undefined;
  if (typeof modelKeyArn !== 'string' || !KMS_KEY_ARN.test(modelKeyArn)) return undefined;
  if (!(encryptedModelDataKey instanceof Uint8Array) || !(sealedModel instanceof Uint8Array)) return undefined;
  return { releaseId: release.releaseId, modelSha256: release.modelSha256, sessionKeyArn, modelKeyArn, encryptedModelDataKey, sealedModel };
}

export async function startEnclave(options: StartEnclaveOptions): Promise<RunningEnclave> {
  if ('port' in options.listen && typeof __PP_BUILD__ !== 'undefined' && __PP_BUILD__ === 'production') {
    throw new Error('a production build listens on the vsock bridge socket only');
  }
  const now = options.now ?? Date.now;
  const credentials = new PushedCredentials();
  let enclave: Enclave | undefined;
  let handler: RequestHandler | undefined;
  let resolveBoot: ((c: EnclaveConfig) => void) | undefined;
  const bootConfig: Promise<EnclaveConfig> =
    'fromParent' in options.config
      ? new Promise((resolve) => {
          resolveBoot = resolve;
        })
      : Promise.resolve(options.config);
  const fromParent = 'fromParent' in options.config ? options.config.fromParent : undefined;
  const onBoot = fromParent
    ? (m: ReadonlyMap<string, unknown>) => {
        const config = bootConfigFrom(m, fromParent);
        if (config && resolveBoot) {
          resolveBoot(config);
          resolveBoot = undefined;
        }
      }
    : undefined;
  const listener = new EnclaveListener({ enclave: () => enclave, handler: () => handler, credentials, ...(onBoot ? { onBoot } : {}) });
  const logger = createLogger('enclave', listener.logSink, now);
  const address = await listener.listen(options.listen);
  const nsm = new NsmClient(options.nsm);
  const kms = new EnclaveKms({
    region: options.region,
    credentials: credentials.provider,
    recipient: new AttestedRecipient(nsm, { now }),
    ...(options.kmsEndpointOverride ? { endpointOverride: options.kmsEndpointOverride } : {}),
  });
  const skew = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  const booted = (async () => {
    const config = await bootConfig;
    await credentials.ready();
    const e = await Enclave.boot({ nsm, kms, config, logger, now });
    let engine: ModelBackend;
    try {
      engine = await (options.engine ?? BuiltinEngine.fromModel)(e.model);
      await engine.warmUp?.();
    } catch (err) {
      // An engine that cannot load its (hash-checked) model fails the boot like the model itself.
      const code = `ENGINE_${err instanceof ProtocolError ? err.code : 'FAILED'}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_').slice(0, 48);
      e.stop(code);
      throw new EnclaveBootError(code);
    }
    handler = new RequestHandler({
      keys: () => e.keys(),
      serving: () => e.serving,
      replay: new ReplayCache(2 * skew),
      admission: new TokenBucket(options.kmsRatePerSecond ?? 50, options.kmsRatePerSecond ?? 50, now()),
      ...(options.maxInFlight !== undefined ? { maxInFlight: options.maxInFlight } : {}),
      engine: () => engine,
      deadlines: options.deadlines ?? DEFAULT_DEADLINES_MS,
      clockSkewMs: skew,
      now,
      logger,
    });
    enclave = e;
    e.startTimer();
    return e;
  })();
  booted.catch(() => undefined);
  return {
    address,
    booted,
    logger,
    async close() {
      enclave?.stopTimer();
      kms.destroy();
      await listener.close();
    },
  };
}
