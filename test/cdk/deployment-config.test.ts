// The deployment config: parsed strictly, each refusal with its own code.
import { readFileSync } from 'node:fs';
import { encodeReleaseManifest, generateCosignerKey } from '../../protocol';
import { MAX_LIVE_SESSION_KEYS, checkTrustedPrincipal, parseDeploymentConfig, rotationDueAt, type DeploymentMode } from '../../lib/deployment-config';
import { InfrastructureError, type InfrastructureErrorCode } from '../../lib/errors';
import { anotherRelease, EXAMPLE_CONFIG, EXAMPLE_CONFIG_PATH, EXAMPLE_MANIFEST, type ExampleConfigJson } from '../helpers/cdk';
import { expectCode } from '../helpers/fixtures';

const manifests: Record<string, string> = {
  [EXAMPLE_CONFIG.releases[0]!.manifest]: encodeReleaseManifest(EXAMPLE_MANIFEST),
  'releases/second.json': encodeReleaseManifest(anotherRelease('second', 'cd'.repeat(48))),
  'releases/third.json': encodeReleaseManifest(anotherRelease('third', 'ef'.repeat(48))),
  'releases/emulated.json': encodeReleaseManifest(anotherRelease('emulated', 'ab'.repeat(48), 'emulated')),
};
const readManifest = (path: string) => {
  if (!(path in manifests)) throw new Error(`no manifest ${path}`);
  return manifests[path]!;
};

function parse(edit: (c: ExampleConfigJson) => void = () => {}, mode: DeploymentMode = 'production') {
  const config = structuredClone(EXAMPLE_CONFIG);
  edit(config);
  return parseDeploymentConfig(JSON.stringify(config), { mode, readManifest });
}

const refused = (code: InfrastructureErrorCode, edit: (c: ExampleConfigJson) => void, mode: DeploymentMode = 'production') =>
  expectCode(() => parse(edit, mode), InfrastructureError, code);

test('the committed example config parses, with its release manifest decoded', () => {
  const config = parseDeploymentConfig(readFileSync(EXAMPLE_CONFIG_PATH, 'utf8'), { mode: 'production', readManifest });
  expect(config.account).toBe('111122223333');
  expect(config.releases[0]!.manifest).toEqual(EXAMPLE_MANIFEST);
  expect(config.releases[0]!.manifest.kind).toBe('nitro');
  expect(config.keys).toEqual({ sessionKeyRotationDays: 7, pendingWindowDays: 7, releasedKeysRecord: 'released-keys.json' });
});

test('strict JSON: not JSON, a duplicate field, an unknown field or a missing field is CONFIG_MALFORMED', async () => {
  await expectCode(() => parseDeploymentConfig('{', { mode: 'production', readManifest }), InfrastructureError, 'CONFIG_MALFORMED');
  await expectCode(() => parseDeploymentConfig('{"version":1,"version":1}', { mode: 'production', readManifest }), InfrastructureError, 'CONFIG_MALFORMED');
  await refused('CONFIG_MALFORMED', (c) => (c.extra = true));
  await refused('CONFIG_MALFORMED', (c) => delete (c as Partial<ExampleConfigJson>).region);
  await refused('CONFIG_MALFORMED', (c) => ((c.network as Record<string, unknown>).natGateways = 1));
  await refused('CONFIG_MALFORMED', (c) => ((c.releases[0] as Record<string, unknown>).kmsKeyArn = 'x'));
});

test('account, region and zones: each outside its rule is CONFIG_INVALID', async () => {
  await refused('CONFIG_INVALID', (c) => (c.account = '1234'));
  await refused('CONFIG_INVALID', (c) => (c.region = 'europe'));
  await refused('CONFIG_INVALID', (c) => (c.availabilityZones = ['eu-west-1a']));
  await refused('CONFIG_INVALID', (c) => (c.availabilityZones = ['eu-west-1a', 'us-east-1b']));
  await refused('CONFIG_INVALID', (c) => (c.availabilityZones = ['eu-west-1a', 'eu-west-1a']));
});

test('network: a public or oversized CIDR, a bad prefix list, port or retention is CONFIG_INVALID', async () => {
  const net = (field: string, value: unknown) => (c: ExampleConfigJson) => ((c.network as Record<string, unknown>)[field] = value);
  for (const cidr of ['8.8.0.0/16', '10.0.0.0/8', '10.0.0.0/25', '10.0.0.1/16', '300.0.0.0/16']) await refused('CONFIG_INVALID', net('vpcCidr', cidr));
  await refused('CONFIG_INVALID', net('s3PrefixListId', 'pl-*'));
  await refused('CONFIG_INVALID', net('workerPort', 22));
  await refused('CONFIG_INVALID', net('flowLogRetentionDays', 8));
  expect(parse(net('vpcCidr', '172.20.0.0/20')).network.vpcCidr).toBe('172.20.0.0/20');
});

test('trusted principals: *, a wildcard, an account root, a service or a non-ARN is UNTRUSTED_PRINCIPAL', async () => {
  for (const p of ['*', 'arn:aws:iam::111122223333:role/*', 'arn:aws:iam::*:role/release', 'arn:aws:iam::111122223333:root', 'ec2.amazonaws.com', 'arn:aws:sts::111122223333:assumed-role/r/s', '111122223333']) {
    await expectCode(() => checkTrustedPrincipal(p), InfrastructureError, 'UNTRUSTED_PRINCIPAL');
    await refused('UNTRUSTED_PRINCIPAL', (c) => (c.trustedPrincipals.publisher = [p]));
    await refused('UNTRUSTED_PRINCIPAL', (c) => (c.trustedPrincipals.modelOwner = [p]));
  }
  await refused('CONFIG_INVALID', (c) => (c.trustedPrincipals.publisher = []));
  expect(() => checkTrustedPrincipal('arn:aws:iam::444455556666:role/ci/release-pipeline')).not.toThrow();
  expect(() => checkTrustedPrincipal('arn:aws:iam::111122223333:user/model-owner')).not.toThrow();
});

test('keys: rotation days and a pending window outside KMS\'s 7 to 30 days are CONFIG_INVALID', async () => {
  await refused('CONFIG_INVALID', (c) => (c.keys.pendingWindowDays = 6));
  await refused('CONFIG_INVALID', (c) => (c.keys.pendingWindowDays = 31));
  await refused('CONFIG_INVALID', (c) => (c.keys.sessionKeyRotationDays = 0));
});

test('relay: the deployment\'s own account, a certificate outside us-east-1 or of another account, or a URL with a path is CONFIG_INVALID', async () => {
  const relay = (field: string, value: unknown) => (c: ExampleConfigJson) => (c.relay[field] = value);
  await refused('CONFIG_INVALID', relay('account', EXAMPLE_CONFIG.account));
  await refused('CONFIG_INVALID', relay('certificateArn', 'arn:aws:acm:eu-west-1:444455556666:certificate/00000000-0000-4000-8000-000000000000'));
  await refused('CONFIG_INVALID', relay('certificateArn', 'arn:aws:acm:us-east-1:111122223333:certificate/00000000-0000-4000-8000-000000000000'));
  for (const url of ['http://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com', 'https://gw.example.org/v1', 'https://gw.example.org?x=1', 'https://user@gw.example.org']) {
    await refused('CONFIG_INVALID', relay('gatewayUrl', url));
    await refused('CONFIG_INVALID', relay('logUrl', url));
  }
  await refused('CONFIG_INVALID', relay('domainName', 'Relay Example'));
  await refused('CONFIG_INVALID', relay('logRetentionDays', 2));
  await refused('CONFIG_MALFORMED', (c) => delete c.relay.gatewayUrl);
  await refused('CONFIG_MALFORMED', (c) => (c.relay.logging = true));
});

test('gateway: a private or symmetric account key, a throttle or concurrency out of range, an http token URI is refused', async () => {
  const gw = (edit: (g: Record<string, any>) => void) => (c: ExampleConfigJson) => edit(c.gateway);
  await refused('CONFIG_INVALID', gw((g) => (g.accountKey = { ...g.accountKey, d: 'private' })));
  await refused('CONFIG_INVALID', gw((g) => (g.accountKey = { kty: 'oct', k: 'c2VjcmV0' })));
  await refused('CONFIG_MALFORMED', gw((g) => (g.accountKey = 'not a jwk')));
  await refused('CONFIG_INVALID', gw((g) => (g.throttle.rateLimit = 0)));
  await refused('CONFIG_INVALID', gw((g) => (g.throttle.burstLimit = 10_000)));
  await refused('CONFIG_INVALID', gw((g) => (g.reservedConcurrency.gateway = 0)));
  await refused('CONFIG_INVALID', gw((g) => (g.tokenRequestUri = 'http://issuer.example.org/v1/token-request')));
  await refused('CONFIG_INVALID', gw((g) => (g.issuerName = 'issuer')));
  await refused('CONFIG_MALFORMED', gw((g) => (g.xray = true)));
});

test('transparency: fewer than two or more than four witnesses, an http witness, a bad verifier key or a bad trail bucket is CONFIG_INVALID', async () => {
  const tr = (edit: (t: ExampleConfigJson['transparency']) => void) => (c: ExampleConfigJson) => edit(c.transparency);
  await refused('CONFIG_INVALID', tr((t) => (t.witnesses = t.witnesses.slice(0, 1))));
  // The log writer asks witnesses one after another inside its 28 s timeout.
  await refused('CONFIG_INVALID', tr((t) => (t.witnesses = [1, 2, 3, 4, 5].map((i) => ({ url: `https://w${i}.example.net`, verifierKey: generateCosignerKey(`w${i}.example.net`).verifierKey })))));
  await refused('CONFIG_INVALID', tr((t) => (t.witnesses = [t.witnesses[0]!, t.witnesses[0]!])));
  await refused('CONFIG_INVALID', tr((t) => (t.witnesses[0]!.url = 'http://witness-a.example.net')));
  // A log (note) key where a cosigner key belongs, and the other way round.
  await refused('CONFIG_INVALID', tr((t) => (t.witnesses[0]!.verifierKey = t.logVerifierKey)));
  await refused('CONFIG_INVALID', tr((t) => (t.logVerifierKey = t.witnesses[0]!.verifierKey)));
  await refused('CONFIG_INVALID', tr((t) => (t.auditTrailBucketArn = 'example-auditor-cloudtrail')));
  await refused('CONFIG_INVALID', tr((t) => (t.objectLockRetentionDays = 0)));
  await refused('CONFIG_INVALID', tr((t) => (t.logOrigin = 'log.example.org/pp')));
});

test('workers: an instance type without Nitro Enclaves or too small, odd or too many enclave CPUs, too much memory, max not above min is CONFIG_INVALID', async () => {
  const wk = (field: string, value: unknown) => (c: ExampleConfigJson) => (c.workers[field] = value);
  for (const type of ['t3.xlarge', 'm6i.large', 'm6i', 'm6i.xlarge.extra', 'm6i.metal']) await refused('CONFIG_INVALID', wk('instanceType', type));
  await refused('CONFIG_INVALID', wk('enclaveCpuCount', 3));
  await refused('CONFIG_INVALID', wk('enclaveCpuCount', 4)); // m6i.xlarge has 4 vCPUs: the parent keeps 2
  await refused('CONFIG_INVALID', wk('enclaveMemoryMiB', 15 * 1024)); // of 16 GiB, the parent keeps 2
  await refused('CONFIG_INVALID', wk('maxInstances', EXAMPLE_CONFIG.workers.minInstances));
  await refused('CONFIG_INVALID', wk('amiId', 'ami-xyz'));
  expect(parse((c) => Object.assign(c.workers, { instanceType: 'm7g.2xlarge', enclaveCpuCount: 6, enclaveMemoryMiB: 28 * 1024 })).workers.enclaveCpuCount).toBe(6);
});

test('emulated release outside local mode: EMULATED_RELEASE_OUTSIDE_LOCAL_MODE; accepted in local mode', async () => {
  const useEmulated = (c: ExampleConfigJson) => (c.releases[0]!.manifest = 'releases/emulated.json');
  await refused('EMULATED_RELEASE_OUTSIDE_LOCAL_MODE', useEmulated);
  expect(parse(useEmulated, 'local').releases[0]!.manifest.kind).toBe('emulated');
});

test('a manifest that does not decode: MANIFEST_INVALID', async () => {
  manifests['releases/broken.json'] = '{"version":1}';
  await refused('MANIFEST_INVALID', (c) => (c.releases[0]!.manifest = 'releases/broken.json'));
});

test('releases: a duplicate release, generations out of order or not later, or a retired release with a live key is RELEASES_INVALID', async () => {
  await refused('RELEASES_INVALID', (c) => c.releases.push(structuredClone(c.releases[0]!)));
  await refused('RELEASES_INVALID', (c) => (c.releases[0]!.sessionKeys[0]!.generation = 2));
  await refused('RELEASES_INVALID', (c) => c.releases[0]!.sessionKeys.push({ generation: 2, notBefore: '2026-11-26T00:00:00Z', state: 'live' }));
  await refused('RELEASES_INVALID', (c) => (c.releases[0]!.sessionKeys = []));
  await refused('RELEASES_INVALID', (c) => (c.releases[0]!.modelKey = 'retired'));
  await refused('CONFIG_INVALID', (c) => (c.releases[0]!.sessionKeys[0]!.notBefore = '2026-11-27'));
  await refused('CONFIG_INVALID', (c) => (c.releases[0]!.sessionKeys[0]!.state = 'disabled'));
});

test(`live session keys: more than ${MAX_LIVE_SESSION_KEYS} at once is TOO_MANY_LIVE_SESSION_KEYS, across releases`, async () => {
  const generation = (n: number, state = 'live') => ({ generation: n, notBefore: `2026-12-${String(n).padStart(2, '0')}T00:00:00Z`, state });
  await refused('TOO_MANY_LIVE_SESSION_KEYS', (c) => (c.releases[0]!.sessionKeys = [generation(1), generation(2), generation(3)]));
  await refused('TOO_MANY_LIVE_SESSION_KEYS', (c) => {
    c.releases[0]!.sessionKeys = [generation(1), generation(2)];
    c.releases.push({ manifest: 'releases/second.json', modelKey: 'live', sessionKeys: [generation(1)] });
  });
  // A roll-out: the old release's last generation and the new release's first.
  const rollout = parse((c) => {
    c.releases[0]!.sessionKeys = [generation(1, 'retired'), generation(2)];
    c.releases.push({ manifest: 'releases/second.json', modelKey: 'live', sessionKeys: [generation(1)] });
  });
  expect(rollout.releases.flatMap((r) => r.sessionKeys.filter((g) => g.state === 'live'))).toHaveLength(2);
});

test('rotation schedule: a generation is due for replacement rotation-days after its notBefore', () => {
  expect(rotationDueAt({ generation: 1, notBefore: '2026-11-27T00:00:00Z', state: 'live' }, 7)).toBe('2026-12-04T00:00:00Z');
});
