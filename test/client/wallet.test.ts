// The token wallet's schedule and rules, against the real issuer handler in process.
import { TokenWallet, type WalletOptions } from '../../client/wallet';
import { generateIssuerKey, type IssuerKeyRecord } from '../../lambdas/issuer/keys';
import type { LogEntry } from '../../protocol';
import { accountToken, ISSUER_NAME, issuerKey, issuerWorld, NOW, ORIGIN_NAME } from '../helpers/privacy-pass';

type IssuerKeyEntry = LogEntry & { type: 'issuer_key' };
const entryOf = (r: IssuerKeyRecord): IssuerKeyEntry => ({ type: 'issuer_key', tokenKey: r.tokenKey, tokenKeyId: r.tokenKeyId, notBefore: r.notBefore, notAfter: r.notAfter });

/** A timer the test drives: records requested delays, runs callbacks on demand. */
function manualTimer() {
  const armed: { run: () => void; delayMs: number; cleared: boolean }[] = [];
  return {
    armed,
    timer: {
      set(run: () => void, delayMs: number) {
        const h = { run, delayMs, cleared: false };
        armed.push(h);
        return h;
      },
      clear(h: unknown) {
        (h as { cleared: boolean }).cleared = true;
      },
    },
    /** Fires the latest timer and waits for its batch and the re-arm. */
    async fire() {
      const h = armed.at(-1)!;
      const count = armed.length;
      h.run();
      for (let i = 0; i < 400 && armed.length === count && !h.cleared; i++) await new Promise((r) => setTimeout(r, 5));
    },
  };
}

async function walletWorld(options: { records?: IssuerKeyRecord[]; current?: () => IssuerKeyEntry | undefined; previous?: () => IssuerKeyEntry | undefined } = {}) {
  const records = options.records ?? [await issuerKey()];
  const { issuer } = await issuerWorld({ records, tokensPerDay: 1000 });
  const requests: { url: string; body: Uint8Array }[] = [];
  const fetchImpl = (async (url: string, init: RequestInit) => {
    const body = init.body as Uint8Array;
    requests.push({ url, body });
    const headers = Object.fromEntries(Object.entries(init.headers as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
    const r = await issuer.handle({ method: init.method!, path: new URL(url).pathname, headers, body });
    return new Response(r.body, { status: r.status, headers: r.headers });
  }) as unknown as typeof fetch;
  const m = manualTimer();
  let seed = 0;
  const randoms = [0.25, 0.9, 0.1, 0.5, 0.75];
  const current = options.current ?? (() => entryOf(records[0]!));
  const wallet = new TokenWallet({
    issuerUrl: `https://${ISSUER_NAME}/v1/token-request`,
    issuerName: ISSUER_NAME,
    originName: ORIGIN_NAME,
    credential: () => accountToken('alice', { iat: NOW }),
    issuerKeys: async () => ({ ...(current() ? { current: current()! } : {}), ...(options.previous?.() ? { previous: options.previous()! } : {}) }),
    fetch: fetchImpl,
    schedule: { batchSize: 4, intervalMs: 6 * 3600_000, jitterMs: 3600_000, capacity: 8 },
    random: () => randoms[seed++ % randoms.length]!,
    timer: m.timer,
  } satisfies WalletOptions);
  return { wallet, requests, m };
}

test('batches of a fixed size on a fixed, jittered schedule: first within the jitter, then interval ± jitter', async () => {
  const { wallet, requests, m } = await walletWorld();
  expect(m.armed).toHaveLength(0);
  wallet.start();
  expect(m.armed.map((a) => a.delayMs)).toEqual([0.25 * 3600_000]);
  expect(requests).toHaveLength(0);
  await m.fire();
  expect(wallet.size).toBe(4);
  expect(requests).toHaveLength(4);
  // Next wait: interval + (2 × 0.9 − 1) × jitter (the draws are 0.25 for the first wait, then 0.9).
  expect(m.armed[1]!.delayMs).toBe(6 * 3600_000 + (2 * 0.9 - 1) * 3600_000);
  await m.fire();
  expect(wallet.size).toBe(8);
  await m.fire(); // full: the batch is skipped, the schedule goes on
  expect(wallet.size).toBe(8);
  expect(requests).toHaveLength(8);
  expect(m.armed).toHaveLength(4);
});

test('use never triggers a fetch, and a token is never handed out twice', async () => {
  const { wallet, requests, m } = await walletWorld();
  wallet.start();
  await m.fire();
  const taken = new Set<string>();
  for (let i = 0; i < 4; i++) taken.add(Buffer.from((await wallet.take())!).toString('hex'));
  expect(taken.size).toBe(4);
  expect(await wallet.take()).toBeUndefined();
  expect(requests).toHaveLength(4);
  expect(m.armed).toHaveLength(2); // only the schedule's own timer
});

test('only under the current logged key; tokens of keys no longer current or previous are dropped', async () => {
  const first = await issuerKey();
  const second = await generateIssuerKey({ notBefore: NOW - 30, signUntil: NOW + 86_400, notAfter: NOW + 2 * 86_400 });
  let current: IssuerKeyEntry | undefined;
  let previous: IssuerKeyEntry | undefined;
  const { wallet, m, requests } = await walletWorld({ records: [first], current: () => current, previous: () => previous });
  wallet.start();
  await m.fire(); // no current key in the log: nothing fetched
  expect(requests).toHaveLength(0);
  current = entryOf(first);
  await m.fire();
  expect(wallet.size).toBe(4);
  // Rotation: the first key becomes previous; its tokens are still usable.
  current = entryOf(second);
  previous = entryOf(first);
  expect(await wallet.take()).toBeDefined();
  // Later it is neither: its tokens go.
  previous = undefined;
  expect(await wallet.take()).toBeUndefined();
  expect(wallet.size).toBe(0);
});

test('stop() drops every token and the schedule', async () => {
  const { wallet, m } = await walletWorld();
  wallet.start();
  await m.fire();
  expect(wallet.size).toBe(4);
  wallet.stop();
  expect(wallet.size).toBe(0);
  expect(m.armed.at(-1)!.cleared).toBe(true);
  expect(() => new TokenWallet({ ...({} as WalletOptions), schedule: { jitterMs: 7 * 3600_000 } })).toThrow('invalid wallet schedule');
});
