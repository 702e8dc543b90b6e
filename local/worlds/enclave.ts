// The enclave on one machine: KMS emulator, NSM emulator, the enclave app (in this
// process, or as its own process) and the parent proxy, with a test client that
// speaks OHTTP to the parent exactly as the gateway would forward it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EncryptCommand, GetPublicKeyCommand } from '@aws-sdk/client-kms';
import {
  decodeBhttpResponse,
  decodeKeyConfig,
  encapsulateRequest,
  encodeBhttpRequest,
  padToBucket,
  sealModel,
  sessionKeyConfigBytes,
  type KeyConfig,
  type Measurement,
} from '../../protocol';
import { builtinModelBytes } from '../../enclave-app/features/builtin/model-file';
import { ParentProxy } from '../../enclave-app/parent/proxy';
import { startEnclave, type RunningEnclave, type StartEnclaveOptions } from '../../enclave-app/start';
import type { Deadlines } from '../../enclave-app/server/deadlines';
import type { EnclaveConfig } from '../../enclave-app/server/enclave';
import type { NsmEmulatorOptions } from '../nsm-emulator/emulator';
import { measureLocalEnclave } from '../enclave-measure';
import { ACCOUNT, IDENTITIES, REGION, kmsWorld, type KmsWorld } from './kms';
import type { EnclaveProcessConfig } from '../enclave-process';
import { createHash, randomBytes } from 'node:crypto';

export const MEASUREMENT: Measurement = measureLocalEnclave();
/** The built-in engine's model file, sealed under the release's model key like a real one. */
export const MODEL = builtinModelBytes();
export const MODEL_SHA256 = createHash('sha256').update(MODEL).digest('hex');

export interface EnclaveWorld {
  readonly kms: KmsWorld;
  readonly nsmStateDir: string;
  readonly config: EnclaveConfig;
  readonly keyConfig: KeyConfig;
  readonly keyConfigBytes: Uint8Array;
  stop(): Promise<void>;
}

/** KMS with the release's session and model keys, and the sealed model. */
export async function enclaveWorld(options: { pcr0?: string } = {}): Promise<EnclaveWorld> {
  const nsmStateDir = mkdtempSync(join(tmpdir(), 'pp-nsm-'));
  const kms = await kmsWorld({ nsmStateDir });
  const pcr0 = options.pcr0 ?? MEASUREMENT.pcr0;
  const sessionKeyArn = await kms.createKey({ spec: 'session', pcr0 });
  const modelKeyArn = await kms.createKey({ spec: 'model', pcr0 });
  const dataKey = randomBytes(32);
  const wrapped = await kms.client('modelOwner').send(new EncryptCommand({ KeyId: modelKeyArn, Plaintext: dataKey }));
  const spki = (await kms.client('publisher').send(new GetPublicKeyCommand({ KeyId: sessionKeyArn }))).PublicKey!;
  const keyConfigBytes = sessionKeyConfigBytes(spki);
  return {
    kms,
    nsmStateDir,
    keyConfig: decodeKeyConfig(keyConfigBytes),
    keyConfigBytes,
    config: {
      releaseId: '2026.11.27-local',
      sessionKeyArn,
      modelKeyArn,
      encryptedModelDataKey: wrapped.CiphertextBlob!,
      sealedModel: sealModel(dataKey, MODEL),
      modelSha256: MODEL_SHA256,
    },
    stop: () => kms.stop(),
  };
}

export interface RunningStack {
  readonly enclave: RunningEnclave;
  readonly parent: ParentProxy;
  readonly parentUrl: string;
  readonly logs: string[];
  stop(): Promise<void>;
}

export async function runInProcess(
  world: EnclaveWorld,
  options: { deadlines?: Deadlines; nsm?: Partial<NsmEmulatorOptions>; config?: Partial<EnclaveConfig>; kmsRatePerSecond?: number; maxInFlight?: number; engine?: StartEnclaveOptions['engine'] } = {},
): Promise<RunningStack> {
  const nsm = await world.kms.nsm({ measurement: MEASUREMENT, ...options.nsm });
  const enclave = await startEnclave({
    nsm,
    region: REGION,
    kmsEndpointOverride: world.kms.url,
    listen: { host: '127.0.0.1', port: 0 },
    deadlines: options.deadlines ?? 'off',
    ...(options.kmsRatePerSecond ? { kmsRatePerSecond: options.kmsRatePerSecond } : {}),
    ...(options.engine ? { engine: options.engine } : {}),
    ...(options.maxInFlight !== undefined ? { maxInFlight: options.maxInFlight } : {}),
    config: { ...world.config, ...options.config },
  });
  const logs: string[] = [];
  const parent = new ParentProxy({
    enclave: enclave.address,
    credentials: async () => ({ accessKeyId: IDENTITIES.worker.accessKeyId, secretAccessKey: IDENTITIES.worker.secretAccessKey }),
    logSink: (line) => logs.push(line),
  });
  const parentUrl = await parent.start();
  return {
    enclave,
    parent,
    parentUrl,
    logs,
    async stop() {
      await parent.stop();
      await enclave.close();
    },
  };
}

/** An enclave app and its parent proxy, wherever the enclave runs. */
export interface RunningWorker {
  readonly parentUrl: string;
  /** Log lines the parent relayed (the enclave's) and its own. */
  readonly logs: string[];
  /** Resolves once the enclave serves (it boots when the parent first connects). */
  readonly booted: Promise<void>;
  stop(): Promise<void>;
}

export interface EnclaveProcess extends RunningWorker {
  readonly child: ChildProcess;
  readonly parent: ParentProxy;
  /** Everything the process wrote to stdout and stderr. */
  output(): string;
}

const ROOT = join(__dirname, '..', '..');

/**
 * The enclave app as its own process (DESIGN.md §5: TCP on loopback stands in for vsock),
 * with the NSM emulator under the world's root, and the parent proxy in this process.
 * `execArgv` adds Node flags (e.g. heap-snapshot signals for the canary test).
 */
export async function runAsProcess(world: EnclaveWorld, options: { deadlines?: Deadlines; execArgv?: readonly string[]; cwd?: string } = {}): Promise<EnclaveProcess> {
  const dir = options.cwd ?? mkdtempSync(join(tmpdir(), 'pp-enclave-proc-'));
  const config: EnclaveProcessConfig = {
    nsmStateDir: world.nsmStateDir,
    region: REGION,
    kmsEndpoint: world.kms.url,
    parentRoleArn: `arn:aws:iam::${ACCOUNT}:role/pp-enclave-worker`,
    instanceId: 'i-0123456789abcdef0',
    deadlines: options.deadlines ?? 'off',
    enclave: {
      ...world.config,
      encryptedModelDataKey: Buffer.from(world.config.encryptedModelDataKey).toString('base64'),
      sealedModel: Buffer.from(world.config.sealedModel).toString('base64'),
    },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config), { mode: 0o600 });
  const child = spawn(process.execPath, ['--import', 'tsx', ...(options.execArgv ?? []), join(ROOT, 'local', 'enclave-process.ts'), join(dir, 'config.json')], {
    cwd: ROOT,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      const m = /ENCLAVE_LISTENING (\d+)/.exec(output);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the enclave process exited (${code}) before listening`)));
  });
  const logs: string[] = [];
  const parent = new ParentProxy({
    enclave: { host: '127.0.0.1', port },
    credentials: async () => ({ accessKeyId: IDENTITIES.worker.accessKeyId, secretAccessKey: IDENTITIES.worker.secretAccessKey }),
    logSink: (line) => logs.push(line),
  });
  const parentUrl = await parent.start();
  const booted = (async () => {
    // The parent connects on its first call; the enclave then boots and answers 200.
    for (let i = 0; i < 600; i++) {
      if (child.exitCode !== null) throw new Error(`the enclave process exited (${child.exitCode}) during boot`);
      if ((await fetch(`${parentUrl}/healthz`)).status === 200) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the enclave did not boot within 60 s');
  })();
  booted.catch(() => undefined);
  return {
    child,
    parent,
    parentUrl,
    logs,
    booted,
    output: () => output,
    async stop() {
      await parent.stop();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

export interface ClientCall {
  path?: string;
  method?: string;
  body?: unknown;
  rawBody?: Uint8Array;
  date?: string | null;
}

/** Builds a padded BHTTP request, encapsulated to the key. */
export async function encryptRequest(keyConfig: KeyConfig, call: ClientCall) {
  const headers = [{ name: 'content-type', value: 'application/json' }];
  if (call.date !== null) headers.push({ name: 'date', value: call.date ?? new Date().toUTCString() });
  const bhttp = encodeBhttpRequest({
    method: call.method ?? 'POST',
    scheme: 'https',
    authority: 'enclave',
    path: call.path ?? '/v1/summarize',
    headers,
    content: call.rawBody ?? new TextEncoder().encode(JSON.stringify(call.body ?? {})),
    trailers: [],
  });
  return encapsulateRequest(keyConfig, padToBucket(bhttp));
}

export async function post(parentUrl: string, body: Uint8Array, contentType = 'message/ohttp-req', method = 'POST') {
  const response = await fetch(`${parentUrl}/v1/ohttp`, { method, headers: { 'content-type': contentType }, ...(method === 'POST' ? { body } : {}) });
  return { status: response.status, body: new Uint8Array(await response.arrayBuffer()), headers: response.headers };
}

/** A whole exchange: encrypt, post through the parent, decrypt; the inner status and JSON. */
export async function exchange(stack: RunningStack, keyConfig: KeyConfig, call: ClientCall) {
  const { encapsulated, context } = await encryptRequest(keyConfig, call);
  const outer = await post(stack.parentUrl, encapsulated);
  if (outer.status !== 200) return { outer: outer.status, status: outer.status, json: JSON.parse(new TextDecoder().decode(outer.body)) };
  const inner = decodeBhttpResponse(await context.decapsulateResponse(outer.body));
  return { outer: 200, status: inner.status, json: JSON.parse(new TextDecoder().decode(inner.content)) };
}

export const SAMPLE_CHAT = {
  requester: 'Ana',
  messages: [
    { sender: 'Ana', time: '2026-11-27T09:00:00Z', text: 'Are we still doing the picnic on Saturday?' },
    { sender: 'Ben', time: '2026-11-27T09:01:00Z', text: 'Yes! The picnic is on. I will bring sandwiches.' },
    { sender: 'Cai', time: '2026-11-27T09:02:00Z', text: 'Great, picnic at the lake then. Can someone bring a blanket?' },
    { sender: 'Ben', time: '2026-11-27T09:03:00Z', text: "We decided on 11am at the lake, right?" },
  ],
};
