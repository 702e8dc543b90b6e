// The parent proxy as the worker runs it: its own process, configured by a file, with
// credentials from an IMDSv2 endpoint (a fake one here) and the boot files from disk; an
// enclave that compiles in only its release boots from it and serves a summary.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseParentConfig } from '../../enclave-app/parent/main';
import { parentProxyBundle } from '../../scripts/release';
import { startEnclave, type RunningEnclave } from '../../enclave-app/start';
import { enclaveWorld, exchange, MEASUREMENT, SAMPLE_CHAT, type EnclaveWorld } from '../helpers/enclave';
import { IDENTITIES, REGION } from '../helpers/kms';

jest.setTimeout(90_000);
const ROOT = join(__dirname, '..', '..');
const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const GOOD = { enclavePort: 5000, listen: { host: '0.0.0.0', port: 8080 }, sessionKeyArn: KEY, modelKeyArn: KEY, encryptedModelDataKeyFile: '/opt/pp/key', sealedModelFile: '/opt/pp/model' };

test.each([
  ['not JSON', '{', 'config: not JSON'],
  ['no enclave port', JSON.stringify({ ...GOOD, enclavePort: 0 }), 'config: enclavePort must be a port'],
  ['a host name to listen on', JSON.stringify({ ...GOOD, listen: { host: 'gateway.example', port: 8080 } }), 'config: listen must be {host, port}'],
  ['a key that is not a KMS key ARN', JSON.stringify({ ...GOOD, sessionKeyArn: 'alias/session' }), 'config: sessionKeyArn and modelKeyArn must be KMS key ARNs'],
  ['a metadata endpoint elsewhere', JSON.stringify({ ...GOOD, imdsEndpoint: 'http://metadata.example' }), 'config: imdsEndpoint is the instance metadata service'],
])('parseParentConfig refuses %s', (_, json, message) => {
  expect(() => parseParentConfig(json)).toThrow(message);
});

let world: EnclaveWorld;
let enclave: RunningEnclave;
let imds: Server;
const imdsCalls: string[] = [];

beforeAll(async () => {
  world = await enclaveWorld();
  enclave = await startEnclave({
    nsm: await world.kms.nsm({ measurement: MEASUREMENT }),
    region: REGION,
    kmsEndpointOverride: world.kms.url,
    listen: { host: '127.0.0.1', port: 0 },
    deadlines: 'off',
    config: { fromParent: { releaseId: world.config.releaseId, modelSha256: world.config.modelSha256 } },
  });
  // IMDSv2: a token first, then the role, then its credentials (the worker role's, as the KMS emulator knows them).
  imds = createServer((req, res) => {
    imdsCalls.push(`${req.method} ${req.url}`);
    if (req.method === 'PUT' && req.url === '/latest/api/token') return void res.end('imds-token');
    if (req.headers['x-aws-ec2-metadata-token'] !== 'imds-token') return void res.writeHead(401).end();
    if (req.url === '/latest/meta-data/iam/security-credentials/') return void res.end('pp-enclave-worker');
    if (req.url === '/latest/meta-data/iam/security-credentials/pp-enclave-worker') {
      return void res.end(JSON.stringify({ Code: 'Success', AccessKeyId: IDENTITIES.worker.accessKeyId, SecretAccessKey: IDENTITIES.worker.secretAccessKey, Token: 'session', Expiration: new Date(Date.now() + 3600_000).toISOString() }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => imds.listen(0, '127.0.0.1', r));
});

afterAll(async () => {
  await enclave?.close();
  await new Promise((r) => imds?.close(r));
  await world?.stop();
});

test('a parent process with IMDSv2 credentials and boot files boots the enclave, which serves', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-parent-'));
  writeFileSync(join(dir, 'key'), world.config.encryptedModelDataKey);
  writeFileSync(join(dir, 'model'), world.config.sealedModel);
  const config = {
    enclavePort: (enclave.address as { port: number }).port,
    listen: { host: '127.0.0.1', port: 0 },
    sessionKeyArn: world.config.sessionKeyArn,
    modelKeyArn: world.config.modelKeyArn,
    encryptedModelDataKeyFile: join(dir, 'key'),
    sealedModelFile: join(dir, 'model'),
    imdsEndpoint: `http://127.0.0.1:${(imds.address() as { port: number }).port}`,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'enclave-app', 'parent', 'main.ts'), join(dir, 'config.json')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', () => {
        const m = /"event":"listening","port":(\d+)/.exec(stdout);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`parent exited ${code}`)));
    });
    const parentUrl = `http://127.0.0.1:${port}`;
    await fetch(`${parentUrl}/healthz`);
    await enclave.booted;
    const r = await exchange({ parentUrl } as never, world.keyConfig, { body: { v: 1, chat: SAMPLE_CHAT } });
    expect(r.status).toBe(200);
    expect(imdsCalls.slice(0, 3)).toEqual(['PUT /latest/api/token', 'GET /latest/meta-data/iam/security-credentials/', 'GET /latest/meta-data/iam/security-credentials/pp-enclave-worker']);
    // Its log lines are the allowlisted ones: no chat text.
    expect(stdout).not.toMatch(/picnic|blanket/i);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
});

test('the release ships the parent proxy as one bundle that runs with node alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-parent-bundle-'));
  writeFileSync(join(dir, 'parent-proxy.js'), parentProxyBundle());
  const usage = spawnSync(process.execPath, [join(dir, 'parent-proxy.js')], { encoding: 'utf8', cwd: dir });
  expect([usage.status, usage.stderr]).toEqual([1, 'parent-proxy: usage: parent-proxy <config.json>\n']);
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...GOOD, enclavePort: 'x' }));
  const bad = spawnSync(process.execPath, [join(dir, 'parent-proxy.js'), join(dir, 'bad.json')], { encoding: 'utf8', cwd: dir });
  expect([bad.status, bad.stderr]).toEqual([1, 'parent-proxy: config: enclavePort must be a port\n']);
});
