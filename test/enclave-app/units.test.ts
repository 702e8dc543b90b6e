import { createLogger } from '../../protocol';
import { TokenBucket } from '../../enclave-app/server/admission';
import { DEFAULT_DEADLINES_MS, holdUntilDeadline } from '../../enclave-app/server/deadlines';
import { ReplayCache } from '../../enclave-app/server/replay';
import { FrameReader, encodeFrame, MAX_FRAME } from '../../enclave-app/transport/frames';
import { imdsCredentials } from '../../enclave-app/parent/imds';
import { SAMPLE_CHAT, enclaveWorld, exchange, runInProcess } from '../helpers/enclave';

describe('the allowlisted logger', () => {
  test('writes only allowlisted fields of the allowed forms; drops and counts the rest', () => {
    const lines: string[] = [];
    const log = createLogger('enclave', (l) => lines.push(l), () => 1000);
    log.log({ event: 'request', status: 200, code: 'OK', bucket: 1024, ms: 12.3456 });
    log.log({ event: 'request', code: 'has spaces in it' });
    log.log({ event: 'request', text: 'user content' } as never);
    log.log({ event: 'Not An Event' });
    log.log({ event: 'request', releaseId: 'Some Release!' });
    log.log({ event: 'request', status: Number.NaN });
    expect(lines).toEqual(['{"t":1000,"component":"enclave","event":"request","status":200,"bucket":1024,"ms":12.346,"code":"OK"}']);
    expect(log.dropped).toBe(5);
  });
});

describe('deadlines', () => {
  test('a response waits until its bucket’s deadline (fake timers, no wall clock)', async () => {
    jest.useFakeTimers();
    try {
      // Received at 0, handled by 500: the answer leaves at 2000, not before.
      let done = false;
      const waiting = holdUntilDeadline({ 1024: 2000 }, 1024, 0, () => 500).then((late) => {
        done = true;
        return late;
      });
      await jest.advanceTimersByTimeAsync(1499);
      expect(done).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      expect(await waiting).toBe(false);
      // Already past due: no wait, reported late.
      expect(await holdUntilDeadline({ 1024: 2000 }, 1024, 0, () => 2500)).toBe(true);
      expect(await holdUntilDeadline('off', 1024, 0, () => 0)).toBe(false);
    } finally {
      jest.useRealTimers();
    }
  });

  test('the published deadlines grow with the bucket and the largest is under 20 s', () => {
    const values = Object.entries(DEFAULT_DEADLINES_MS).sort(([a], [b]) => Number(a) - Number(b)).map(([, v]) => v);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(Math.max(...values)).toBeLessThan(20_000);
  });
});

describe('admission and replay', () => {
  test('the token bucket admits its rate and burst, then refuses with a retry time', () => {
    const bucket = new TokenBucket(2, 2, 0);
    expect([bucket.tryTake(0), bucket.tryTake(0), bucket.tryTake(0)]).toEqual([true, true, false]);
    expect(bucket.retryAfter()).toBe(1);
    expect(bucket.tryTake(500)).toBe(true);
  });

  test('the replay cache remembers for its window, holds digests only, and is bounded', () => {
    const cache = new ReplayCache(1000, 2);
    const a = new Uint8Array([1]);
    expect(cache.has(a, 0)).toBe(false);
    expect(cache.add(a, 0)).toBe(true);
    expect(cache.has(a, 999)).toBe(true);
    expect(cache.has(a, 1000)).toBe(false);
    cache.add(new Uint8Array([2]), 1000);
    cache.add(new Uint8Array([3]), 1000);
    expect(cache.add(new Uint8Array([4]), 1000)).toBe(false);
  });

  test('through the parent: past the KMS rate, requests are refused with 503 and Retry-After before any KMS call', async () => {
    const world = await enclaveWorld();
    const stack = await runInProcess(world, { kmsRatePerSecond: 1 });
    try {
      await stack.enclave.booted;
      // Sent together, so both arrive within the bucket's one second whatever the feature costs.
      const both = await Promise.all([0, 1].map(() => exchange(stack, world.keyConfig, { body: { v: 1, chat: SAMPLE_CHAT } })));
      const outcomes = both.map((r) => [r.outer, r.json.error ?? 'OK']).sort();
      expect(outcomes).toEqual([[200, 'OK'], [503, 'OVERLOADED']]);
    } finally {
      await stack.stop();
      await world.stop();
    }
  }, 30_000);

  test('past the in-flight limit, requests are refused with 503 OVERLOADED, and the slot frees once the answer is computed', async () => {
    const world = await enclaveWorld();
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    let calls = 0;
    // An engine that holds its first answer until the test lets it go.
    const engine = async () => ({
      summarize: async () => {
        calls++;
        if (calls === 1) await held;
        return { summary: 's', topics: [], actionItems: [], decisions: [], questions: [] };
      },
      compose: async () => ({ text: 't', suggestions: [] }),
    });
    const stack = await runInProcess(world, { maxInFlight: 1, engine });
    try {
      await stack.enclave.booted;
      const first = exchange(stack, world.keyConfig, { body: { v: 1, chat: SAMPLE_CHAT } });
      while (calls === 0) await new Promise((r) => setTimeout(r, 5));
      const second = await exchange(stack, world.keyConfig, { body: { v: 1, chat: SAMPLE_CHAT } });
      expect([second.outer, second.json.error]).toEqual([503, 'OVERLOADED']);
      release();
      expect((await first).status).toBe(200);
      const third = await exchange(stack, world.keyConfig, { body: { v: 1, chat: SAMPLE_CHAT } });
      expect(third.status).toBe(200);
    } finally {
      release();
      await stack.stop();
      await world.stop();
    }
  }, 30_000);
});

describe('frames', () => {
  test('messages split and reassemble across chunks; oversize frames are refused', () => {
    const reader = new FrameReader();
    const bytes = Buffer.concat([encodeFrame({ t: 'a', id: 1 }), encodeFrame({ t: 'b', body: new Uint8Array(5000) })]);
    const out = [...reader.push(bytes.subarray(0, 7)), ...reader.push(bytes.subarray(7, 3000)), ...reader.push(bytes.subarray(3000))];
    expect(out.map((m) => (m as Map<string, unknown>).get('t'))).toEqual(['a', 'b']);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(MAX_FRAME + 1);
    expect(() => new FrameReader().push(header)).toThrow();
  });
});

describe('IMDSv2 credentials', () => {
  test('token, role, credentials; IMDSv1-style answers are refused', async () => {
    const calls: string[] = [];
    const fake = (async (url: string, init?: RequestInit) => {
      calls.push(`${init?.method ?? 'GET'} ${url.replace('http://imds', '')} ${JSON.stringify(init?.headers ?? {})}`);
      if (url.endsWith('/api/token')) return new Response('tok');
      if (url.endsWith('/security-credentials/')) return new Response('pp-enclave-worker\n');
      return new Response(JSON.stringify({ Code: 'Success', AccessKeyId: 'ASIAX', SecretAccessKey: 's', Token: 't', Expiration: '2026-11-27T12:00:00Z' }));
    }) as typeof fetch;
    const creds = await imdsCredentials({ endpoint: 'http://imds', fetch: fake })();
    expect(creds).toEqual({ accessKeyId: 'ASIAX', secretAccessKey: 's', sessionToken: 't', expiration: Date.parse('2026-11-27T12:00:00Z') / 1000 });
    expect(calls[0]).toMatch(/^PUT \/latest\/api\/token .*ttl-seconds/);
    expect(calls.slice(1).every((c) => c.includes('"x-aws-ec2-metadata-token":"tok"'))).toBe(true);
    const refusing = (async () => new Response('no', { status: 401 })) as typeof fetch;
    await expect(imdsCredentials({ endpoint: 'http://imds', fetch: refusing })()).rejects.toThrow();
  });
});
