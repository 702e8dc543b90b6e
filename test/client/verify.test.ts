// The verification pipeline, one fixture per failure: each step fails on its own with
// its code, on an otherwise valid live set and bundle taken from the local path.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { decodeKeyBundle, encodeKeyBundle, encodeUserData, sessionKeyConfigBytes, type KeyBundle } from '../../protocol';
import { TamperAlert } from '../../client';
import { LogSync, type LiveSet } from '../../client/log/sync';
import { isStale, verifyBundle } from '../../client/verify';
import { MEASUREMENT } from '../helpers/enclave';
import { MODIFIED } from '../helpers/kms';
import { CLIENT_LOG_CONFIG, usePrivatePath, type PrivatePath } from '../helpers/private-path';

jest.setTimeout(60_000);
const world = usePrivatePath();
let path: PrivatePath;
let live: LiveSet;
let bundleBytes: Uint8Array;
let bundle: KeyBundle;
let anchor: string;

beforeAll(async () => {
  path = world();
  const sync = new LogSync({
    ...CLIENT_LOG_CONFIG,
    fetch: async (p) => {
      const res = await fetch(`${path.relayUrl}/log/${p}`);
      return res.status === 200 ? new Uint8Array(await res.arrayBuffer()) : undefined;
    },
  });
  await sync.sync();
  live = sync.liveSet();
  bundleBytes = new Uint8Array(await (await fetch(`${path.relayUrl}/v1/keys`)).arrayBuffer());
  bundle = decodeKeyBundle(bundleBytes);
  anchor = path.world.kms.rootPem;
});

const now = () => new Date();
async function failure(bytes: Uint8Array, liveSet: LiveSet = live, options: { trustAnchorPem?: string | undefined; now?: Date } = {}) {
  const err = await verifyBundle(bytes, liveSet, { now: options.now ?? now(), ...('trustAnchorPem' in options ? (options.trustAnchorPem ? { trustAnchorPem: options.trustAnchorPem } : {}) : { trustAnchorPem: anchor }) }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TamperAlert);
  return err as TamperAlert;
}
const withEntry = (change: Partial<KeyBundle['keys'][number]>) => encodeKeyBundle({ ...bundle, keys: [{ ...bundle.keys[0]!, ...change }] });
const sessionKey = () => live.sessionKeys[0]!;
const withSessionKey = (change: object): LiveSet => {
  const changed = { ...sessionKey(), ...change };
  return { ...live, sessionKeys: [changed], currentSessionKey: changed };
};

async function attestation(userData: Parameters<typeof encodeUserData>[0], measurement = MEASUREMENT): Promise<Uint8Array> {
  const nsm = await path.world.kms.nsm({ measurement });
  return nsm.attest({ userData: encodeUserData(userData) });
}
const sha256 = (b: Uint8Array | string) => new Uint8Array(createHash('sha256').update(b).digest());
function binding(change: object = {}) {
  const k = sessionKey();
  const t = Math.floor(Date.now() / 1000);
  return { keyConfigSha256: sha256(k.keyConfig), kmsKeyArn: k.kmsKeyArn, keyPolicySha256: sha256(k.keyPolicy), releaseId: k.releaseId, policyCheckedAt: t, notAfter: t + 600, ...change };
}

test('the unaltered bundle verifies: the logged key, its release and a fresh attestation', async () => {
  const key = await verifyBundle(bundleBytes, live, { now: now(), trustAnchorPem: anchor });
  expect(Buffer.from(key.keyConfigBytes)).toEqual(Buffer.from(sessionKey().keyConfig));
  expect(key.pcr0).toBe(MEASUREMENT.pcr0);
  expect(key.validUntil).toBeGreaterThan(Date.now());
  // A binding fixture made here verifies too, so the failures below are the changes alone.
  const doc = await attestation(binding());
  await expect(verifyBundle(withEntry({ attestation: doc }), live, { now: now(), trustAnchorPem: anchor })).resolves.toBeDefined();
});

describe('step bundle', () => {
  test('MALFORMED bytes', async () => {
    const alert = await failure(new Uint8Array([1, 2, 3]));
    expect(alert.step).toBe('bundle');
    expect(alert.evidence.bundleLength).toBe(3);
  });
  test('EXTRA_KEY: a key the log does not hold', async () => {
    const alert = await failure(withEntry({ kmsKeyArn: sessionKey().kmsKeyArn.replace(/key\/.*/, 'key/99999999-0000-4000-8000-000000000000') }));
    expect([alert.step, alert.code]).toEqual(['bundle', 'EXTRA_KEY']);
  });
  test('KEY_CONFIG_MISMATCH: the logged key with other key-config bytes', async () => {
    const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
    const alert = await failure(withEntry({ keyConfig: sessionKeyConfigBytes(new Uint8Array(spki)) }));
    expect([alert.step, alert.code]).toEqual(['bundle', 'KEY_CONFIG_MISMATCH']);
  });
  test('RELEASE_NOT_PUBLISHED: a key of a release still in its publication delay', async () => {
    const pending: LiveSet = { ...live, sessionKeys: [], pendingSessionKeys: [sessionKey()] };
    const { currentSessionKey: _, ...withoutCurrent } = pending;
    const alert = await failure(bundleBytes, withoutCurrent);
    expect([alert.step, alert.code]).toEqual(['bundle', 'RELEASE_NOT_PUBLISHED']);
  });
});

describe('step key-policy', () => {
  test('a logged policy that is not the release template', async () => {
    const policy = JSON.parse(sessionKey().keyPolicy) as { Statement: unknown[] };
    policy.Statement.push({ Sid: 'Extra', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' });
    const alert = await failure(bundleBytes, withSessionKey({ keyPolicy: JSON.stringify(policy) }));
    expect(alert.step).toBe('key-policy');
    expect(alert.evidence.keyPolicySha256).toMatch(/^[0-9a-f]{64}$/);
  });
  test('WRONG_KEY_SPEC in the logged DescribeKey', async () => {
    const describe = JSON.parse(sessionKey().describeKey) as { KeyMetadata: Record<string, unknown> };
    describe.KeyMetadata.KeySpec = 'RSA_2048';
    const alert = await failure(bundleBytes, withSessionKey({ describeKey: JSON.stringify(describe) }));
    expect([alert.step, alert.code]).toEqual(['key-policy', 'WRONG_KEY_SPEC']);
  });
});

describe('step attestation', () => {
  test('CHAIN_UNTRUSTED under the production anchor', async () => {
    const alert = await failure(bundleBytes, live, { trustAnchorPem: undefined });
    expect([alert.step, alert.code]).toEqual(['attestation', 'CHAIN_UNTRUSTED']);
  });
  test('PCR_NOT_RELEASED: an enclave of another image, even with a correct binding', async () => {
    const alert = await failure(withEntry({ attestation: await attestation(binding(), MODIFIED) }));
    expect([alert.step, alert.code]).toEqual(['attestation', 'PCR_NOT_RELEASED']);
  });
  test('SIGNATURE_INVALID: one flipped byte in the signature', async () => {
    const doc = Uint8Array.from(bundle.keys[0]!.attestation);
    doc[doc.length - 5] = doc[doc.length - 5]! ^ 1;
    const alert = await failure(withEntry({ attestation: doc }));
    expect([alert.step, alert.code]).toEqual(['attestation', 'SIGNATURE_INVALID']);
  });
  test('STALE: older than 10 minutes (a fresh bundle may cure it)', async () => {
    const alert = await failure(bundleBytes, live, { now: new Date(Date.now() + 11 * 60_000) });
    expect([alert.step, alert.code]).toEqual(['attestation', 'STALE']);
    expect(isStale(alert)).toBe(true);
  });
});

describe('step binding', () => {
  test('KEY_NOT_BOUND: user_data binds another key config', async () => {
    const alert = await failure(withEntry({ attestation: await attestation(binding({ keyConfigSha256: sha256('another') })) }));
    expect([alert.step, alert.code]).toEqual(['binding', 'KEY_NOT_BOUND']);
    expect(isStale(alert)).toBe(false);
  });
  test('KEY_NOT_BOUND: user_data binds another policy, release or key', async () => {
    for (const change of [{ keyPolicySha256: sha256('{}') }, { releaseId: 'another-release' }, { kmsKeyArn: sessionKey().kmsKeyArn.replace(/.$/, (c) => (c === '9' ? '8' : '9')) }]) {
      const alert = await failure(withEntry({ attestation: await attestation(binding(change)) }));
      expect([alert.step, alert.code]).toEqual(['binding', 'KEY_NOT_BOUND']);
    }
  });
  test('STALE: the enclave last checked its key more than 10 minutes ago', async () => {
    const t = Math.floor(Date.now() / 1000);
    const alert = await failure(withEntry({ attestation: await attestation(binding({ policyCheckedAt: t - 900, notAfter: t + 600 })) }));
    expect([alert.step, alert.code]).toEqual(['binding', 'STALE']);
    expect(isStale(alert)).toBe(true);
  });
});
