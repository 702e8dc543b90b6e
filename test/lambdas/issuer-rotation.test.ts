import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { equalBytes, type LogEntry } from '../../protocol';
import { LogWriterError } from '../../lambdas/log-writer/log';
import { FileIssuerKeyStore, MemoryIssuerKeyStore, signingKeyAt, type IssuerKeyRecord } from '../../lambdas/issuer/keys';
import { checkRotationPolicy, DEFAULT_ROTATION_POLICY, rotateIssuerKey, type RotationLog } from '../../lambdas/issuer-rotation/rotation';
import { acceptedIssuerKeys } from '../../lambdas/common/token-redeemer';
import { logWorld, T0 } from '../helpers/tlog';

const DAY = 86_400;

describe('issuer key rotation against the log writer', () => {
  test('the first key is logged before the issuer can see it, then used at once', async () => {
    const { log, clock } = await logWorld();
    const keys = new MemoryIssuerKeyStore();
    const seenAtAppend: number[] = [];
    const spy: RotationLog = {
      allEntries: () => log.allEntries(),
      append: async (entry, submitter) => {
        seenAtAppend.push((await keys.list()).length);
        return log.append(entry, submitter);
      },
    };
    const result = await rotateIssuerKey({ keys, log: spy, now: clock.now });
    expect(result.rotated).toBe(true);
    expect(seenAtAppend).toEqual([0]);
    const logged = log.allEntries().filter((e): e is LogEntry & { type: 'issuer_key' } => e.type === 'issuer_key');
    expect(logged).toHaveLength(1);
    expect(equalBytes(logged[0]!.tokenKeyId, result.key!.tokenKeyId)).toBe(true);
    expect(logged[0]!.notBefore).toBe(T0);
    expect(logged[0]!.notAfter).toBe(T0 + DEFAULT_ROTATION_POLICY.signingPeriod + DEFAULT_ROTATION_POLICY.overlap);
    expect(signingKeyAt(await keys.list(), T0)?.tokenKeyId).toEqual(result.key!.tokenKeyId);
  });

  test('a run that is not due does nothing', async () => {
    const { log, clock } = await logWorld();
    const keys = new MemoryIssuerKeyStore();
    await rotateIssuerKey({ keys, log, now: clock.now });
    clock.advance(DAY);
    expect((await rotateIssuerKey({ keys, log, now: clock.now })).rotated).toBe(false);
    expect(log.size).toBe(1);
  });

  test('hourly runs over 60 days: always exactly one signing key, at most two redeemable, every key logged before use, log writer never refuses', async () => {
    const { log, clock } = await logWorld({ witnesses: 0 });
    const keys = new MemoryIssuerKeyStore();
    let rotations = 0;
    for (let hour = 0; hour < 60 * 24; hour++) {
      const result = await rotateIssuerKey({ keys, log, now: clock.now });
      if (result.rotated) rotations++;
      const now = clock.seconds;
      const records = await keys.list();
      const signing = signingKeyAt(records, now);
      expect(signing).toBeDefined();
      const accepted = acceptedIssuerKeys(log.allEntries(), now);
      expect(accepted.length).toBeGreaterThanOrEqual(1);
      expect(accepted.length).toBeLessThanOrEqual(2);
      // The key the issuer signs with is one the gateway accepts, and is logged with the same window.
      expect(accepted.some((k) => equalBytes(k.tokenKeyId, signing!.tokenKeyId) && k.notAfter === signing!.notAfter)).toBe(true);
      clock.advance(3600);
    }
    // A successor every 6 days (7-day signing period, renewed 1 day ahead) plus 1 hour of activation delay:
    // at 0, 6 d, 12 d 1 h, …, 54 d 8 h.
    expect(rotations).toBe(10);
  });

  test('tokens fetched under the previous key stay redeemable through the overlap', async () => {
    const { log, clock } = await logWorld({ witnesses: 0 });
    const keys = new MemoryIssuerKeyStore();
    const first = (await rotateIssuerKey({ keys, log, now: clock.now })).key!;
    clock.seconds = first.signUntil - DEFAULT_ROTATION_POLICY.renewBefore;
    const second = (await rotateIssuerKey({ keys, log, now: clock.now })).key!;
    expect(second.notBefore).toBe(clock.seconds + DEFAULT_ROTATION_POLICY.activationDelay);
    clock.seconds = first.signUntil + DAY; // the issuer signs with the second key now
    expect(signingKeyAt(await keys.list(), clock.seconds)!.tokenKeyId).toEqual(second.tokenKeyId);
    expect(acceptedIssuerKeys(log.allEntries(), clock.seconds).map((k) => k.tokenKeyId)).toEqual([second.tokenKeyId, first.tokenKeyId]);
    clock.seconds = first.notAfter;
    expect(acceptedIssuerKeys(log.allEntries(), clock.seconds).map((k) => k.tokenKeyId)).toEqual([second.tokenKeyId]);
  });

  test('a key logged by a run that died before storing it is revoked by the next run, which then succeeds', async () => {
    const { log, clock } = await logWorld({ witnesses: 0 });
    const keys = new MemoryIssuerKeyStore();
    await rotateIssuerKey({ keys, log, now: clock.now });
    clock.advance(6 * DAY);
    const failing = new MemoryIssuerKeyStore();
    for (const r of await keys.list()) await failing.add(r);
    failing.add = async () => {
      throw new Error('store unavailable');
    };
    await expect(rotateIssuerKey({ keys: failing, log, now: clock.now })).rejects.toThrow('store unavailable');
    const orphan = log.allEntries().at(-1) as LogEntry & { type: 'issuer_key' };
    expect(orphan.type).toBe('issuer_key');

    clock.advance(3600);
    const retry = await rotateIssuerKey({ keys, log, now: clock.now });
    expect(retry.revokedOrphans).toBe(1);
    expect(retry.rotated).toBe(true);
    const accepted = acceptedIssuerKeys(log.allEntries(), clock.seconds + DAY);
    expect(accepted.some((k) => equalBytes(k.tokenKeyId, orphan.tokenKeyId))).toBe(false);
    expect(accepted.some((k) => equalBytes(k.tokenKeyId, retry.key!.tokenKeyId))).toBe(true);
  });

  test('the log writer refuses a third overlapping key, so a misconfigured rotation cannot partition users', async () => {
    const { log, clock } = await logWorld({ witnesses: 0 });
    const keys = new MemoryIssuerKeyStore();
    await rotateIssuerKey({ keys, log, now: clock.now });
    clock.advance(60);
    await rotateIssuerKey({ keys, log, now: clock.now }, true);
    clock.advance(60);
    let thrown: unknown;
    try {
      await rotateIssuerKey({ keys, log, now: clock.now }, true);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(LogWriterError);
    expect((thrown as LogWriterError).code).toBe('TOO_MANY_ISSUER_KEYS');
    expect((await keys.list()).length).toBe(2); // the refused key never reached the issuer
  });

  test('policies that would leave a gap or three live keys are refused', () => {
    expect(() => checkRotationPolicy(DEFAULT_ROTATION_POLICY)).not.toThrow();
    expect(() => checkRotationPolicy({ ...DEFAULT_ROTATION_POLICY, renewBefore: 3600 })).toThrow('renewBefore');
    expect(() => checkRotationPolicy({ ...DEFAULT_ROTATION_POLICY, signingPeriod: 3 * DAY })).toThrow('signingPeriod');
    expect(() => checkRotationPolicy({ ...DEFAULT_ROTATION_POLICY, overlap: 0 })).toThrow('positive');
  });
});

describe('file issuer key store (local stack)', () => {
  test('round-trips records and keeps the file owner-only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pp-issuer-keys-'));
    const path = join(dir, 'keys', 'issuer-keys.json');
    const store = new FileIssuerKeyStore(path);
    expect(await store.list()).toEqual([]);
    const { log, clock } = await logWorld({ witnesses: 0 });
    const { key } = await rotateIssuerKey({ keys: store, log, now: clock.now });
    const listed: IssuerKeyRecord[] = await new FileIssuerKeyStore(path).list();
    expect(listed).toHaveLength(1);
    expect(listed[0]).toEqual({ ...key, tokenKey: expect.any(Uint8Array), tokenKeyId: expect.any(Uint8Array) });
    expect(Buffer.from(listed[0]!.tokenKey)).toEqual(Buffer.from(key!.tokenKey));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});
