// The enclave server driven through the parent proxy with real sockets: the whole
// boot, requests from a test client, re-attestation with the key changed underneath,
// replays, stale dates, every class of bad input.
import {
  ProtocolError,
  ROLE_NAMES,
  attestedKeyPolicy,
  decodeBhttpResponse,
  checkUserData,
  keyPolicyJson,
  verifyAttestation,
} from '../../protocol';
import { ACCOUNT, REGION } from '../helpers/kms';
import { MEASUREMENT, SAMPLE_CHAT, enclaveWorld, encryptRequest, exchange, post, runInProcess, type EnclaveWorld, type RunningStack } from '../helpers/enclave';
import { flipped } from '../helpers/fixtures';

let world: EnclaveWorld;
let stack: RunningStack;

beforeAll(async () => {
  world = await enclaveWorld();
  stack = await runInProcess(world);
  await stack.enclave.booted;
}, 60_000);

afterAll(async () => {
  await stack.stop();
  await world.stop();
});

describe('boot', () => {
  test('the parent reports ready with the release and key id', async () => {
    const health = await fetch(`${stack.parentUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ready: true, releaseId: world.config.releaseId, keyId: world.keyConfig.keyId });
  });

  test('its attestation verifies for the released measurement and binds the exact key, policy and release', async () => {
    const response = await fetch(`${stack.parentUrl}/v1/attestation`);
    const document = new Uint8Array(await response.arrayBuffer());
    const verified = await verifyAttestation(document, { releases: [{ 0: MEASUREMENT.pcr0 }], trustAnchorPem: world.kms.rootPem });
    const policy = keyPolicyJson(attestedKeyPolicy({ pcr0: MEASUREMENT.pcr0, account: ACCOUNT, region: REGION, roles: ROLE_NAMES }));
    checkUserData(verified.userData, { keyConfig: world.keyConfigBytes, kmsKeyArn: world.config.sessionKeyArn, keyPolicy: policy, releaseId: world.config.releaseId });
  });

  test('the enclave logged that it serves, through the parent, with allowlisted fields only', () => {
    const serving = stack.logs.map((l) => JSON.parse(l)).find((r) => r.event === 'serving');
    expect(serving).toMatchObject({ component: 'enclave', releaseId: world.config.releaseId, keyId: world.keyConfig.keyId });
    for (const line of stack.logs) expect(Object.keys(JSON.parse(line)).every((k) => ['t', 'component', 'event', 'code', 'status', 'bucket', 'ms', 'count', 'releaseId', 'keyId'].includes(k))).toBe(true);
  });
});

describe('requests', () => {
  test('summarise: topics, who said what, action items with owners, decisions, open questions', async () => {
    const r = await exchange(stack, world.keyConfig, { path: '/v1/summarize', body: { v: 1, chat: SAMPLE_CHAT } });
    expect(r.status).toBe(200);
    expect(r.json.summary).toMatch(/^Ana, Ben and Cai talked about picnic, lake/);
    expect(r.json.summary).toContain('Cai said “Great, picnic at the lake then.”');
    expect(r.json.topics.slice(0, 2)).toEqual(['picnic', 'lake']);
    expect(r.json.actionItems).toEqual([{ owner: 'Ben', text: 'I will bring sandwiches.' }]);
    expect(r.json.decisions).toEqual(['We decided on 11am at the lake, right?']);
    // Open for the requester (Ana): a question to everyone and a confirmation she has not answered.
    expect(r.json.questions).toEqual([
      { asker: 'Cai', text: 'Can someone bring a blanket?' },
      { asker: 'Ben', text: 'We decided on 11am at the lake, right?' },
    ]);
  });

  test('a chat in a language the engine cannot read gets a polite typed refusal, never a summary', async () => {
    const chat = {
      requester: 'Ana',
      messages: [
        { sender: 'Ana', time: '2026-11-27T09:00:00Z', text: 'Treffen wir uns am Samstag im Park?' },
        { sender: 'Ben', time: '2026-11-27T09:01:00Z', text: 'Ja, ich bringe den Kuchen mit. Kann jemand eine Decke mitbringen?' },
      ],
    };
    const r = await exchange(stack, world.keyConfig, { path: '/v1/summarize', body: { v: 1, chat } });
    expect([r.status, r.json.error]).toEqual([422, 'UNSUPPORTED_LANGUAGE']);
    expect(r.json.message).toMatch(/^Sorry, .*English/);
    expect(Object.keys(r.json)).toEqual(['error', 'message']);
  });

  test('answers are padded to a size that follows from the request bucket alone; a 1 000-message chat fits the ladder', async () => {
    const sizes = async (body: unknown, path = '/v1/summarize') => {
      const { encapsulated, context } = await encryptRequest(world.keyConfig, { path, body });
      const outer = await post(stack.parentUrl, encapsulated);
      expect(outer.status).toBe(200);
      const inner = await context.decapsulateResponse(outer.body);
      return { request: encapsulated.length, response: inner.length, status: decodeBhttpResponse(inner).status };
    };
    // Small requests (1 KiB) are answered in 4 KiB, whatever the outcome.
    const ok = await sizes({ v: 1, chat: SAMPLE_CHAT });
    const bad = await sizes({ v: 2, chat: SAMPLE_CHAT });
    const composed = await sizes({ v: 1, draft: 'hi', tone: 'formal' }, '/v1/compose');
    expect([ok.response, bad.response, composed.response]).toEqual([4096, 4096, 4096]);
    expect([ok.status, bad.status, composed.status]).toEqual([200, 400, 200]);
    const big = { requester: 'Ana', messages: Array.from({ length: 1000 }, (_, i) => ({ sender: ['Ana', 'Ben', 'Cai', 'Dee'][i % 4]!, time: new Date(Date.UTC(2026, 10, 27, 9, 0, i)).toISOString(), text: `Message ${i}: I will bring ${i % 7} chairs to the garden party on Saturday, and can someone check the weather forecast?` })) };
    const large = await sizes({ v: 1, chat: big });
    expect(large.status).toBe(200);
    // The request's bucket (256 KiB) plus the OHTTP overhead, and the answer in the same bucket.
    expect([large.request, large.response]).toEqual([256 * 1024 + 88, 256 * 1024]);
  }, 60_000);

  test('compose: a rewrite in the requested tone, and suggested replies', async () => {
    const r = await exchange(stack, world.keyConfig, { path: '/v1/compose', body: { v: 1, draft: "  i can't   make it today ", tone: 'formal', lastMessage: 'Are you coming?' } });
    expect(r.status).toBe(200);
    expect(r.json.text).toBe('I cannot make it today.');
    expect(r.json.suggestions).toHaveLength(3);
  });

  test('a replayed request is refused before any KMS call', async () => {
    const { encapsulated } = await encryptRequest(world.keyConfig, { path: '/v1/compose', body: { v: 1, draft: 'hello', tone: 'friendly' } });
    expect((await post(stack.parentUrl, encapsulated)).status).toBe(200);
    const again = await post(stack.parentUrl, encapsulated);
    expect(again.status).toBe(400);
    expect(JSON.parse(new TextDecoder().decode(again.body))).toEqual({ error: 'REPLAYED' });
  });

  test('a stale or missing Date gets an encrypted error (with the server time for skew)', async () => {
    const stale = await exchange(stack, world.keyConfig, { body: { v: 1, chat: SAMPLE_CHAT }, date: new Date(Date.now() - 10 * 60_000).toUTCString() });
    expect([stale.outer, stale.status, stale.json.error]).toEqual([200, 400, 'DATE_SKEW']);
    expect(Math.abs(Date.parse(stale.json.serverTime) - Date.now())).toBeLessThan(60_000);
    const missing = await exchange(stack, world.keyConfig, { body: { v: 1, chat: SAMPLE_CHAT }, date: null });
    expect([missing.outer, missing.status, missing.json.error]).toEqual([200, 400, 'DATE_REQUIRED']);
  });
});

describe('every class of bad input gets its status and code, and the server keeps serving', () => {
  test.each([
    ['an unknown path', { path: '/v1/exfiltrate', body: { v: 1 } }, 404, 'UNKNOWN_PATH'],
    ['a method other than POST', { method: 'PUT', body: { v: 1, chat: SAMPLE_CHAT } }, 405, 'METHOD_NOT_ALLOWED'],
    ['bad JSON', { rawBody: new TextEncoder().encode('{"v":1,') }, 400, 'BAD_JSON'],
    ['a request of the wrong shape', { body: { v: 1, chat: { requester: 'x', messages: 'none' } } }, 400, 'BAD_REQUEST'],
    ['an unsupported version', { body: { v: 2, chat: SAMPLE_CHAT } }, 400, 'UNSUPPORTED_VERSION'],
    ['a compose request without a tone', { path: '/v1/compose', body: { v: 1, draft: 'hi' } }, 400, 'BAD_REQUEST'],
  ])('%s: encrypted %d %s', async (_label, call, status, code) => {
    const r = await exchange(stack, world.keyConfig, call);
    expect([r.outer, r.status, r.json.error]).toEqual([200, status, code]);
  });

  test('undecryptable, truncated, unknown-key and oversize requests: plaintext codes, no crypto answer', async () => {
    const { encapsulated } = await encryptRequest(world.keyConfig, { body: { v: 1, chat: SAMPLE_CHAT } });
    const code = async (body: Uint8Array, contentType?: string, method?: string) => {
      const r = await post(stack.parentUrl, body, contentType, method);
      return [r.status, JSON.parse(new TextDecoder().decode(r.body)).error];
    };
    expect(await code(flipped(encapsulated, encapsulated.length - 3))).toEqual([400, 'DECRYPT_FAILED']);
    expect(await code(encapsulated.subarray(0, 50))).toEqual([400, 'TRUNCATED']);
    expect(await code(flipped(encapsulated, 0))).toEqual([400, 'KEY_ID_UNKNOWN']);
    expect(await code(new Uint8Array(1024 * 1024 + 89))).toEqual([413, 'BODY_TOO_LARGE']);
    expect(await code(new Uint8Array(0))).toEqual([400, 'TRUNCATED']);
    expect(await code(encapsulated, 'application/json')).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    expect(await code(encapsulated, 'message/ohttp-req', 'GET')).toEqual([405, 'METHOD_NOT_ALLOWED']);
    const unknown = await fetch(`${stack.parentUrl}/admin`);
    expect(unknown.status).toBe(404);
    // Still serving.
    expect((await exchange(stack, world.keyConfig, { body: { v: 1, chat: SAMPLE_CHAT } })).status).toBe(200);
  });

  test('a request at the exact size cap passes the parent (and is refused by the enclave as undecryptable)', async () => {
    const r = await post(stack.parentUrl, new Uint8Array(1024 * 1024 + 88).fill(1));
    expect(r.status).toBe(400);
  });
});

describe('re-attestation', () => {
  test('a key policy changed underneath makes the enclave stop serving', async () => {
    const own = await enclaveWorld();
    const running = await runInProcess(own);
    const enclave = await running.enclave.booted;
    try {
      expect(await enclave.reattest()).toBe(true);
      // Someone with power over KMS itself (not through the frozen policy) widens it.
      const key = own.kms.server.emulator.keys.find(own.config.sessionKeyArn)!;
      const policy = JSON.parse(key.policy);
      policy.Statement[0].Condition.StringEqualsIgnoreCase['kms:RecipientAttestation:ImageSha384'] = 'b2'.repeat(48);
      own.kms.server.emulator.keys.update(key, (k) => (k.policy = JSON.stringify(policy)));
      expect(await enclave.reattest()).toBe(false);
      expect(enclave.serving).toBe(false);
      expect(enclave.stopReason).toBe('FORBIDDEN_CONDITION');
      const health = await fetch(`${running.parentUrl}/healthz`);
      expect([health.status, ((await health.json()) as { ready: boolean }).ready]).toEqual([503, false]);
      const r = await exchange(running, own.keyConfig, { body: { v: 1, chat: SAMPLE_CHAT } });
      expect([r.status, r.json.error]).toEqual([503, 'NOT_SERVING']);
      expect(running.logs.map((l) => JSON.parse(l)).some((l) => l.event === 'stopped' && l.code === 'FORBIDDEN_CONDITION')).toBe(true);
    } finally {
      await running.stop();
      await own.stop();
    }
  }, 30_000);

  test('a grant added underneath stops it too', async () => {
    const own = await enclaveWorld();
    const running = await runInProcess(own);
    const enclave = await running.enclave.booted;
    try {
      const key = own.kms.server.emulator.keys.find(own.config.sessionKeyArn)!;
      own.kms.server.emulator.keys.update(key, (k) => k.grants.push({ grantId: 'g', granteePrincipal: 'arn:aws:iam::111122223333:root', operations: ['DeriveSharedSecret'], issuingAccount: 'x', creationDate: 0 }));
      expect(await enclave.reattest()).toBe(false);
      expect(enclave.stopReason).toBe('GRANTS_PRESENT');
    } finally {
      await running.stop();
      await own.stop();
    }
  }, 30_000);
});

describe('boot failures: the enclave never serves under an unchecked key or model', () => {
  test.each([
    ['a model that does not match the compiled-in hash', { config: { modelSha256: '00'.repeat(32) } }, 'MODEL_HASH_MISMATCH'],
    ['a debug-mode enclave', { nsm: { debug: true } }, 'PCR0_DEBUG_MODE'],
    ['a key that is not its release’s', { config: { sessionKeyArn: 'WRONG' } }, 'SESSION_KEY_NOT_FOUND'],
  ])('%s', async (_label, options, code) => {
    const own = await enclaveWorld();
    const config = (options as { config?: { sessionKeyArn?: string } }).config;
    if (config?.sessionKeyArn === 'WRONG') config.sessionKeyArn = await own.kms.createKey({ spec: 'session', pcr0: 'b2'.repeat(48) });
    const running = await runInProcess(own, options as never);
    try {
      await expect(running.enclave.booted).rejects.toMatchObject({ code: code === 'SESSION_KEY_NOT_FOUND' ? 'SESSION_KEY_FORBIDDEN_CONDITION' : code });
      const health = await fetch(`${running.parentUrl}/healthz`);
      expect(health.status).toBe(503);
      expect(running.logs.some((l) => JSON.parse(l).event === 'boot_failed')).toBe(true);
    } finally {
      await running.stop();
      await own.stop();
    }
  }, 30_000);
});

describe('engines may answer asynchronously (an LLM backend: packages/llm-backend)', () => {
  test('an async engine answers through the handler and is told the request bucket', async () => {
    const own = await enclaveWorld();
    const seen: number[] = [];
    const running = await runInProcess(own, {
      engine: async () => ({
        summarize: async (chat, context) => {
          seen.push(context?.bucket ?? -1);
          await new Promise((resolve) => setImmediate(resolve));
          return { summary: `${chat.messages.length} messages`, topics: [], actionItems: [], decisions: [], questions: [] };
        },
        compose: async (request, context) => {
          seen.push(context?.bucket ?? -1);
          return { text: request.draft.toUpperCase(), suggestions: [] };
        },
      }),
    });
    try {
      await running.enclave.booted;
      const s = await exchange(running, own.keyConfig, { path: '/v1/summarize', body: { v: 1, chat: SAMPLE_CHAT } });
      expect(s.json).toEqual({ summary: '4 messages', topics: [], actionItems: [], decisions: [], questions: [] });
      const c = await exchange(running, own.keyConfig, { path: '/v1/compose', body: { v: 1, draft: 'hi there', tone: 'concise' } });
      expect(c.json).toEqual({ text: 'HI THERE', suggestions: [] });
      // The clients pad these small requests to the first bucket (1 KiB).
      expect(seen).toEqual([1024, 1024]);
    } finally {
      await running.stop();
      await own.stop();
    }
  }, 30_000);

  test('an engine that fails to load its model fails the boot with a typed code, and the enclave never serves', async () => {
    const own = await enclaveWorld();
    class LoadError extends ProtocolError<'NOT_GGUF'> {
      readonly area = 'test-engine';
    }
    const running = await runInProcess(own, {
      engine: async () => {
        throw new LoadError('NOT_GGUF');
      },
    });
    try {
      await expect(running.enclave.booted).rejects.toMatchObject({ code: 'ENGINE_NOT_GGUF' });
      const health = await fetch(`${running.parentUrl}/healthz`);
      expect(health.status).toBe(503);
      expect(running.logs.some((l) => JSON.parse(l).event === 'stopped' && JSON.parse(l).code === 'ENGINE_NOT_GGUF')).toBe(true);
    } finally {
      await running.stop();
      await own.stop();
    }
  }, 30_000);
});
