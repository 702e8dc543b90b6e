// Small stand-ins for the AWS services the Lambda entries call, speaking each service's
// wire protocol so that the real SDK clients are used unchanged: S3 (REST, path style),
// Secrets Manager (JSON 1.1) and EC2 (Query, XML). They check nothing about signatures:
// what is under test is our code's use of the clients, not AWS's authentication.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EC2Client } from '@aws-sdk/client-ec2';

const CREDENTIALS = { accessKeyId: 'AKIAFAKEAWS000000000', secretAccessKey: 'fake' };
const REGION = 'eu-west-1';

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export interface FakeAws {
  readonly s3: S3Client;
  readonly secrets: SecretsManagerClient;
  readonly ec2: EC2Client;
  /** bucket/key → object (with the headers it was written with). */
  readonly objects: Map<string, { body: Buffer; contentType?: string; cacheControl?: string }>;
  /** SecretId → versions, oldest first. */
  readonly secretValues: Map<string, string[]>;
  /** What DescribeInstances returns: private addresses and states. */
  instances: { privateIp?: string; state: string }[];
  readonly calls: string[];
  close(): Promise<void>;
}

export async function startFakeAws(): Promise<FakeAws> {
  const objects: FakeAws['objects'] = new Map();
  const secretValues: FakeAws['secretValues'] = new Map();
  const calls: string[] = [];
  const state = { instances: [] as FakeAws['instances'] };

  const s3Server = createServer((req, res) => {
    void (async () => {
      const key = decodeURIComponent(new URL(req.url!, 'http://x').pathname.slice(1));
      calls.push(`s3:${req.method} ${key}`);
      if (req.method === 'PUT') {
        objects.set(key, { body: await body(req), contentType: req.headers['content-type'], cacheControl: req.headers['cache-control'] as string | undefined });
        return void res.writeHead(200, { etag: '"x"' }).end();
      }
      const object = objects.get(key);
      if (req.method === 'GET' && object) return void res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': object.body.length }).end(object.body);
      res.writeHead(404, { 'content-type': 'application/xml' }).end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>');
    })();
  });

  const secretsServer = createServer((req, res) => {
    void (async () => {
      const target = String(req.headers['x-amz-target'] ?? '').replace('secretsmanager.', '');
      const input = JSON.parse((await body(req)).toString() || '{}') as { SecretId?: string; SecretString?: string };
      calls.push(`secretsmanager:${target}`);
      const versions = secretValues.get(input.SecretId ?? '');
      const json = (status: number, value: object) => res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(value));
      if (!versions) return void json(400, { __type: 'ResourceNotFoundException', message: 'Secrets Manager can’t find the specified secret.' });
      if (target === 'GetSecretValue') {
        if (versions.length === 0) return void json(400, { __type: 'ResourceNotFoundException', message: 'no version' });
        return void json(200, { ARN: input.SecretId, Name: 'secret', SecretString: versions.at(-1), VersionId: `v${versions.length}` });
      }
      if (target === 'PutSecretValue') {
        versions.push(input.SecretString ?? '');
        return void json(200, { ARN: input.SecretId, VersionId: `v${versions.length}` });
      }
      json(400, { __type: 'InvalidRequestException', message: target });
    })();
  });

  const ec2Server = createServer((req, res) => {
    void (async () => {
      const params = new URLSearchParams((await body(req)).toString());
      calls.push(`ec2:${params.get('Action')} ${[...params].filter(([k]) => k.startsWith('Filter')).map(([k, v]) => `${k}=${v}`).join('&')}`);
      const items = state.instances
        .map((i) => `<item><instanceId>i-0${Math.random().toString(16).slice(2, 10)}</instanceId>${i.privateIp ? `<privateIpAddress>${i.privateIp}</privateIpAddress>` : ''}<instanceState><code>16</code><name>${i.state}</name></instanceState></item>`)
        .join('');
      res
        .writeHead(200, { 'content-type': 'text/xml' })
        .end(`<?xml version="1.0" encoding="UTF-8"?><DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId><instancesSet>${items}</instancesSet></item></reservationSet></DescribeInstancesResponse>`);
    })();
  });

  const [s3Url, secretsUrl, ec2Url] = await Promise.all([listen(s3Server), listen(secretsServer), listen(ec2Server)]);
  const common = { region: REGION, credentials: CREDENTIALS, maxAttempts: 1 };
  const fake: FakeAws = {
    s3: new S3Client({ ...common, endpoint: s3Url, forcePathStyle: true }),
    secrets: new SecretsManagerClient({ ...common, endpoint: secretsUrl }),
    ec2: new EC2Client({ ...common, endpoint: ec2Url }),
    objects,
    secretValues,
    get instances() {
      return state.instances;
    },
    set instances(v) {
      state.instances = v;
    },
    calls,
    async close() {
      fake.s3.destroy();
      fake.secrets.destroy();
      fake.ec2.destroy();
      await Promise.all([s3Server, secretsServer, ec2Server].map((s) => new Promise((r) => s.close(r))));
    },
  };
  return fake;
}
