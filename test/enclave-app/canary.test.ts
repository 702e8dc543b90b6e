// Nothing of a chat outlives its request: the enclave runs as its own process, serves a
// batch of requests whose chat text carries a canary, and then its heap (a snapshot,
// which V8 takes after a full garbage collection) and every log line — the enclave's,
// relayed by the parent, the parent's own, and the process's stdout and stderr — are
// searched for the canary.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLE_CHAT, enclaveWorld, exchange, runAsProcess, type EnclaveProcess, type EnclaveWorld, type RunningStack } from '../helpers/enclave';

const CANARY = 'CANARY-chat-7f3a9c41-do-not-keep';

let world: EnclaveWorld;
let enclave: EnclaveProcess;
let cwd: string;

beforeAll(async () => {
  world = await enclaveWorld();
  cwd = mkdtempSync(join(tmpdir(), 'pp-enclave-proc-'));
  enclave = await runAsProcess(world, { cwd, execArgv: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${cwd}`] });
  await enclave.booted;
}, 90_000);

afterAll(async () => {
  await enclave?.stop();
  await world?.stop();
});

test('a chat-text canary is in no log line and not in the enclave’s heap after a batch of requests', async () => {
  const stack = { parentUrl: enclave.parentUrl } as RunningStack;
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
  enclave.child.kill('SIGUSR2');
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

  expect(enclave.logs.length).toBeGreaterThan(20);
  expect(enclave.logs.filter((l) => l.includes(CANARY))).toEqual([]);
  expect(enclave.output().includes(CANARY)).toBe(false);
  expect(enclave.parent.logger.dropped).toBe(0);
}, 120_000);
