// The whole private path with real sockets: issuer → token → relay → gateway → parent →
// enclave → back. The client side uses only protocol/ (and the test helper that builds
// a padded BHTTP request with it).
import { randomBytes } from 'node:crypto';
import {
  beginTokenIssuance,
  decodeBhttpResponse,
  decodeKeyBundle,
  decodeKeyConfig,
  MEDIA_TYPE_KEY_BUNDLE,
  type KeyConfig,
} from '../../protocol';
import { Relay, RELAY_MAX_REQUEST } from '../../lambdas/relay/relay';
import { spendId } from '../../lambdas/common/spend-store';
import { createLogger } from '../../protocol';
import { encryptRequest, SAMPLE_CHAT } from '../helpers/enclave';
import { accountToken, ISSUER_NAME, ORIGIN_NAME } from '../helpers/privacy-pass';
import { usePrivatePath, type PrivatePath } from '../helpers/private-path';

jest.setTimeout(60_000);

const world = usePrivatePath();
let path: PrivatePath;
beforeAll(() => {
  path = world();
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

async function getToken(account = 'alice'): Promise<Uint8Array> {
  const issuance = await beginTokenIssuance(ISSUER_NAME, ORIGIN_NAME, path.issuerKey.tokenKey);
  const res = await fetch(`${path.issuerUrl}/v1/token-request`, {
    method: 'POST',
    headers: { 'content-type': 'application/private-token-request', authorization: `Bearer ${await accountToken(account, { iat: nowSeconds() })}` },
    body: issuance.request,
  });
  expect(res.status).toBe(200);
  return issuance.finish(new Uint8Array(await res.arrayBuffer()));
}

async function getKeyConfig(): Promise<KeyConfig> {
  const res = await fetch(`${path.relayUrl}/v1/keys`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe(MEDIA_TYPE_KEY_BUNDLE);
  const bundle = decodeKeyBundle(new Uint8Array(await res.arrayBuffer()));
  return decodeKeyConfig(bundle.keys[0]!.keyConfig);
}

async function postRelay(body: Uint8Array, headers: Record<string, string> = {}) {
  const res = await fetch(`${path.relayUrl}/v1/ohttp`, { method: 'POST', headers: { 'content-type': 'message/ohttp-req', ...headers }, body });
  return { status: res.status, headers: res.headers, body: new Uint8Array(await res.arrayBuffer()) };
}

function code(body: Uint8Array): string {
  return (JSON.parse(new TextDecoder().decode(body)) as { error: string }).error;
}

async function ask(token: Uint8Array | undefined, call: Parameters<typeof encryptRequest>[1], headers: Record<string, string> = {}) {
  const keyConfig = await getKeyConfig();
  const { encapsulated, context } = await encryptRequest(keyConfig, call);
  const outer = await postRelay(encapsulated, { ...(token ? { 'private-token': Buffer.from(token).toString('base64url') } : {}), ...headers });
  if (outer.status !== 200) return { outer };
  const inner = decodeBhttpResponse(await context.decapsulateResponse(outer.body));
  return { outer, inner, json: JSON.parse(new TextDecoder().decode(inner.content)) };
}

describe('the whole private path', () => {
  test('a summary request goes issuer → relay → gateway → parent → enclave and back', async () => {
    const token = await getToken();
    const result = await ask(token, { path: '/v1/summarize', body: { v: 1, chat: SAMPLE_CHAT } });
    expect(result.outer.status).toBe(200);
    expect(result.inner!.status).toBe(200);
    expect(JSON.stringify(result.json)).toMatch(/picnic/i);
    // The token is spent: a second use is refused.
    const again = await ask(token, { path: '/v1/summarize', body: { v: 1, chat: SAMPLE_CHAT } });
    expect([again.outer.status, code(again.outer.body)]).toEqual([401, 'SPENT']);
  });

  test('the key bundle carries the logged key config and a worker attestation, the same bytes for every client', async () => {
    const a = new Uint8Array(await (await fetch(`${path.relayUrl}/v1/keys`)).arrayBuffer());
    const b = new Uint8Array(await (await fetch(`${path.relayUrl}/v1/keys`)).arrayBuffer());
    expect(Buffer.from(a)).toEqual(Buffer.from(b));
    const bundle = decodeKeyBundle(a);
    expect(bundle.keys).toHaveLength(1);
    expect(Buffer.from(bundle.keys[0]!.keyConfig)).toEqual(Buffer.from(path.world.keyConfigBytes));
    expect(bundle.keys[0]!.kmsKeyArn).toBe(path.world.config.sessionKeyArn);
    expect(bundle.keys[0]!.attestation.length).toBeGreaterThan(1000);
  });

  test('no healthy worker: 503 with Retry-After at the gateway, and the token is given back', async () => {
    const token = await getToken();
    for (const w of path.registry.all()) path.registry.markDown(w.url);
    const refused = await ask(token, { body: { v: 1, chat: SAMPLE_CHAT } });
    expect([refused.outer.status, code(refused.outer.body)]).toEqual([503, 'NO_HEALTHY_WORKER']);
    const atGateway = path.recorded.filter((r) => r.component === 'gateway').at(-1)!;
    expect(atGateway.response.headers['retry-after']).toBe('5');
    await path.registry.refresh();
    const served = await ask(token, { body: { v: 1, chat: SAMPLE_CHAT } });
    expect(served.outer.status).toBe(200);
  });
});

describe('canary matrix: what each party saw', () => {
  const IP = 'CANARY-ip-203.0.113.77';
  const ACCOUNT = 'CANARY-account-5d1c';
  const CHAT = 'CANARY-chat-the-lighthouse-at-dawn';
  let token: Uint8Array;

  beforeAll(async () => {
    token = await getToken(ACCOUNT);
    const chat = { v: 1, chat: { ...SAMPLE_CHAT, messages: [...SAMPLE_CHAT.messages, { sender: 'Ana', time: '2026-11-27T09:04:00Z', text: `Meet by ${CHAT}` }] } };
    const result = await ask(token, { body: chat }, {
      'x-forwarded-for': IP,
      'cloudfront-viewer-address': `${IP}:443`,
      'x-amz-cf-id': `cf-${IP}`,
      'x-amzn-trace-id': `Root=${IP}`,
      cookie: `session=${IP}`,
      'user-agent': `Messenger/1.0 ${IP}`,
    });
    expect(result.outer.status).toBe(200);
  });

  const beyond = (component: string) => path.recorded.filter((r) => r.component !== component && r.component !== 'relay' && r.component !== 'issuer');
  const dump = (records: typeof path.recorded) =>
    records.map((r) => JSON.stringify(r.request.headers) + Buffer.from(r.request.body).toString('latin1') + JSON.stringify(r.response.headers) + Buffer.from(r.response.body).toString('latin1')).join('\n');
  const allLogs = () => Object.values(path.logs).flat().join('\n');

  test('the client address never goes beyond the relay', () => {
    const gatewaySide = path.recorded.filter((r) => r.component === 'gateway' || r.component === 'log');
    expect(gatewaySide.length).toBeGreaterThan(0);
    expect(dump(gatewaySide)).not.toContain(IP);
    expect(allLogs()).not.toContain(IP);
    // What the gateway received carries only these headers (plus the transport's own).
    const received = gatewaySide.filter((r) => r.request.path === '/v1/ohttp').map((r) => Object.keys(r.request.headers).sort());
    for (const keys of received) expect(keys.filter((k) => !['host', 'connection', 'content-length', 'accept', 'accept-language', 'accept-encoding', 'sec-fetch-mode', 'user-agent'].includes(k))).toEqual(expect.arrayContaining(['content-type']));
    for (const r of gatewaySide) expect(r.request.headers['user-agent'] ?? '').not.toContain('Messenger');
  });

  test('the account never goes beyond the issuer, and the issuer logs it nowhere', () => {
    expect(dump(path.recorded.filter((r) => r.component !== 'issuer'))).not.toContain(ACCOUNT);
    expect(allLogs()).not.toContain(ACCOUNT);
  });

  test('the token is in no log line and no store, except the spent record, which holds only its hash', () => {
    const b64 = Buffer.from(token).toString('base64url');
    const nonceHex = Buffer.from(token.slice(2, 34)).toString('hex');
    expect(allLogs()).not.toContain(b64.slice(0, 40));
    expect(allLogs()).not.toContain(nonceHex);
    const items = JSON.stringify([...(path.spends as unknown as { items: Map<string, unknown> }).items]);
    expect(items).toContain(spendId(token.slice(66, 98), token.slice(2, 34)));
    expect(items).not.toContain(nonceHex);
    expect(items).not.toContain(b64.slice(0, 40));
  });

  test('the chat text is in no log line of any process, no stored item, and no byte on the wire', () => {
    expect(allLogs()).not.toContain(CHAT);
    expect(JSON.stringify([...(path.spends as unknown as { items: Map<string, unknown> }).items])).not.toContain(CHAT);
    expect(dump(path.recorded)).not.toContain(CHAT);
    expect(dump(beyond('x'))).not.toContain('lighthouse');
  });

  test('every component logged something, so the checks above looked at real output', () => {
    for (const component of ['issuer', 'gateway', 'parent']) expect(path.logs[component]!.length).toBeGreaterThan(0);
    path.relay.flushCounts();
    expect(path.logs.relay!.length).toBeGreaterThan(0);
    for (const line of path.logs.relay!) expect(Object.keys(JSON.parse(line)).sort()).toEqual(['component', 'count', 'event', 'status', 't']);
  });
});

describe('bad input: each endpoint answers its documented status and code, and keeps serving', () => {
  test('relay, gateway and issuer, class by class', async () => {
    const good = await getToken();
    const spent = await getToken();
    expect((await ask(spent, { body: { v: 1, chat: SAMPLE_CHAT } })).outer.status).toBe(200);
    const keyConfig = await getKeyConfig();
    const { encapsulated } = await encryptRequest(keyConfig, { body: { v: 1, chat: SAMPLE_CHAT } });
    const tok = (t: Uint8Array) => ({ 'private-token': Buffer.from(t).toString('base64url') });
    const otherKeyToken = Uint8Array.from(spent);
    otherKeyToken[70] = otherKeyToken[70]! ^ 1;

    const relayCases: [string, () => Promise<{ status: number; body: Uint8Array }>, number, string][] = [
      ['empty', () => postRelay(new Uint8Array(), tok(good)), 400, 'EMPTY'],
      ['truncated', () => postRelay(encapsulated.slice(0, 5), tok(good)), 400, 'TRUNCATED'],
      ['oversize', () => postRelay(new Uint8Array(RELAY_MAX_REQUEST + 1), tok(good)), 413, 'TOO_LARGE'],
      ['wrong content type', () => postRelay(encapsulated, { ...tok(good), 'content-type': 'application/json' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['wrong method', async () => { const r = await fetch(`${path.relayUrl}/v1/ohttp`); return { status: r.status, body: new Uint8Array(await r.arrayBuffer()) }; }, 405, 'METHOD_NOT_ALLOWED'],
      ['random bytes', () => postRelay(randomBytes(300), tok(good)), 400, 'UNSUPPORTED_SUITE'],
      ['malformed token header', () => postRelay(encapsulated, { 'private-token': 'not a token!' }), 400, 'MALFORMED_TOKEN'],
      ['no token', () => postRelay(encapsulated), 401, 'MISSING'],
      ['spent token', () => postRelay(encapsulated, tok(spent)), 401, 'SPENT'],
      ['token for another key', () => postRelay(encapsulated, tok(otherKeyToken)), 401, 'WRONG_KEY'],
      ['forged token', () => postRelay(encapsulated, tok(Uint8Array.from(good, (b, i) => (i === 300 ? b ^ 1 : b)))), 401, 'FORGED'],
      ['unknown path', async () => { const r = await fetch(`${path.relayUrl}/admin`, { method: 'POST' }); return { status: r.status, body: new Uint8Array(await r.arrayBuffer()) }; }, 404, 'NOT_FOUND'],
      ['path traversal to the log', async () => { const r = await fetch(`${path.relayUrl}/log/tile/../../etc/passwd`); return { status: r.status, body: new Uint8Array(await r.arrayBuffer()) }; }, 404, 'NOT_FOUND'],
    ];
    for (const [name, run, status, expected] of relayCases) {
      const r = await run();
      expect([name, r.status, code(r.body)]).toEqual([name, status, expected]);
    }

    const gw = async (init: RequestInit & { path?: string }) => {
      const r = await fetch(`${path.gatewayUrl}${init.path ?? '/v1/ohttp'}`, init);
      return { status: r.status, body: new Uint8Array(await r.arrayBuffer()) };
    };
    const gatewayCases: [string, () => Promise<{ status: number; body: Uint8Array }>, number, string][] = [
      ['empty', () => gw({ method: 'POST', headers: { 'content-type': 'message/ohttp-req' }, body: new Uint8Array() }), 400, 'TRUNCATED'],
      ['oversize', () => gw({ method: 'POST', headers: { 'content-type': 'message/ohttp-req' }, body: new Uint8Array(RELAY_MAX_REQUEST + 1) }), 413, 'TOO_LARGE'],
      ['wrong content type', () => gw({ method: 'POST', headers: { 'content-type': 'text/plain' }, body: encapsulated }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['wrong method', () => gw({ method: 'PUT', body: encapsulated }), 405, 'METHOD_NOT_ALLOWED'],
      ['unknown key id', () => gw({ method: 'POST', headers: { 'content-type': 'message/ohttp-req' }, body: Uint8Array.from(encapsulated, (b, i) => (i === 0 ? b ^ 0xff : b)) }), 400, 'KEY_ID_UNKNOWN'],
      ['malformed authorization', () => gw({ method: 'POST', headers: { 'content-type': 'message/ohttp-req', authorization: 'Basic abc' }, body: encapsulated }), 401, 'MALFORMED'],
      ['unknown path', () => gw({ method: 'GET', path: '/v1/secret' }), 404, 'NOT_FOUND'],
    ];
    for (const [name, run, status, expected] of gatewayCases) {
      const r = await run();
      expect([name, r.status, code(r.body)]).toEqual([name, status, expected]);
    }

    const iss = async (body: Uint8Array, contentType = 'application/private-token-request', method = 'POST') => {
      const r = await fetch(`${path.issuerUrl}/v1/token-request`, {
        method,
        headers: { 'content-type': contentType, authorization: `Bearer ${await accountToken('carol', { iat: nowSeconds() })}` },
        ...(method === 'POST' ? { body } : {}),
      });
      return { status: r.status, body: new Uint8Array(await r.arrayBuffer()) };
    };
    const issuerCases: [string, () => Promise<{ status: number; body: Uint8Array }>, number, string][] = [
      ['empty', () => iss(new Uint8Array()), 400, 'MALFORMED'],
      ['truncated', () => iss(Uint8Array.of(0, 2, 1, 2, 3)), 400, 'MALFORMED'],
      ['oversize', () => iss(new Uint8Array(4000)), 413, 'TOO_LARGE'],
      ['wrong content type', () => iss(new Uint8Array(259), 'application/json'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['wrong method', () => iss(new Uint8Array(), undefined, 'GET'), 405, 'METHOD_NOT_ALLOWED'],
      ['random bytes', () => iss(randomBytes(259)), 400, 'WRONG_TYPE'],
    ];
    for (const [name, run, status, expected] of issuerCases) {
      const r = await run();
      expect([name, r.status, code(r.body)]).toEqual([name, status, expected]);
    }

    // Still serving after all of that.
    expect((await ask(good, { body: { v: 1, chat: SAMPLE_CHAT } })).outer.status).toBe(200);
  });

  test('the relay size cap is exact: the largest honest request passes, one byte more does not', async () => {
    const atCap = await postRelay(Uint8Array.from({ length: RELAY_MAX_REQUEST }, (_, i) => (i === 0 ? 0xee : 0)));
    expect(atCap.status).not.toBe(413);
    expect(path.recorded.filter((r) => r.component === 'gateway').at(-1)!.request.body.length).toBe(RELAY_MAX_REQUEST);
    const over = await postRelay(new Uint8Array(RELAY_MAX_REQUEST + 1));
    expect([over.status, code(over.body)]).toEqual([413, 'TOO_LARGE']);
  });

  test('the relay returns only Content-Type and Cache-Control, whatever the gateway sent', async () => {
    await postRelay(new Uint8Array(200)); // the gateway answers with a JSON error
    const relayed = path.recorded.filter((r) => r.component === 'relay');
    for (const r of relayed) for (const name of Object.keys(r.response.headers)) expect(['content-type', 'cache-control', 'allow']).toContain(name);
    const fromGateway = path.recorded.filter((r) => r.component === 'gateway' && r.response.status === 401);
    expect(fromGateway.some((r) => 'www-authenticate' in r.response.headers)).toBe(true);
    expect(relayed.some((r) => 'www-authenticate' in r.response.headers)).toBe(false);
  });

  test('the relay serves the log checkpoint and allowlisted tile paths only', async () => {
    const checkpoint = await fetch(`${path.relayUrl}/log/checkpoint`);
    expect(checkpoint.status).toBe(200);
    expect(await checkpoint.text()).toMatch(/^log\.private-processing\.test\n3\n/);
    expect((await fetch(`${path.relayUrl}/log/tile/0/x001/234.p/5`)).status).toBe(404); // forwarded: the stand-in has no tiles
    expect(path.recorded.filter((r) => r.component === 'log').at(-1)!.request.path).toBe('/tile/0/x001/234.p/5');
    for (const bad of ['/log/', '/log/secrets', '/log/tile/0/1', '/log/tile/0/..%2f..%2fsecret', '/log/tile/entries/000/../../x']) {
      const before = path.recorded.filter((r) => r.component === 'log').length;
      await fetch(`${path.relayUrl}${bad}`);
      expect(path.recorded.filter((r) => r.component === 'log').length).toBe(before);
    }
  });
});

describe('the relay fails closed', () => {
  const logger = createLogger('relay', () => undefined);
  test.each([
    [{ gatewayUrl: '', logUrl: 'https://log.test' }, 'gatewayUrl is required'],
    [{ gatewayUrl: 'https://gw.test', logUrl: undefined as unknown as string }, 'logUrl is required'],
    [{ gatewayUrl: 'http://gw.example.com', logUrl: 'https://log.test' }, 'must be https'],
    [{ gatewayUrl: 'https://gw.test?x=1', logUrl: 'https://log.test' }, 'plain base URL'],
    [{ gatewayUrl: 'not a url', logUrl: 'https://log.test' }, 'not a URL'],
  ])('%j refuses to start', (urls, message) => {
    expect(() => new Relay({ ...urls, logger })).toThrow(message);
  });
});
