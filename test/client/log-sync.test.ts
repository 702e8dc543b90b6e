// The client's log sync against an honest log, and against every way a log can lie.
import { CHECKPOINT_PATH, checkpointHistoryPath, encodeLogEntry, type KeyBundle, type LogEntry } from '../../protocol';
import { LogSync, LogSyncError, type LogSyncConfig } from '../../client/log/sync';
import { BundleCheckError, checkBundleKeys } from '../../client/log/bundle-check';
import { MemoryStorage } from '../../lambdas/log-writer/storage';
import { expectCode } from '../helpers/fixtures';
import { KEY_CONFIG } from '../helpers/formats';
import {
  Clock,
  T0,
  fabricateLog,
  issuerKeyEntry,
  keyArn,
  logWorld,
  releaseEntry,
  sessionKeyEntry,
  syncConfig,
} from '../helpers/tlog';

const HOUR = 3600_000;

function client(storage: MemoryStorage, clock: Clock, extra: Partial<LogSyncConfig> = {}): LogSync {
  return new LogSync(syncConfig(storage, clock, extra));
}

function bundleOf(...keys: (LogEntry & { type: 'session_key' })[]): KeyBundle {
  return {
    version: 1,
    generatedAt: T0,
    keys: keys.map((k) => ({ keyConfig: k.keyConfig, releaseId: k.releaseId, kmsKeyArn: k.kmsKeyArn, attestation: new Uint8Array([1]) })),
    checkpoint: null,
  };
}

/** An honest log with a release, its session key and an issuer key. */
async function honest(clock = new Clock()) {
  const world = await logWorld({ clock });
  const key = sessionKeyEntry('r1');
  await world.log.append(releaseEntry('r1'), 'publisher');
  await world.log.append(key, 'publisher');
  await world.log.append(issuerKeyEntry(), 'rotation');
  return { ...world, key };
}

describe('an honest log', () => {
  test('a fresh client syncs, and works out what is live from its own copy', async () => {
    const { storage, clock, key } = await honest();
    clock.advance(60);
    const sync = client(storage, clock);
    expect(await sync.sync()).toEqual({ size: 3, added: 3 });
    const live = sync.liveSet();
    expect(live.releases.map((r) => r.releaseId)).toEqual(['r1']);
    expect(live.currentSessionKey?.kmsKeyArn).toBe(key.kmsKeyArn);
    expect(live.currentIssuerKey).toBeDefined();
    expect(checkBundleKeys(bundleOf(key), live).logged.kmsKeyArn).toBe(key.kmsKeyArn);
  });

  test('later syncs fetch only what is new, and the state survives a restart', async () => {
    const { storage, clock, log } = await honest();
    const sync = client(storage, clock);
    await sync.sync();
    const key2 = sessionKeyEntry('r1', keyArn(), { notBefore: T0 + 3600, notAfter: T0 + 8 * 86400 });
    await log.append(key2, 'publisher');
    const restored = client(storage, clock);
    const saved = new LogSync((restored as unknown as { config: LogSyncConfig }).config, sync.state());
    expect(await saved.sync()).toEqual({ size: 4, added: 1 });
    clock.advance(2 * 3600);
    // Two live keys during a roll-out: the newest start is the one to use.
    expect(saved.liveSet().sessionKeys).toHaveLength(2);
    expect(saved.liveSet().currentSessionKey?.kmsKeyArn).toBe(key2.kmsKeyArn);
    expect(await saved.sync()).toEqual({ size: 4, added: 0 });
  });

  test('revocations take effect at their time', async () => {
    const { storage, clock, log, key } = await honest();
    await log.append({ type: 'revocation', target: { type: 'session_key', kmsKeyArn: key.kmsKeyArn }, reason: 'rotated early', effectiveAt: T0 + 100 }, 'publisher');
    const sync = client(storage, clock);
    await sync.sync();
    expect(sync.liveSet(T0 * 1000 + 50_000).currentSessionKey?.kmsKeyArn).toBe(key.kmsKeyArn);
    expect(sync.liveSet(T0 * 1000 + 200_000).currentSessionKey).toBeUndefined();
    await expectCode(() => checkBundleKeys(bundleOf(key), sync.liveSet(T0 * 1000 + 200_000)), BundleCheckError, 'EXTRA_KEY');
  });
});

describe('every way the log can lie fails with its own code', () => {
  test('a forked history: entries already seen have changed', async () => {
    const clock = new Clock();
    const raw = [releaseEntry('r1'), sessionKeyEntry('r1')].map(encodeLogEntry);
    const { storage } = await fabricateLog(raw, { cosignedAt: T0 });
    const sync = client(storage, clock);
    await sync.sync();
    // The log now shows a history where entry 1 is another key, plus one more entry.
    const forked = [raw[0]!, encodeLogEntry(sessionKeyEntry('r1')), encodeLogEntry(releaseEntry('r2'))];
    await fabricateLog(forked, { cosignedAt: T0, storage });
    await expectCode(() => sync.sync(), LogSyncError, 'FORKED');
    // The same size with another root is a fork too.
    await fabricateLog([raw[0]!, encodeLogEntry(sessionKeyEntry('r1'))], { cosignedAt: T0, storage });
    await expectCode(() => sync.sync(), LogSyncError, 'FORKED');
  });

  test('a missing witness quorum: one cosignature, or none', async () => {
    const clock = new Clock();
    const raw = [releaseEntry('r1')].map(encodeLogEntry);
    const one = await fabricateLog(raw, { cosigners: [0], cosignedAt: T0 });
    await expectCode(() => client(one.storage, clock).sync(), LogSyncError, 'WITNESS_QUORUM');
    const none = await fabricateLog(raw, { cosigners: [], cosignedAt: T0 });
    await expectCode(() => client(none.storage, clock).sync(), LogSyncError, 'WITNESS_QUORUM');
    // Cosignatures by witnesses the app does not pin do not count.
    const unpinned = await fabricateLog(raw, { cosigners: [0, 2], cosignedAt: T0 });
    await expectCode(() => client(unpinned.storage, clock).sync(), LogSyncError, 'WITNESS_QUORUM');
  });

  test('a stale witness quorum: the newest cosignature is over 24 hours old', async () => {
    const clock = new Clock();
    const { storage } = await fabricateLog([releaseEntry('r1')].map(encodeLogEntry), { cosignedAt: T0 });
    clock.advance(24 * 3600 + 1);
    await expectCode(() => client(storage, clock).sync(), LogSyncError, 'WITNESS_STALE');
  });

  test('an old checkpoint: smaller than one the client has seen', async () => {
    const { storage, clock, log } = await honest();
    const sync = client(storage, clock);
    await sync.sync();
    await log.append(releaseEntry('r2'), 'publisher');
    await sync.sync();
    // Serve the (genuinely cosigned) checkpoint of size 3 again.
    await storage.write(CHECKPOINT_PATH, (await storage.read(checkpointHistoryPath(3)))!);
    await expectCode(() => sync.sync(), LogSyncError, 'ROLLBACK');
  });

  test('an omitted revocation: entries that do not hash to the cosigned root', async () => {
    const { storage, clock, log, key } = await honest();
    await log.append({ type: 'revocation', target: { type: 'session_key', kmsKeyArn: key.kmsKeyArn }, reason: 'compromised', effectiveAt: T0 }, 'publisher');
    // The log keeps its cosigned checkpoint but serves a bundle without the revocation.
    const raw = log.allEntries().map(encodeLogEntry);
    const withoutRevocation = [...raw.slice(0, 3), encodeLogEntry(releaseEntry('decoy'))];
    const { encodeEntryBundle, entryBundlePath } = await import('../../protocol');
    await storage.write(entryBundlePath(0, 4), encodeEntryBundle(withoutRevocation));
    await expectCode(() => client(storage, clock).sync(), LogSyncError, 'ENTRIES_MISMATCH');
  });

  test('an omitted revocation behind a checkpoint the log signs itself: the witnesses will not cosign it', async () => {
    const { storage, clock, log, key, witnesses } = await honest();
    await log.append({ type: 'revocation', target: { type: 'session_key', kmsKeyArn: key.kmsKeyArn }, reason: 'compromised', effectiveAt: T0 }, 'publisher');
    // A rewritten history without the revocation, submitted to the same witnesses.
    const rewritten = log.allEntries().slice(0, 3).map(encodeLogEntry).concat(encodeLogEntry(releaseEntry('decoy')));
    const fake = await fabricateLog(rewritten, { cosigners: [], cosignedAt: T0 });
    const { encodeAddCheckpoint } = await import('../../protocol');
    for (const w of witnesses) {
      const answer = await w.witness.addCheckpoint(encodeAddCheckpoint({ oldSize: 4, proof: [], checkpoint: fake.note }));
      expect(answer.status).toBe(409);
    }
    await expectCode(() => client(fake.storage, clock).sync(), LogSyncError, 'WITNESS_QUORUM');
  });

  test('an omitted live key: the bundle lacks the key to use', async () => {
    const { storage, clock, log, key } = await honest();
    const newer = sessionKeyEntry('r1', keyArn(), { notBefore: T0 + 60, notAfter: T0 + 7 * 86400 });
    await log.append(newer, 'publisher');
    clock.advance(120);
    const sync = client(storage, clock);
    await sync.sync();
    await expectCode(() => checkBundleKeys(bundleOf(key), sync.liveSet()), BundleCheckError, 'LIVE_KEY_OMITTED');
    expect(checkBundleKeys(bundleOf(key, newer), sync.liveSet()).logged.kmsKeyArn).toBe(newer.kmsKeyArn);
  });

  test('an extra key: one the log does not hold, or a logged key with another key config', async () => {
    const { storage, clock, key } = await honest();
    const sync = client(storage, clock);
    await sync.sync();
    await expectCode(() => checkBundleKeys(bundleOf(key, sessionKeyEntry('r1')), sync.liveSet()), BundleCheckError, 'EXTRA_KEY');
    const swapped = { ...bundleOf(key), keys: [{ ...bundleOf(key).keys[0]!, keyConfig: KEY_CONFIG.map((b, i) => (i === 10 ? b ^ 1 : b)) }] };
    await expectCode(() => checkBundleKeys(swapped, sync.liveSet()), BundleCheckError, 'KEY_CONFIG_MISMATCH');
  });

  test('a release inside its publication delay', async () => {
    const { storage, clock, key } = await honest();
    const sync = client(storage, clock, { publicationDelayMs: 72 * HOUR });
    await sync.sync();
    expect(sync.liveSet().releases).toEqual([]);
    expect(sync.liveSet().pendingReleases.map((r) => r.releaseId)).toEqual(['r1']);
    await expectCode(() => checkBundleKeys(bundleOf(key), sync.liveSet()), BundleCheckError, 'RELEASE_NOT_PUBLISHED');
    expect(checkBundleKeys(bundleOf(key), sync.liveSet(clock.now() + 72 * HOUR)).logged.kmsKeyArn).toBe(key.kmsKeyArn);
  });

  test('publication is dated by the first checkpoint that held the release, not by the latest re-cosigning', async () => {
    const { storage, clock, log, key } = await honest();
    // Days later the log is re-cosigned; a new client arrives.
    clock.advance(100 * 3600);
    await log.refresh();
    const fresh = client(storage, clock, { publicationDelayMs: 72 * HOUR });
    await fresh.sync();
    expect(checkBundleKeys(bundleOf(key), fresh.liveSet()).logged.kmsKeyArn).toBe(key.kmsKeyArn);
    // Without that history the client can only date it by the latest cosigning: still pending.
    for (const size of [1, 2, 3]) storage.files.delete(checkpointHistoryPath(size));
    const noHistory = client(storage, clock, { publicationDelayMs: 72 * HOUR });
    await noHistory.sync();
    expect(noHistory.liveSet().pendingReleases.map((r) => r.releaseId)).toEqual(['r1']);
  });

  test('a checkpoint not signed by the log, or for another origin', async () => {
    const { storage, clock } = await honest();
    const note = new TextDecoder().decode(await storage.read(CHECKPOINT_PATH));
    await storage.write(CHECKPOINT_PATH, new TextEncoder().encode(note.replace(/\n3\n/, '\n4\n')));
    await expectCode(() => client(storage, clock).sync(), LogSyncError, 'CHECKPOINT_INVALID');
    await expectCode(() => client(storage, clock, { origin: 'other.log' }).sync(), LogSyncError, 'CHECKPOINT_INVALID');
  });

  test('an entry that is not one of ours, even correctly hashed and cosigned', async () => {
    const clock = new Clock();
    const { storage } = await fabricateLog([encodeLogEntry(releaseEntry('r1')), new TextEncoder().encode('not an entry')], { cosignedAt: T0 });
    await expectCode(() => client(storage, clock).sync(), LogSyncError, 'ENTRY_INVALID');
  });

  test('an unreachable log, or a missing bundle, is UNAVAILABLE (not tampering)', async () => {
    const { storage, clock } = await honest();
    await expectCode(() => client(storage, clock, { fetch: async () => Promise.reject(new Error('offline')) }).sync(), LogSyncError, 'UNAVAILABLE');
    storage.files.delete('tile/entries/000.p/3');
    await expectCode(() => client(storage, clock).sync(), LogSyncError, 'UNAVAILABLE');
  });

  test('a failed sync changes nothing', async () => {
    const { storage, clock, log } = await honest();
    const sync = client(storage, clock);
    await sync.sync();
    await log.append(releaseEntry('r2'), 'publisher');
    const bundle = (await storage.read('tile/entries/000.p/4'))!;
    bundle[bundle.length - 1]! ^= 1;
    await storage.write('tile/entries/000.p/4', bundle);
    await expect(sync.sync()).rejects.toBeInstanceOf(LogSyncError);
    expect(sync.size).toBe(3);
  });
});
