// Gateway decisions with fake workers: routing, retries, commit or release, bundle cache.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, decodeKeyBundle, formatAuthorization, type LogEntry } from '../../protocol';
import { Gateway, liveSessionKeys } from '../../lambdas/gateway/gateway';
import { WorkerRegistry } from '../../lambdas/gateway/workers';
import { MemorySpendStore } from '../../lambdas/common/spend-store';
import { fetchToken, ISSUER_NAME, issuerKey, issuerWorld, mintToken, NOW, ORIGIN_NAME } from '../helpers/privacy-pass';
import { releaseEntry, sessionKeyEntry } from '../helpers/tlog';

type Behaviour = { health?: number; keyId?: number; releaseId?: string; answer: () => { status: number; type: string; body: Uint8Array | string; delayMs?: number } };

interface FakeWorker {
  url: string;
  hits: number;
  behaviour: Behaviour;
  server: Server;
}

async function fakeWorker(behaviour: Behaviour): Promise<FakeWorker> {
  const w = { hits: 0, behaviour } as FakeWorker;
  w.server = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(w.behaviour.health ?? 200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ ready: (w.behaviour.health ?? 200) === 200, releaseId: w.behaviour.releaseId ?? 'r1', keyId: w.behaviour.keyId ?? KEY_ID }));
    }
    if (req.url === '/v1/attestation') {
      res.writeHead(200, { 'content-type': 'application/cbor' });
      return res.end(Buffer.alloc(2000, w.url.length));
    }
    req.resume();
    req.on('end', () => {
      w.hits++;
      const a = w.behaviour.answer();
      setTimeout(() => {
        res.writeHead(a.status, { 'content-type': a.type });
        res.end(a.body);
      }, a.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => w.server.listen(0, '127.0.0.1', r));
  w.url = `http://127.0.0.1:${(w.server.address() as AddressInfo).port}`;
  return w;
}

const ENTRY = sessionKeyEntry('r1');
const KEY_ID = ENTRY.keyConfig[0]!;
const OK = () => ({ status: 200, type: 'message/ohttp-res', body: new Uint8Array(1056) });
const refuse = (status: number, error: string) => () => ({ status, type: 'application/json', body: JSON.stringify({ error }) });

const workers: FakeWorker[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) {
    w.server.closeAllConnections();
    await new Promise((r) => w.server.close(r));
  }
});

async function setup(behaviours: Behaviour[], options: { forwardTimeoutMs?: number; clock?: { ms: number } } = {}) {
  for (const b of behaviours) workers.push(await fakeWorker(b));
  const record = await issuerKey();
  const entries: LogEntry[] = [
    releaseEntry('r1', NOW - 86_400),
    { ...ENTRY, notBefore: NOW - 3600, notAfter: NOW + 86_400 },
    { type: 'issuer_key', tokenKey: record.tokenKey, tokenKeyId: record.tokenKeyId, notBefore: record.notBefore, notAfter: record.notAfter },
  ];
  const clock = options.clock ?? { ms: NOW * 1000 };
  const registry = new WorkerRegistry({ discover: () => workers.map((w) => w.url) });
  await registry.refresh();
  const spends = new MemorySpendStore();
  const lines: string[] = [];
  const gateway = new Gateway({
    issuerName: ISSUER_NAME,
    originName: ORIGIN_NAME,
    log: () => ({ entries, checkpoint: null }),
    spends,
    workers: registry,
    logger: createLogger('gateway', (l) => lines.push(l)),
    now: () => clock.ms,
    ...(options.forwardTimeoutMs ? { forwardTimeoutMs: options.forwardTimeoutMs } : {}),
  });
  const { issuer } = await issuerWorld();
  // The first token of each setup goes through the issuer; the rest are minted directly.
  let issued = false;
  const token = async () => (issued ? mintToken(record) : ((issued = true), (await fetchToken(issuer, record.tokenKey)).token));
  const body = Uint8Array.of(KEY_ID, 0x00, 0x10, 0x00, 0x01, 0x00, 0x01, ...new Uint8Array(65 + 1024 + 16));
  const post = async (t: Uint8Array) => gateway.handle({ method: 'POST', path: '/v1/ohttp', headers: { 'content-type': 'message/ohttp-req', authorization: formatAuthorization(t) }, body });
  return { gateway, registry, spends, token, post, lines, clock };
}

const codeOf = (r: { body: Uint8Array }) => (JSON.parse(new TextDecoder().decode(r.body)) as { error: string }).error;

describe('routing', () => {
  test('uniformly random among healthy workers of the key id; unhealthy and other keys get nothing', async () => {
    const { post, token } = await setup([{ answer: OK }, { answer: OK }, { answer: OK, health: 503 }, { answer: OK, keyId: (KEY_ID + 1) % 256 }]);
    const n = 120;
    for (let i = 0; i < n; i++) expect((await post(await token())).status).toBe(200);
    const [a, b, down, other] = workers.map((w) => w.hits);
    expect(down).toBe(0);
    expect(other).toBe(0);
    expect(a! + b!).toBe(n);
    // Binomial(120, ½): outside 35..85 has probability < 1e-7.
    expect(a).toBeGreaterThan(35);
    expect(b).toBeGreaterThan(35);
  }, 60_000);
});

describe('spending around worker outcomes', () => {
  test('a worker answer (even an error the enclave sealed or refused) commits the token', async () => {
    const { post, token } = await setup([{ answer: refuse(400, 'DECRYPT_FAILED') }]);
    const t = await token();
    const r = await post(t);
    expect([r.status, codeOf(r)]).toEqual([400, 'DECRYPT_FAILED']);
    expect(codeOf(await post(t))).toBe('SPENT');
  });

  test('a worker that did not process it (NOT_SERVING): the gateway tries another, and commits there', async () => {
    const { post, token } = await setup([{ answer: refuse(503, 'NOT_SERVING') }, { answer: OK }]);
    for (let i = 0; i < 6; i++) expect((await post(await token())).status).toBe(200);
  });

  test('every worker refusing unprocessed: 503 NO_HEALTHY_WORKER with Retry-After and the token released', async () => {
    const { post, token, registry } = await setup([{ answer: refuse(503, 'OVERLOADED') }, { answer: refuse(503, 'KMS_UNAVAILABLE') }]);
    const t = await token();
    const r = await post(t);
    expect([r.status, codeOf(r), r.headers['retry-after']]).toEqual([503, 'NO_HEALTHY_WORKER', '5']);
    for (const w of workers) w.behaviour.answer = OK;
    await registry.refresh();
    expect((await post(t)).status).toBe(200);
  });

  test('a worker that times out may still be working: 504 and the token stays spent', async () => {
    const { post, token } = await setup([{ answer: () => ({ ...OK(), delayMs: 400 }) }], { forwardTimeoutMs: 100 });
    const t = await token();
    const r = await post(t);
    expect([r.status, codeOf(r)]).toEqual([504, 'WORKER_TIMEOUT']);
    expect(codeOf(await post(t))).toBe('SPENT');
  });

  test('a worker answer that is not an OHTTP response is 502 and not passed on', async () => {
    const { post, token } = await setup([{ answer: () => ({ status: 200, type: 'text/html', body: '<html>' }) }]);
    const r = await post(await token());
    expect([r.status, codeOf(r)]).toEqual([502, 'BAD_WORKER_ANSWER']);
  });

  test('a bad body never burns a token; a bad token never reaches a worker', async () => {
    const { gateway, post, token, spends } = await setup([{ answer: OK }]);
    const t = await token();
    const bad = await gateway.handle({ method: 'POST', path: '/v1/ohttp', headers: { 'content-type': 'message/ohttp-req', authorization: formatAuthorization(t) }, body: Uint8Array.of(KEY_ID, 0, 0x10) });
    expect([bad.status, codeOf(bad)]).toEqual([400, 'TRUNCATED']);
    expect(spends.size).toBe(0);
    const forged = Uint8Array.from(t, (b, i) => (i === 200 ? b ^ 1 : b));
    const r = await post(forged);
    expect([r.status, codeOf(r)]).toEqual([401, 'FORGED']);
    expect(r.headers['www-authenticate']).toMatch(/^PrivateToken challenge="[^"]+", token-key="[^"]+"$/);
    expect(workers[0]!.hits).toBe(0);
    expect((await post(t)).status).toBe(200);
  });
});

describe('key bundle', () => {
  test('the same bytes within the cache window, rebuilt after it, never cached longer than 120 s', async () => {
    const clock = { ms: NOW * 1000 };
    const { gateway } = await setup([{ answer: OK }], { clock });
    const get = () => gateway.handle({ method: 'GET', path: '/v1/keys', headers: {}, body: new Uint8Array() });
    const first = await get();
    expect(first.headers['cache-control']).toBe('public, max-age=60');
    clock.ms += 30_000;
    const second = await get();
    expect(Buffer.from(second.body)).toEqual(Buffer.from(first.body));
    expect(second.headers['cache-control']).toBe('public, max-age=30');
    clock.ms += 31_000;
    const third = await get();
    expect(decodeKeyBundle(third.body).generatedAt).toBe(NOW + 61);
    expect(() => new Gateway({ issuerName: 'i', originName: 'o', log: () => ({ entries: [], checkpoint: null }), spends: new MemorySpendStore(), workers: new WorkerRegistry({ discover: () => [] }), logger: createLogger('gateway', () => undefined), bundleTtlSeconds: 121 })).toThrow('1..120');
  });

  test('no healthy worker for any live key: 503', async () => {
    const { gateway } = await setup([{ answer: OK, health: 503 }]);
    const r = await gateway.handle({ method: 'GET', path: '/v1/keys', headers: {}, body: new Uint8Array() });
    expect([r.status, codeOf(r)]).toEqual([503, 'NO_HEALTHY_WORKER']);
  });

  test('live session keys: in window, release and key not revoked, newest per key id', () => {
    const a = { ...sessionKeyEntry('r1'), notBefore: 100, notAfter: 200 };
    const b = { ...sessionKeyEntry('r2'), notBefore: 150, notAfter: 300 };
    expect(liveSessionKeys([a, b], 160).map((k) => k.releaseId)).toEqual(['r2']); // same key config, newer wins
    expect(liveSessionKeys([a, b], 250).map((k) => k.releaseId)).toEqual(['r2']);
    expect(liveSessionKeys([a, b, { type: 'revocation', target: { type: 'release', releaseId: 'r2' }, reason: 'x', effectiveAt: 155 }], 160).map((k) => k.releaseId)).toEqual(['r1']);
    expect(liveSessionKeys([a, { type: 'revocation', target: { type: 'session_key', kmsKeyArn: a.kmsKeyArn }, reason: 'x', effectiveAt: 120 }], 130)).toEqual([]);
  });
});

describe('worker registry', () => {
  test('a worker whose health answer is malformed, not ready or unreachable is not healthy', async () => {
    const good = await fakeWorker({ answer: OK });
    const notReady = await fakeWorker({ answer: OK, health: 503 });
    const badKey = await fakeWorker({ answer: OK, keyId: 999 });
    workers.push(good, notReady, badKey);
    const registry = new WorkerRegistry({ discover: () => [good.url, notReady.url, badKey.url, 'http://127.0.0.1:1'] });
    expect(await registry.refresh()).toBe(1);
    expect(registry.healthy().map((w) => w.url)).toEqual([good.url]);
  });
});
