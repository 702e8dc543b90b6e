// The client SDK against the whole local path (real log, witnesses, relay, gateway,
// enclave, emulators), with the transport recorded.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { decodeKeyBundle, encodeKeyBundle, encodeUserData, generateNoteKey, sessionKeyConfigBytes, type LogEntry } from '../../protocol';
import { ChatPrivate, NotOptedIn, PrivateProcessingClient, TamperAlert, Unavailable, type ChatInput, type PrivateProcessingConfig } from '../../client';
import { MEASUREMENT, SAMPLE_CHAT } from '../helpers/enclave';
import { CLIENT_LOG_CONFIG, clientConfig, usePrivatePath, waitForTokens, type PrivatePath } from '../helpers/private-path';

jest.setTimeout(60_000);

const world = usePrivatePath();
let path: PrivatePath;
beforeAll(() => {
  path = world();
});

interface Sent {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** A transport that records every request and lets a test rewrite answers. */
function transport(rewrite?: (url: string, res: Response, sent: Sent) => Promise<Response | undefined> | Response | undefined) {
  const sent: Sent[] = [];
  const f = (async (input: string | URL, init?: RequestInit) => {
    const url = String(input);
    const s: Sent = {
      url,
      method: init?.method ?? 'GET',
      headers: Object.fromEntries(Object.entries((init?.headers as Record<string, string>) ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
      body: init?.body instanceof Uint8Array ? init.body : new Uint8Array(),
    };
    sent.push(s);
    const res = await fetch(input, init);
    return (await rewrite?.(url, res, s)) ?? res;
  }) as typeof fetch;
  return { fetch: f, sent };
}

function config(fetchImpl: typeof fetch, extra: Partial<PrivateProcessingConfig> = {}): PrivateProcessingConfig {
  return clientConfig(path, { wallet: { batchSize: 3, intervalMs: 3_600_000, jitterMs: 5, capacity: 6 }, fetch: fetchImpl, ...extra });
}

async function withTokens(client: PrivateProcessingClient): Promise<void> {
  await waitForTokens(client, 1);
  expect(client.tokensAvailable).toBeGreaterThan(0);
}

const CHAT: ChatInput = { id: 'chat-1', ...SAMPLE_CHAT };
const ohttpCalls = (sent: Sent[]) => sent.filter((s) => s.url.endsWith('/v1/ohttp'));
const clients: PrivateProcessingClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.optOut();
});
function make(fetchImpl: typeof fetch, extra: Partial<PrivateProcessingConfig> = {}): PrivateProcessingClient {
  const c = new PrivateProcessingClient(config(fetchImpl, extra));
  clients.push(c);
  return c;
}

describe('opt-in', () => {
  test('before optIn(): no network call at all, and every feature fails with NotOptedIn', async () => {
    const t = transport();
    const client = make(t.fetch);
    await expect(client.summarize(CHAT)).rejects.toBeInstanceOf(NotOptedIn);
    await expect(client.compose({ draft: 'see you', chat: CHAT })).rejects.toBeInstanceOf(NotOptedIn);
    await new Promise((r) => setTimeout(r, 50));
    expect(t.sent).toHaveLength(0);
  });

  test('after optIn(): verified, encrypted, answered; optOut() drops tokens, log and key', async () => {
    const t = transport();
    const client = make(t.fetch);
    client.optIn();
    await withTokens(client);
    const summary = await client.summarize(CHAT);
    expect(summary.summary).toMatch(/picnic/i);
    const sentBefore = t.sent.length;
    const composed = await client.compose({ draft: "  i can't   make it today ", tone: 'formal', chat: CHAT });
    // With the key verified and cached, a request is one call to the relay: no log sync, no bundle
    // fetch. (The wallet's own schedule may still be talking to the issuer meanwhile.)
    const toRelay = t.sent.slice(sentBefore).filter((s) => s.url.startsWith(path.relayUrl));
    expect(toRelay.map((s) => new URL(s.url).pathname)).toEqual(['/v1/ohttp']);
    expect(typeof composed.text).toBe('string');
    // Transport: one fresh token per request, the body hash header, never the same bytes twice.
    const calls = ohttpCalls(t.sent);
    expect(calls).toHaveLength(2);
    for (const c of calls) {
      expect(c.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(c.body).digest('hex'));
      expect(c.headers['private-token']).toMatch(/^[A-Za-z0-9_-]+$/);
    }
    expect(calls[0]!.headers['private-token']).not.toBe(calls[1]!.headers['private-token']);
    expect(Buffer.from(calls[0]!.body).equals(Buffer.from(calls[1]!.body))).toBe(false);
    expect(t.sent.some((s) => Buffer.from(s.body).toString('latin1').includes('picnic'))).toBe(false);

    client.optOut();
    expect(client.tokensAvailable).toBe(0);
    expect((client as unknown as { log?: unknown }).log).toBeUndefined();
    await expect(client.summarize(CHAT)).rejects.toBeInstanceOf(NotOptedIn);
  });
});

describe('Advanced Chat Privacy', () => {
  test('a chat marked private (by its own setting or setChatPrivacy) is refused before anything is encoded or sent', async () => {
    const t = transport();
    const client = make(t.fetch);
    client.optIn();
    await withTokens(client);
    const before = t.sent.length;
    await expect(client.summarize({ ...CHAT, advancedChatPrivacy: true })).rejects.toBeInstanceOf(ChatPrivate);
    await expect(client.compose({ draft: 'ok', chat: { ...CHAT, advancedChatPrivacy: true } })).rejects.toBeInstanceOf(ChatPrivate);
    client.setChatPrivacy(CHAT.id, { advanced: true });
    await expect(client.summarize(CHAT)).rejects.toBeInstanceOf(ChatPrivate);
    await expect(client.compose({ draft: 'ok', chat: CHAT })).rejects.toBeInstanceOf(ChatPrivate);
    expect(t.sent.length).toBe(before);
    client.setChatPrivacy(CHAT.id, { advanced: false });
    await expect(client.summarize(CHAT)).resolves.toBeDefined();
  });
});

describe('tamper alerts and retries', () => {
  test('a bundle whose key config differs from the log: TamperAlert at step bundle, event emitted, nothing sent', async () => {
    const t = transport(async (url, res) => {
      if (!url.endsWith('/v1/keys') || res.status !== 200) return undefined;
      const bundle = decodeKeyBundle(new Uint8Array(await res.arrayBuffer()));
      // A well-formed session key config, but of a key that is not the logged one.
      const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
      const keyConfig = sessionKeyConfigBytes(new Uint8Array(spki));
      return new Response(encodeKeyBundle({ ...bundle, keys: [{ ...bundle.keys[0]!, keyConfig }] }), { status: 200 });
    });
    const client = make(t.fetch);
    const alerts: TamperAlert[] = [];
    client.on('tamper', (a) => alerts.push(a));
    client.optIn();
    await withTokens(client);
    const err = await client.summarize(CHAT).catch((e: unknown) => e);
    expect([(err as Error).name, (err as TamperAlert).step, (err as TamperAlert).code, (err as Error).message]).toEqual(['TamperAlert', 'bundle', 'KEY_CONFIG_MISMATCH', expect.any(String)]);
    expect(alerts).toEqual([err]);
    expect(ohttpCalls(t.sent)).toHaveLength(0);
  });

  test('a log not signed by the pinned key: TamperAlert at step log', async () => {
    const t = transport();
    const client = make(t.fetch, { log: { ...CLIENT_LOG_CONFIG, logKey: generateNoteKey(CLIENT_LOG_CONFIG.origin).verifierKey } });
    client.optIn();
    const err = await client.summarize(CHAT).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TamperAlert);
    expect((err as TamperAlert).step).toBe('log');
    expect(ohttpCalls(t.sent)).toHaveLength(0);
  });

  test('the production trust anchor refuses the emulator: TamperAlert at step attestation', async () => {
    const t = transport();
    const client = make(t.fetch, { local: undefined });
    client.optIn();
    await withTokens(client);
    const err = await client.summarize(CHAT).catch((e: unknown) => e);
    expect([(err as TamperAlert).step, (err as TamperAlert).code]).toEqual(['attestation', 'CHAIN_UNTRUSTED']);
    expect(ohttpCalls(t.sent)).toHaveLength(0);
  });

  test('a stale binding in the bundle gets one fresh bundle before it is an alert', async () => {
    const nsm = await path.world.kms.nsm({ measurement: MEASUREMENT });
    let staleServed = 0;
    const t = transport(async (url, res) => {
      if (!url.endsWith('/v1/keys') || staleServed > 0) return undefined;
      staleServed++;
      const bundle = decodeKeyBundle(new Uint8Array(await res.arrayBuffer()));
      const key = path.entries.find((e) => e.type === 'session_key') as LogEntry & { type: 'session_key' };
      const sha = (b: Uint8Array | string) => new Uint8Array(createHash('sha256').update(b).digest());
      const tNow = Math.floor(Date.now() / 1000);
      const userData = encodeUserData({ keyConfigSha256: sha(key.keyConfig), kmsKeyArn: key.kmsKeyArn, keyPolicySha256: sha(key.keyPolicy), releaseId: key.releaseId, policyCheckedAt: tNow - 900, notAfter: tNow + 600 });
      return new Response(encodeKeyBundle({ ...bundle, keys: [{ ...bundle.keys[0]!, attestation: await nsm.attest({ userData }) }] }), { status: 200 });
    });
    const client = make(t.fetch);
    const alerts: TamperAlert[] = [];
    client.on('tamper', (a) => alerts.push(a));
    client.optIn();
    await withTokens(client);
    await expect(client.summarize(CHAT)).resolves.toBeDefined();
    expect(staleServed).toBe(1);
    expect(t.sent.filter((s) => s.url.endsWith('/v1/keys'))).toHaveLength(2);
    expect(alerts).toHaveLength(0);
  });

  test('a 503 from the path: one retry with a fresh token and a fresh encapsulation', async () => {
    let failed = false;
    const t = transport((url) => {
      if (url.endsWith('/v1/ohttp') && !failed) {
        failed = true;
        return new Response('{"error":"NO_HEALTHY_WORKER"}', { status: 503, headers: { 'content-type': 'application/json' } });
      }
      return undefined;
    });
    const client = make(t.fetch);
    client.optIn();
    await withTokens(client);
    await expect(client.summarize(CHAT)).resolves.toBeDefined();
    const calls = ohttpCalls(t.sent);
    expect(calls).toHaveLength(2);
    expect(calls[0]!.headers['private-token']).not.toBe(calls[1]!.headers['private-token']);
    expect(Buffer.from(calls[0]!.body).equals(Buffer.from(calls[1]!.body))).toBe(false);
  });

  test('an unreachable relay is Unavailable, not tampering', async () => {
    const client = make((async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch);
    client.optIn();
    const err = await client.summarize(CHAT).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Unavailable);
    expect((err as Unavailable).code).toBe('NETWORK');
  });

  test('a pinned relay that cannot be reached: the next one carries the request and stays first', async () => {
    const { fetch: f, sent } = transport();
    const dead = 'http://127.0.0.1:1';
    const client = make(f, { relayUrls: [dead, path.relayUrl] });
    client.optIn();
    await withTokens(client);
    expect((await client.summarize(CHAT)).summary).toMatch(/picnic/i);
    const relayed = sent.filter((s) => !s.url.startsWith(path.issuerUrl));
    // Only the first call tried the dead relay; everything after went straight to the live one.
    expect(relayed.filter((s) => s.url.startsWith(dead))).toHaveLength(1);
    expect(relayed[0]!.url.startsWith(dead)).toBe(true);
    expect(relayed.slice(1).every((s) => s.url.startsWith(path.relayUrl))).toBe(true);
    expect(ohttpCalls(sent)).toHaveLength(1);
  });
});
