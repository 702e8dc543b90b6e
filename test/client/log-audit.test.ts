// `ppx audit`'s engine: an honest log passes; a log that signed another history, or holds
// an entry its own writer would have refused, is reported with the rule's code.
import { attestedKeyPolicy, checkpointHistoryPath, encodeLogEntry, keyPolicyJson, ROLE_NAMES } from '../../protocol';
import { auditLog } from '../../client/log/audit';
import { LogSyncError, type LogSyncConfig } from '../../client/log/sync';
import { MemoryStorage } from '../../lambdas/log-writer/storage';
import { ACCOUNT, Clock, REGION, T0, fabricateLog, syncConfig, issuerKeyEntry, keyArn, logWorld, releaseEntry, sessionKeyEntry } from '../helpers/tlog';

function config(storage: MemoryStorage, clock: Clock): LogSyncConfig {
  return syncConfig(storage, clock);
}

async function honest() {
  const world = await logWorld();
  await world.log.append(releaseEntry('r1'), 'publisher');
  await world.log.append(sessionKeyEntry('r1'), 'publisher');
  await world.log.append(issuerKeyEntry(), 'rotation');
  world.clock.advance(60);
  return world;
}

test('an honest log: every checkpoint of its history verified, no problems, the live set', async () => {
  const { storage, clock } = await honest();
  const report = await auditLog(config(storage, clock), { local: true });
  expect(report.size).toBe(3);
  expect(report.counts).toEqual({ release: 1, session_key: 1, issuer_key: 1, revocation: 0 });
  expect(report.historyVerified).toBe(3);
  expect(report.historyMissing).toBe(0);
  expect(report.problems).toEqual([]);
  expect(report.warnings).toEqual([]);
  expect(report.releases.map((r) => r.releaseId)).toEqual(['r1']);
  expect(report.live.sessionKeys).toHaveLength(1);
});

test('outside local mode, an emulated release is a warning', async () => {
  const { storage, clock } = await honest();
  const report = await auditLog(config(storage, clock));
  expect(report.warnings.map((w) => [w.at, w.code])).toEqual([[0, 'EMULATED_RELEASE']]);
  expect(report.problems).toEqual([]);
});

test('a history checkpoint of another tree at some size is FORKED', async () => {
  const { storage, clock } = await honest();
  // The log signed a different entry 1 at size 2 once (what a split view leaves behind).
  const other = [releaseEntry('r1'), releaseEntry('r2')].map(encodeLogEntry);
  const forked = await fabricateLog(other, { cosignedAt: T0, storage: new MemoryStorage() });
  await storage.write(checkpointHistoryPath(2), new TextEncoder().encode(forked.note));
  const report = await auditLog(config(storage, clock), { local: true });
  expect(report.problems.map((p) => [p.at, p.code])).toEqual([[2, 'FORKED']]);
  expect(report.historyVerified).toBe(2);
});

test('history files that are missing are counted; one signed by another key is HISTORY_INVALID; one of another size HISTORY_SIZE', async () => {
  const { storage, clock } = await honest();
  await storage.write(checkpointHistoryPath(1), new Uint8Array(0));
  const missing = await auditLog(config({ read: async (p: string) => (p === checkpointHistoryPath(1) ? undefined : storage.read(p)) } as MemoryStorage, clock), { local: true });
  expect([missing.historyMissing, missing.historyVerified, missing.problems]).toEqual([1, 2, []]);
  await storage.write(checkpointHistoryPath(1), new TextEncoder().encode('log.private-processing.test\n1\nAAAA\n\n— someone AAAA\n'));
  expect((await auditLog(config(storage, clock), { local: true })).problems.map((p) => [p.at, p.code])).toEqual([[1, 'HISTORY_INVALID']]);
  await storage.write(checkpointHistoryPath(1), (await storage.read(checkpointHistoryPath(2)))!);
  expect((await auditLog(config(storage, clock), { local: true })).problems.map((p) => [p.at, p.code])).toEqual([[1, 'HISTORY_SIZE']]);
});

test.each([
  ['a session key whose policy is for another measurement', 'KEY_REJECTED', () => sessionKeyEntry('r1', keyArn(), undefined, 'b2'.repeat(48))],
  ['a session key of a release the log does not hold', 'UNKNOWN_RELEASE', () => sessionKeyEntry('r9')],
  ['a second entry for the same release', 'RELEASE_EXISTS', () => releaseEntry('r1')],
  [
    'a session key that lets the account root derive',
    'KEY_REJECTED',
    () => {
      const policy = attestedKeyPolicy({ pcr0: 'a1'.repeat(48), account: ACCOUNT, region: REGION, roles: ROLE_NAMES });
      policy.Statement.push({ Sid: 'Root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' });
      return { ...sessionKeyEntry('r1'), keyPolicy: keyPolicyJson(policy) };
    },
  ],
] as const)('a log holding %s (signed and cosigned all the same) → %s', async (_, code, entry) => {
  // The log's own key signs whatever it likes: only replaying the rules catches this.
  const raw = [releaseEntry('r1'), entry()].map(encodeLogEntry);
  const { storage } = await fabricateLog(raw, { cosignedAt: T0 });
  const report = await auditLog(config(storage, new Clock(T0 + 60)), { local: true });
  expect(report.problems.map((p) => [p.at, p.code])).toEqual([[1, code]]);
});

test('a log that does not verify at all fails the sync with its code', async () => {
  const { storage } = await fabricateLog([releaseEntry('r1')].map(encodeLogEntry), { cosigners: [0], cosignedAt: T0 });
  const err = await auditLog(config(storage, new Clock(T0 + 60))).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LogSyncError);
  expect((err as LogSyncError).code).toBe('WITNESS_QUORUM');
});
