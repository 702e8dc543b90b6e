// Nothing of a chat outlives its request: the enclave runs as its own process, serves a
// batch of requests whose chat text carries a canary, and then its heap (a snapshot,
// which V8 takes after a full garbage collection) and every log line — the enclave's,
// relayed by the parent, the parent's own, and the process's stdout and stderr — are
// searched for the canary.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParentProxy } from '../../enclave-app/parent/proxy';
import { IDENTITIES, REGION } from '../helpers/kms';
import { SAMPLE_CHAT, enclaveWorld, exchange, type EnclaveWorld, type RunningStack } from '../helpers/enclave';
import type { EnclaveProcessConfig } from '../../local/enclave-process';

const ROOT = join(__dirname, '..', '..');
const CANARY = 'CANARY-chat-7f3a9c41-do-not-keep';

let world: EnclaveWorld;
let child: ChildProcess;
let parent: ParentProxy;
let cwd: string;
const logs: string[] = [];
let output = '';

beforeAll(async () => {
  world = await enclaveWorld();
  cwd = mkdtempSync(join(tmpdir(), 'pp-enclave-proc-'));
  const config: EnclaveProcessConfig = {
    nsmStateDir: world.nsmStateDir,
    region: REGION,
    kmsEndpoint: world.kms.url,
    parentRoleArn: 'arn:aws:iam::111122223333:role/pp-enclave-worker',
    instanceId: 'i-0123456789abcdef0',
    deadlines: 'off',
    enclave: {
      ...world.config,
      encryptedModelDataKey: Buffer.from(world.config.encryptedModelDataKey).toString('base64'),
      sealedModel: Buffer.from(world.config.sealedModel).toString('base64'),
    },
  };
  writeFileSync(join(cwd, 'config.json'), JSON.stringify(config));
  child = spawn(process.execPath, ['--import', 'tsx', '--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${cwd}`, join(ROOT, 'local', 'enclave-process.ts'), join(cwd, 'config.json')], {
    cwd: ROOT,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      const m = /ENCLAVE_LISTENING (\d+)/.exec(output);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`enclave exited ${code}: ${output}`)));
  });
  parent = new ParentProxy({
    enclave: { host: '127.0.0.1', port },
    credentials: async () => ({ accessKeyId: IDENTITIES.worker.accessKeyId, secretAccessKey: IDENTITIES.worker.secretAccessKey }),
    logSink: (line) => logs.push(line),
  });
  const parentUrl = await parent.start();
  // Wait for the boot to finish.
  for (let i = 0; i < 200; i++) {
    if ((await fetch(`${parentUrl}/healthz`)).status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  (globalThis as { parentUrl?: string }).parentUrl = parentUrl;
}, 90_000);

afterAll(async () => {
  await parent?.stop();
  child?.kill('SIGKILL');
  await world?.stop();
});

test('a chat-text canary is in no log line and not in the enclave’s heap after a batch of requests', async () => {
  const stack = { parentUrl: (globalThis as { parentUrl?: string }).parentUrl! } as RunningStack;
  const chat = {
    ...SAMPLE_CHAT,
    messages: [...SAMPLE_CHAT.messages, { sender: 'Cai', time: '2026-11-27T09:05:00Z', text: `I will send the map, ${CANARY}` }],
  };
  for (let i = 0; i < 10; i++) {
    const s = await exchange(stack, world.keyConfig, { path: '/v1/summarize', body: { v: 1, chat } });
    expect(s.status).toBe(200);
    // The canary does reach the client, inside the encrypted answer.
    expect(JSON.stringify(s.json)).toContain(CANARY);
    const c = await exchange(stack, world.keyConfig, { path: '/v1/compose', body: { v: 1, draft: `reply ${CANARY}`, tone: 'concise', lastMessage: `${CANARY}?` } });
    expect(c.status).toBe(200);
  }
  // A bad request that carries the canary too.
  expect((await exchange(stack, world.keyConfig, { rawBody: new TextEncoder().encode(`{"v":1,"chat":"${CANARY}"`) })).json.error).toBe('BAD_JSON');

  const before = new Set(readdirSync(cwd));
  child.kill('SIGUSR2');
  let snapshot: string | undefined;
  for (let i = 0; i < 600 && !snapshot; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const file = readdirSync(cwd).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (file) {
      const text = readFileSync(join(cwd, file), 'utf8');
      // The file is complete once it parses (V8 writes it in one go, but not atomically).
      if (text.trimEnd().endsWith('}')) snapshot = text;
    }
  }
  expect(snapshot).toBeDefined();
  // The search works on this snapshot: what the enclave does keep is there.
  expect(snapshot).toContain(world.config.releaseId);
  expect(snapshot!.includes(CANARY)).toBe(false);
  expect(snapshot!.includes(CANARY.slice(0, 20))).toBe(false);

  expect(logs.length).toBeGreaterThan(20);
  expect(logs.filter((l) => l.includes(CANARY))).toEqual([]);
  expect(output.includes(CANARY)).toBe(false);
  expect(parent.logger.dropped).toBe(0);
}, 120_000);
