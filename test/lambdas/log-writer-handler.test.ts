// The log writer's HTTP face: the caller's IAM role decides what it may append, the body
// is one canonical log entry, and every refusal has its status and code.
import { createLogger, encodeLogEntry } from '../../protocol';
import { fromApiGatewayEvent, type HttpRequest } from '../../lambdas/common/http';
import { LogWriterHandler, MAX_APPEND_BODY, submitterOf } from '../../lambdas/log-writer/handler';
import { ACCOUNT, logWorld, releaseEntry, sessionKeyEntry } from '../helpers/tlog';

const SUBMITTERS = { 'pp-release-publisher': 'publisher', 'pp-issuer-rotation': 'rotation' } as const;
const PUBLISHER = `arn:aws:sts::${ACCOUNT}:assumed-role/pp-release-publisher/release-2026-11-27`;
const ROTATION = `arn:aws:iam::${ACCOUNT}:role/pp-issuer-rotation`;

async function world() {
  const { log } = await logWorld();
  const lines: string[] = [];
  const handler = new LogWriterHandler({ log, submitters: SUBMITTERS, account: ACCOUNT, logger: createLogger('log-writer', (l) => lines.push(l)) });
  return { log, handler, lines };
}

function post(body: Uint8Array, caller?: string, contentType = 'application/cbor'): HttpRequest {
  return { method: 'POST', path: '/v1/entries', headers: { 'content-type': contentType }, body, ...(caller ? { caller } : {}) };
}

const json = (body: Uint8Array) => JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>;

describe('submitterOf', () => {
  test.each([
    [PUBLISHER, 'publisher'],
    [`arn:aws:iam::${ACCOUNT}:role/pp-release-publisher`, 'publisher'],
    [ROTATION, 'rotation'],
    [`arn:aws:sts::${ACCOUNT}:assumed-role/pp-issuer-rotation/lambda-session`, 'rotation'],
  ])('%s → %s', (arn, submitter) => expect(submitterOf(arn, ACCOUNT, SUBMITTERS)).toBe(submitter));

  test.each([
    ['another account', `arn:aws:sts::444455556666:assumed-role/pp-release-publisher/x`],
    ['another role', `arn:aws:sts::${ACCOUNT}:assumed-role/pp-deployer/x`],
    ['a user', `arn:aws:iam::${ACCOUNT}:user/pp-release-publisher`],
    ['the account root', `arn:aws:iam::${ACCOUNT}:root`],
    ['a role name with a suffix', `arn:aws:iam::${ACCOUNT}:role/pp-release-publisher-2`],
    ['an inherited property name', `arn:aws:iam::${ACCOUNT}:role/constructor`],
    ['nothing', undefined],
  ])('%s → none', (_, arn) => expect(submitterOf(arn, ACCOUNT, SUBMITTERS)).toBeUndefined());
});

describe('POST /v1/entries', () => {
  test('the publisher appends a release and its session key; the log holds them', async () => {
    const { log, handler, lines } = await world();
    const r1 = await handler.handle(post(encodeLogEntry(releaseEntry('r1')), PUBLISHER));
    expect(r1.status).toBe(200);
    expect(json(r1.body)).toEqual({ index: 0, size: 1 });
    const r2 = await handler.handle(post(encodeLogEntry(sessionKeyEntry('r1')), PUBLISHER));
    expect(json(r2.body)).toEqual({ index: 1, size: 2 });
    expect(log.allEntries().map((e) => e.type)).toEqual(['release', 'session_key']);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>).map(({ event, status }) => ({ event, status }))).toEqual([
      { event: 'append', status: 200 },
      { event: 'append', status: 200 },
    ]);
  });

  test.each([
    ['no authenticated caller', 401, 'UNAUTHENTICATED', undefined, 'application/cbor'],
    ['a caller of another account', 403, 'NOT_AUTHORIZED', `arn:aws:sts::444455556666:assumed-role/pp-release-publisher/x`, 'application/cbor'],
    ['a role that is not a submitter', 403, 'NOT_AUTHORIZED', `arn:aws:iam::${ACCOUNT}:role/pp-deployer`, 'application/cbor'],
    ['the rotation role appending a release', 403, 'NOT_AUTHORIZED', ROTATION, 'application/cbor'],
    ['another media type', 415, 'UNSUPPORTED_MEDIA_TYPE', PUBLISHER, 'application/json'],
  ])('%s → %i %s, nothing appended', async (_, status, code, caller, contentType) => {
    const { log, handler } = await world();
    const response = await handler.handle(post(encodeLogEntry(releaseEntry('r1')), caller, contentType));
    expect(response.status).toBe(status);
    expect(json(response.body)).toEqual({ error: code });
    expect(log.allEntries()).toHaveLength(0);
  });

  test('bodies that are not one log entry are refused with a code and never echoed', async () => {
    const { handler } = await world();
    const canary = new TextEncoder().encode('CANARY-log-body-31c9');
    const garbage = await handler.handle(post(canary, PUBLISHER));
    expect([garbage.status, json(garbage.body)]).toEqual([400, { error: 'INVALID_ENTRY' }]);
    expect(new TextDecoder().decode(garbage.body)).not.toContain('CANARY');
    const trailing = await handler.handle(post(new Uint8Array([...encodeLogEntry(releaseEntry('r1')), 0]), PUBLISHER));
    expect([trailing.status, json(trailing.body)]).toEqual([400, { error: 'INVALID_ENTRY' }]);
    const huge = await handler.handle(post(new Uint8Array(MAX_APPEND_BODY + 1), PUBLISHER));
    expect([huge.status, json(huge.body)]).toEqual([413, { error: 'ENTRY_TOO_LARGE' }]);
  });

  test("the log's own rules answer with their codes: a release twice, a key of an unknown release", async () => {
    const { handler } = await world();
    await handler.handle(post(encodeLogEntry(releaseEntry('r1')), PUBLISHER));
    const twice = await handler.handle(post(encodeLogEntry(releaseEntry('r1')), PUBLISHER));
    expect([twice.status, json(twice.body)]).toEqual([409, { error: 'RELEASE_EXISTS' }]);
    const orphan = await handler.handle(post(encodeLogEntry(sessionKeyEntry('r9')), PUBLISHER));
    expect([orphan.status, json(orphan.body)]).toEqual([409, { error: 'UNKNOWN_RELEASE' }]);
  });

  test('other methods and paths', async () => {
    const { handler } = await world();
    expect((await handler.handle({ ...post(new Uint8Array(), PUBLISHER), method: 'GET' })).status).toBe(405);
    expect((await handler.handle({ ...post(new Uint8Array(), PUBLISHER), path: '/v1/entries/0' })).status).toBe(404);
  });
});

test("API Gateway's IAM identity becomes the caller; routes without IAM authorization have none", () => {
  const base = { requestContext: { http: { method: 'POST', path: '/v1/entries' } }, headers: {}, body: '' };
  expect(fromApiGatewayEvent({ ...base, requestContext: { ...base.requestContext, authorizer: { iam: { userArn: PUBLISHER } } } }).caller).toBe(PUBLISHER);
  expect('caller' in fromApiGatewayEvent(base)).toBe(false);
});
