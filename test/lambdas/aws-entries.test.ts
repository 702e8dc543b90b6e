// The Lambda entries as AWS runs them, against stand-ins that speak each service's wire
// protocol (S3, Secrets Manager, EC2; DynamoDB is dynalite): the stores, worker discovery,
// fail-closed configuration, and each entry doing its job end to end.
import { generateKeyPairSync } from 'node:crypto';
import { exportJWK } from 'jose';
import { CHECKPOINT_PATH, decodeKeyBundle, encodeLogEntry, parseSignerKey } from '../../protocol';
import { ConfigError } from '../../lambdas/common/env';
import { S3Storage } from '../../lambdas/log-writer/s3-storage';
import { SecretsIssuerKeyStore } from '../../lambdas/issuer/secrets-key-store';
import { generateIssuerKey, MemoryIssuerKeyStore } from '../../lambdas/issuer/keys';
import { ec2WorkerDiscovery } from '../../lambdas/gateway/ec2-discovery';
import { createGatewayHandler, gatewayConfigFromEnv } from '../../lambdas/gateway/entry';
import { createIssuerHandler, issuerConfigFromEnv } from '../../lambdas/issuer/entry';
import { createLogWriterHandler, logWriterConfigFromEnv } from '../../lambdas/log-writer/entry';
import { createRotationHandler, rotationConfigFromEnv } from '../../lambdas/issuer-rotation/entry';
import type { ApiGatewayV2Event, ApiGatewayV2Result } from '../../lambdas/common/http';
import { startFakeAws, type FakeAws } from '../helpers/fake-aws';
import { startDynamo, type TestDynamo } from '../helpers/dynamo';
import { ACCOUNT, LOG_KEY, ORIGIN, releaseEntry } from '../helpers/tlog';
import { usePrivatePath } from '../helpers/private-path';
import { encryptRequest, SAMPLE_CHAT } from '../helpers/enclave';

jest.setTimeout(60_000);
let aws: FakeAws;
let dynamo: TestDynamo;
beforeAll(async () => {
  aws = await startFakeAws();
  dynamo = await startDynamo();
});
afterAll(async () => {
  await aws.close();
  await dynamo.close();
});

const SECRET = (name: string) => `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:${name}-AbCdEf`;
const PUBLISHER = `arn:aws:sts::${ACCOUNT}:assumed-role/pp-release-publisher/publish`;
const ROTATION = `arn:aws:sts::${ACCOUNT}:assumed-role/pp-issuer-rotation/lambda`;

function event(method: string, path: string, body?: Uint8Array, caller?: string, headers: Record<string, string> = {}): ApiGatewayV2Event {
  return {
    requestContext: { http: { method, path }, ...(caller ? { authorizer: { iam: { userArn: caller } } } : {}) },
    headers,
    ...(body ? { body: Buffer.from(body).toString('base64'), isBase64Encoded: true } : {}),
  };
}
const json = (r: ApiGatewayV2Result) => JSON.parse(Buffer.from(r.body, 'base64').toString()) as Record<string, unknown>;

describe('stores', () => {
  test('S3Storage: round trip, missing files, cache headers by path, paths checked before any call', async () => {
    const storage = new S3Storage(aws.s3, 'log-bucket');
    await storage.write(CHECKPOINT_PATH, new TextEncoder().encode('checkpoint'));
    await storage.write('tile/0/000', new Uint8Array([1, 2, 3]));
    expect(await storage.read('tile/0/000')).toEqual(new Uint8Array([1, 2, 3]));
    expect(await storage.read('tile/0/001')).toBeUndefined();
    expect(aws.objects.get(`log-bucket/${CHECKPOINT_PATH}`)).toMatchObject({ contentType: 'text/plain; charset=utf-8', cacheControl: 'public, max-age=10' });
    expect(aws.objects.get('log-bucket/tile/0/000')).toMatchObject({ contentType: 'application/octet-stream', cacheControl: 'public, max-age=31536000, immutable' });
    const before = aws.calls.length;
    await expect(storage.read('../other-bucket/x')).rejects.toThrow('invalid storage path');
    await expect(storage.write('tile//0', new Uint8Array())).rejects.toThrow('invalid storage path');
    expect(aws.calls.length).toBe(before);
  });

  test('SecretsIssuerKeyStore: an unwritten secret holds no keys; each add is a new version holding all keys', async () => {
    aws.secretValues.set(SECRET('issuer-keys'), []);
    const store = new SecretsIssuerKeyStore(aws.secrets, SECRET('issuer-keys'));
    expect(await store.list()).toEqual([]);
    const now = 1_790_000_000;
    const a = await generateIssuerKey({ notBefore: now, signUntil: now + 100, notAfter: now + 200 });
    const b = await generateIssuerKey({ notBefore: now + 50, signUntil: now + 150, notAfter: now + 250 });
    await store.add(a);
    await store.add(b);
    expect((await store.list()).map((r) => Buffer.from(r.tokenKeyId).toString('hex'))).toEqual([a, b].map((r) => Buffer.from(r.tokenKeyId).toString('hex')));
    expect(aws.secretValues.get(SECRET('issuer-keys'))).toHaveLength(2);
    expect(await new SecretsIssuerKeyStore(aws.secrets, SECRET('missing')).list()).toEqual([]);
  });

  test('ec2WorkerDiscovery: running instances of the group, private addresses only, on the proxy port', async () => {
    aws.instances = [{ privateIp: '10.0.1.5', state: 'running' }, { privateIp: '10.0.2.9', state: 'running' }, { privateIp: '127.0.0.1', state: 'running' }, { privateIp: '8.8.8.8', state: 'running' }, { state: 'running' }];
    const discover = ec2WorkerDiscovery({ client: aws.ec2, autoScalingGroups: ['pp-workers'], port: 8080 });
    expect(await discover()).toEqual(['http://10.0.1.5:8080', 'http://10.0.2.9:8080']);
    expect(aws.calls.at(-1)).toContain('Filter.1.Name=tag:aws:autoscaling:groupName&Filter.1.Value.1=pp-workers&Filter.2.Name=instance-state-name&Filter.2.Value.1=running');
  });

  test('ec2WorkerDiscovery: during a roll-out, the instances of both generations\' groups in one call', async () => {
    aws.instances = [{ privateIp: '10.0.1.5', state: 'running' }];
    await ec2WorkerDiscovery({ client: aws.ec2, autoScalingGroups: ['pp-workers-a-g1', 'pp-workers-b-g1'], port: 8080 })();
    expect(aws.calls.at(-1)).toContain('Filter.1.Name=tag:aws:autoscaling:groupName&Filter.1.Value.1=pp-workers-a-g1&Filter.1.Value.2=pp-workers-b-g1&Filter.2.Name=instance-state-name');
  });
});

describe('configuration fails closed', () => {
  const GATEWAY = { PP_ISSUER_NAME: 'issuer.example', PP_ORIGIN_NAME: 'gateway.example', PP_SPEND_TABLE: 'spent', PP_LOG_BUCKET: 'log-bucket', PP_LOG_ORIGIN: ORIGIN, PP_LOG_KEY: LOG_KEY.verifierKey, PP_WORKER_GROUP: 'pp-workers', PP_WORKER_PORT: '8080' };
  const ISSUER = { PP_ISSUER_KEYS_SECRET: SECRET('k'), PP_QUOTA_TABLE: 'quota', PP_TOKENS_PER_DAY: '100', PP_REQUEST_URI: 'https://issuer.example/v1/token-request', PP_ACCOUNT_JWK: '{"kty":"EC","crv":"P-256","x":"x","y":"y"}', PP_ACCOUNT_ISSUER: 'https://accounts.example', PP_ACCOUNT_AUDIENCE: 'pp' };
  const WRITER = { PP_LOG_BUCKET: 'log-bucket', PP_LOG_ORIGIN: ORIGIN, PP_LOG_SIGNER_SECRET: SECRET('signer'), PP_WITNESSES: '[{"url":"https://w.example","verifierKey":"k"}]', PP_ACCOUNT: ACCOUNT, PP_PUBLISHER_ROLE: 'pp-release-publisher', PP_ROTATION_ROLE: 'pp-issuer-rotation' };
  const ROTATE = { PP_ISSUER_KEYS_SECRET: SECRET('k'), PP_LOG_BUCKET: 'log-bucket', PP_LOG_ORIGIN: ORIGIN, PP_LOG_KEY: LOG_KEY.verifierKey, PP_LOG_WRITER_URL: 'https://api.example/v1/entries', AWS_REGION: 'eu-west-1' };

  test('complete settings parse', () => {
    expect(gatewayConfigFromEnv(GATEWAY).workerPort).toBe(8080);
    expect(gatewayConfigFromEnv(GATEWAY).workerGroups).toEqual(['pp-workers']);
    expect(gatewayConfigFromEnv({ ...GATEWAY, PP_WORKER_GROUP: 'pp-workers-a-g1,pp-workers-b-g2' }).workerGroups).toEqual(['pp-workers-a-g1', 'pp-workers-b-g2']);
    expect(issuerConfigFromEnv(ISSUER).tokensPerDay).toBe(100);
    expect(logWriterConfigFromEnv(WRITER).witnesses).toHaveLength(1);
    expect(rotationConfigFromEnv(ROTATE).region).toBe('eu-west-1');
  });

  test.each([
    ['gateway without a spend table', () => gatewayConfigFromEnv({ ...GATEWAY, PP_SPEND_TABLE: undefined }), 'PP_SPEND_TABLE is not set'],
    ['gateway with a privileged worker port', () => gatewayConfigFromEnv({ ...GATEWAY, PP_WORKER_PORT: '80' }), 'PP_WORKER_PORT is out of range'],
    ['gateway with an empty worker group in its list', () => gatewayConfigFromEnv({ ...GATEWAY, PP_WORKER_GROUP: 'pp-workers,' }), 'PP_WORKER_GROUP is malformed'],
    ['issuer with a private account key', () => issuerConfigFromEnv({ ...ISSUER, PP_ACCOUNT_JWK: '{"kty":"EC","crv":"P-256","x":"x","y":"y","d":"secret"}' }), 'PP_ACCOUNT_JWK must be an EC or OKP public key'],
    ['issuer with an HMAC account key', () => issuerConfigFromEnv({ ...ISSUER, PP_ACCOUNT_JWK: '{"kty":"oct","k":"c2VjcmV0"}' }), 'PP_ACCOUNT_JWK must be an EC or OKP public key'],
    ['issuer with an http request URI', () => issuerConfigFromEnv({ ...ISSUER, PP_REQUEST_URI: 'http://issuer.example/v1/token-request' }), 'PP_REQUEST_URI is malformed'],
    ['log writer with a witness over http', () => logWriterConfigFromEnv({ ...WRITER, PP_WITNESSES: '[{"url":"http://w.example","verifierKey":"k"}]' }), 'PP_WITNESSES must be a list of {url (https), verifierKey}'],
    ['log writer with a signer that is not a secret ARN', () => logWriterConfigFromEnv({ ...WRITER, PP_LOG_SIGNER_SECRET: 'log-signer' }), 'PP_LOG_SIGNER_SECRET is malformed'],
    ['rotation without the log writer URL', () => rotationConfigFromEnv({ ...ROTATE, PP_LOG_WRITER_URL: '' }), 'PP_LOG_WRITER_URL is not set'],
  ])('%s', (_, parse, message) => {
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(message);
  });
});

describe('log writer and rotation entries', () => {
  const config = { bucket: 'tlog', origin: ORIGIN, signerSecret: SECRET('signer'), witnesses: [], account: ACCOUNT, publisherRole: 'pp-release-publisher', rotationRole: 'pp-issuer-rotation' };
  const signer = async () => parseSignerKey(LOG_KEY.signerKey);

  const nitro = (id: string) => ({ ...releaseEntry(id), kind: 'nitro' as const });

  test('appends as the caller’s role allows, publishes to the bucket, refreshes on schedule, and re-reads when another instance wrote', async () => {
    const storage = new S3Storage(aws.s3, 'tlog');
    const first = createLogWriterHandler(config, { storage, signer });
    // In AWS the log takes only releases measured by nitro-cli.
    const emulated = (await first(event('POST', '/v1/entries', encodeLogEntry(releaseEntry('r0')), PUBLISHER, { 'content-type': 'application/cbor' }))) as ApiGatewayV2Result;
    expect([emulated.statusCode, json(emulated)]).toEqual([400, { error: 'EMULATED_NOT_ALLOWED' }]);
    const ok = (await first(event('POST', '/v1/entries', encodeLogEntry(nitro('r1')), PUBLISHER, { 'content-type': 'application/cbor' }))) as ApiGatewayV2Result;
    expect([ok.statusCode, json(ok)]).toEqual([200, { index: 0, size: 1 }]);
    expect(aws.objects.get(`tlog/${CHECKPOINT_PATH}`)!.body.toString()).toMatch(/^log\.private-processing\.test\n1\n/);
    const anonymous = (await first(event('POST', '/v1/entries', encodeLogEntry(nitro('r2')), undefined, { 'content-type': 'application/cbor' }))) as ApiGatewayV2Result;
    expect([anonymous.statusCode, json(anonymous)]).toEqual([401, { error: 'UNAUTHENTICATED' }]);
    expect(await first({ source: 'aws.events', 'detail-type': 'Scheduled Event' })).toEqual({ refreshed: 1 });

    // Another execution environment appends; the first must not fork the log from its stale copy.
    const second = createLogWriterHandler(config, { storage, signer });
    expect(json((await second(event('POST', '/v1/entries', encodeLogEntry(nitro('r2')), PUBLISHER, { 'content-type': 'application/cbor' }))) as ApiGatewayV2Result)).toEqual({ index: 1, size: 2 });
    expect(json((await first(event('POST', '/v1/entries', encodeLogEntry(nitro('r3')), PUBLISHER, { 'content-type': 'application/cbor' }))) as ApiGatewayV2Result)).toEqual({ index: 2, size: 3 });
  });

  test('rotation logs a new issuer key through the log writer, then stores it; a second run has nothing to do', async () => {
    const storage = new S3Storage(aws.s3, 'tlog-rotation');
    const writer = createLogWriterHandler({ ...config, bucket: 'tlog-rotation' }, { storage, signer });
    await writer({ source: 'aws.events', 'detail-type': 'Scheduled Event' }); // publishes the empty log
    aws.secretValues.set(SECRET('rotation-keys'), []);
    const keys = new SecretsIssuerKeyStore(aws.secrets, SECRET('rotation-keys'));
    const codes: string[] = [];
    const rotate = createRotationHandler(
      { keysSecret: SECRET('rotation-keys'), logBucket: 'tlog-rotation', logOrigin: ORIGIN, logKey: LOG_KEY.verifierKey, logWriterUrl: 'https://api.example/v1/entries', region: 'eu-west-1' },
      {
        keys,
        logStorage: storage,
        // What API Gateway does with the function's signed call: the caller is its role.
        append: async (entry) => {
          const r = (await writer(event('POST', '/v1/entries', encodeLogEntry(entry), ROTATION, { 'content-type': 'application/cbor' }))) as ApiGatewayV2Result;
          codes.push(String(r.statusCode));
          return json(r) as { index: number };
        },
      },
    );
    expect(await rotate()).toEqual({ rotated: true, logIndex: 0, revokedOrphans: 0 });
    expect(codes).toEqual(['200']);
    expect(await keys.list()).toHaveLength(1);
    expect(await rotate()).toEqual({ rotated: false, logIndex: null, revokedOrphans: 0 });
  });
});

describe('gateway and issuer entries', () => {
  const world = usePrivatePath();

  test('the gateway entry serves the key bundle from the published log and its workers; without a log it answers 503', async () => {
    await dynamo.createTable('spent');
    const path = world();
    const config = { issuerName: 'issuer.private-processing.test', originName: 'gateway.private-processing.test', spendTable: 'spent', logBucket: 'unused', logOrigin: ORIGIN, logKey: LOG_KEY.verifierKey, workerGroups: ['pp-workers'], workerPort: 8080 };
    const gateway = createGatewayHandler(config, { dynamo: dynamo.client, logStorage: path.logStorage, discover: () => path.workers.map((w) => w.parentUrl) });
    const keys = await gateway(event('GET', '/v1/keys'));
    expect(keys.statusCode).toBe(200);
    const bundle = decodeKeyBundle(new Uint8Array(Buffer.from(keys.body, 'base64')));
    expect(bundle.keys.map((k) => k.kmsKeyArn)).toEqual([path.world.config.sessionKeyArn]);
    const { encapsulated } = await encryptRequest(path.world.keyConfig, { body: { v: 1, chat: SAMPLE_CHAT } });
    const noToken = await gateway(event('POST', '/v1/ohttp', encapsulated, undefined, { 'content-type': 'message/ohttp-req' }));
    expect(noToken.statusCode).toBe(401);
    expect(noToken.headers['www-authenticate']).toMatch(/^PrivateToken challenge=/);

    const empty = createGatewayHandler(config, { dynamo: dynamo.client, logStorage: new S3Storage(aws.s3, 'no-log-here'), discover: () => [] });
    const unavailable = await empty(event('GET', '/v1/keys'));
    expect([unavailable.statusCode, json(unavailable)]).toEqual([503, { error: 'UNAVAILABLE' }]);
  });

  test('the issuer entry publishes its directory from the key store and refuses a bad credential', async () => {
    await dynamo.createTable('quota');
    const now = Math.floor(Date.now() / 1000);
    const keys = new MemoryIssuerKeyStore();
    await keys.add(await generateIssuerKey({ notBefore: now - 60, signUntil: now + 3600, notAfter: now + 7200 }));
    const account = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const issuer = createIssuerHandler(
      { keysSecret: SECRET('k'), quotaTable: 'quota', tokensPerDay: 10, requestUri: 'https://issuer.example/v1/token-request', accountKey: await exportJWK(account.publicKey), accountIssuer: 'https://accounts.example', accountAudience: 'pp' },
      { keys, dynamo: dynamo.client },
    );
    const directory = await issuer(event('GET', '/.well-known/private-token-issuer-directory'));
    expect(directory.statusCode).toBe(200);
    expect((json(directory)['token-keys'] as unknown[]).length).toBe(1);
    const refused = await issuer(event('POST', '/v1/token-request', new Uint8Array(10), undefined, { 'content-type': 'application/private-token-request', authorization: 'Bearer not-a-jwt' }));
    expect(refused.statusCode).toBe(401);
  });
});
