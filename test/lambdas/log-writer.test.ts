import {
  CHECKPOINT_PATH,
  MerkleTree,
  ROLE_NAMES,
  attestedKeyPolicy,
  checkpointHistoryPath,
  decodeEntryBundle,
  entryBundlePath,
  keyPolicyJson,
  logEntryLeafHash,
  parseCosignerKey,
  parseVerifierKey,
  tileHashes,
  tilePath,
  tilesForSize,
  toHex,
  verifyCheckpoint,
  verifyNote,
  encodeLogEntry,
  type LogEntry,
} from '../../protocol';
import { LogWriter, LogWriterError } from '../../lambdas/log-writer/log';
import { expectCode } from '../helpers/fixtures';
import {
  ACCOUNT,
  LOG_KEY,
  ORIGIN,
  PCR0,
  REGION,
  T0,
  WITNESS_KEYS,
  describeKey,
  issuerKeyEntry,
  keyArn,
  logWorld,
  releaseEntry,
  sessionKeyEntry,
  tokenKey,
} from '../helpers/tlog';
import { parseSignerKey } from '../../protocol';

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

describe('appending and publishing', () => {
  test('each append publishes bundles, tiles and a checkpoint signed by the log and cosigned by both witnesses', async () => {
    const { log, storage } = await logWorld();
    await log.append(releaseEntry('r1'), 'publisher');
    await log.append(sessionKeyEntry('r1'), 'publisher');
    const { index, checkpoint } = await log.append(issuerKeyEntry(), 'rotation');
    expect(index).toBe(2);
    const verified = verifyCheckpoint(checkpoint, { origin: ORIGIN, verifiers: [parseVerifierKey(LOG_KEY.verifierKey)] });
    expect(verified.size).toBe(3);
    const cosigned = verifyNote(checkpoint, WITNESS_KEYS.slice(0, 2).map((k) => parseCosignerKey(k.verifierKey)));
    expect([...cosigned.verifiedBy].sort()).toEqual(['witness-a.test', 'witness-b.test']);
    expect(text(await storage.read(CHECKPOINT_PATH))).toBe(checkpoint);
    // The entry bundle holds the entries, and the history keeps the first checkpoint at each size.
    const entries = decodeEntryBundle((await storage.read(entryBundlePath(0, 3)))!, 3);
    expect(entries.map((e) => toHex(logEntryLeafHash(e)))).toEqual(log.allEntries().map((e) => toHex(logEntryLeafHash(e))));
    for (const size of [1, 2, 3]) expect(await storage.read(checkpointHistoryPath(size))).toBeDefined();
  });

  test('tiles across tile boundaries: every tile of a 300-entry log is published with the right hashes', async () => {
    const { log, storage } = await logWorld({ witnesses: 1 });
    const tree = new MerkleTree();
    for (let i = 0; i < 300; i++) {
      const entry = releaseEntry(`r${i}`);
      await log.append(entry, 'publisher');
      tree.appendLeafHash(logEntryLeafHash(encodeLogEntry(entry)));
    }
    for (const tile of tilesForSize(300)) {
      expect([tilePath(tile.level, tile.index, tile.width), toHex((await storage.read(tilePath(tile.level, tile.index, tile.width)))!)]).toEqual([
        tilePath(tile.level, tile.index, tile.width),
        toHex(tileHashes(tree, tile)),
      ]);
    }
    expect(tilesForSize(300).map((t) => tilePath(t.level, t.index, t.width))).toEqual(['tile/0/000', 'tile/0/001.p/44', 'tile/1/000.p/1']);
    expect(decodeEntryBundle((await storage.read(entryBundlePath(0)))!, 256)).toHaveLength(256);
    expect(decodeEntryBundle((await storage.read(entryBundlePath(1, 44)))!, 44)).toHaveLength(44);
  }, 30_000);

  test('reopening the storage recovers the same log; a tampered bundle is refused', async () => {
    const { log, storage, clock } = await logWorld();
    await log.append(releaseEntry('r1'), 'publisher');
    await log.append(releaseEntry('r2'), 'publisher');
    const reopened = await LogWriter.open({ storage, origin: ORIGIN, signer: parseSignerKey(LOG_KEY.signerKey), allowEmulated: true, now: clock.now });
    expect(reopened.size).toBe(2);
    expect(reopened.checkpoint).toBe(log.checkpoint);
    const bundle = (await storage.read(entryBundlePath(0, 2)))!;
    bundle[bundle.length - 1]! ^= 1;
    await storage.write(entryBundlePath(0, 2), bundle);
    await expect(LogWriter.open({ storage, origin: ORIGIN, signer: parseSignerKey(LOG_KEY.signerKey), allowEmulated: true })).rejects.toMatchObject({ code: 'STORAGE_INCONSISTENT' });
  });

  test('refresh re-collects cosignatures at a later time on the same tree', async () => {
    const { log, clock } = await logWorld();
    await log.append(releaseEntry('r1'), 'publisher');
    const before = verifyNote(log.checkpoint, [parseCosignerKey(WITNESS_KEYS[0]!.verifierKey)]).verified[0]!.signature;
    clock.advance(3600);
    const after = verifyNote(await log.refresh(), [parseCosignerKey(WITNESS_KEYS[0]!.verifierKey)]).verified[0]!.signature;
    expect(Buffer.from(after.subarray(0, 8)).readBigUInt64BE() - Buffer.from(before.subarray(0, 8)).readBigUInt64BE()).toBe(3600n);
  });

  test('an unreachable witness costs its cosignature, not the append', async () => {
    const { log, witnesses } = await logWorld();
    (witnesses[1]!.endpoint as { addCheckpoint: unknown }).addCheckpoint = async () => {
      throw new Error('down');
    };
    const { checkpoint } = await log.append(releaseEntry('r1'), 'publisher');
    expect(verifyNote(checkpoint, WITNESS_KEYS.slice(0, 2).map((k) => parseCosignerKey(k.verifierKey))).verifiedBy).toEqual(['witness-a.test']);
  });
});

describe('what the log writer refuses, each with its code', () => {
  test('an entry type the submitter may not append', async () => {
    const { log } = await logWorld();
    await expectCode(() => log.append(releaseEntry('r1'), 'rotation'), LogWriterError, 'NOT_AUTHORIZED');
    await expectCode(() => log.append(issuerKeyEntry(), 'publisher'), LogWriterError, 'NOT_AUTHORIZED');
  });

  test('an emulated release outside local mode; a release id twice', async () => {
    const prod = await logWorld({ allowEmulated: false });
    await expectCode(() => prod.log.append(releaseEntry('r1'), 'publisher'), LogWriterError, 'EMULATED_NOT_ALLOWED');
    await prod.log.append({ ...releaseEntry('r1'), kind: 'nitro' } as LogEntry, 'publisher');
    await expectCode(() => prod.log.append({ ...releaseEntry('r1'), kind: 'nitro' } as LogEntry, 'publisher'), LogWriterError, 'RELEASE_EXISTS');
  });

  test('an invalid entry', async () => {
    const { log } = await logWorld();
    await expectCode(() => log.append({ ...releaseEntry('r1'), notAfter: T0 } as LogEntry, 'publisher'), LogWriterError, 'INVALID_ENTRY');
  });

  test('a session key for an unknown or revoked release, or logged twice', async () => {
    const { log } = await logWorld();
    await expectCode(() => log.append(sessionKeyEntry('nope'), 'publisher'), LogWriterError, 'UNKNOWN_RELEASE');
    await log.append(releaseEntry('r1'), 'publisher');
    const key = sessionKeyEntry('r1');
    await log.append(key, 'publisher');
    await expectCode(() => log.append(key, 'publisher'), LogWriterError, 'KEY_EXISTS');
    await log.append({ type: 'revocation', target: { type: 'release', releaseId: 'r1' }, reason: 'withdrawn', effectiveAt: T0 }, 'publisher');
    await expectCode(() => log.append(sessionKeyEntry('r1'), 'publisher'), LogWriterError, 'UNKNOWN_RELEASE');
  });

  test.each([
    ['a policy for another measurement', (e: LogEntry & { type: 'session_key' }) => ({ ...e, keyPolicy: keyPolicyJson(attestedKeyPolicy({ pcr0: 'b2'.repeat(48), account: ACCOUNT, region: REGION, roles: ROLE_NAMES })) })],
    ['a policy in another account', (e: LogEntry & { type: 'session_key' }) => ({ ...e, keyPolicy: keyPolicyJson(attestedKeyPolicy({ pcr0: PCR0, account: '444455556666', region: REGION, roles: ROLE_NAMES })) })],
    ['a multi-region key', (e: LogEntry & { type: 'session_key' }) => ({ ...e, describeKey: describeKey(e.kmsKeyArn, { MultiRegion: true }) })],
    ['DescribeKey of another key', (e: LogEntry & { type: 'session_key' }) => ({ ...e, describeKey: describeKey(keyArn()) })],
  ])('a session key with %s', async (_label, change) => {
    const { log } = await logWorld();
    await log.append(releaseEntry('r1'), 'publisher');
    await expectCode(() => log.append(change(sessionKeyEntry('r1')), 'publisher'), LogWriterError, 'KEY_REJECTED');
  });

  test('a third overlapping session key', async () => {
    const { log } = await logWorld();
    await log.append(releaseEntry('r1'), 'publisher');
    await log.append(sessionKeyEntry('r1', keyArn(), { notBefore: T0, notAfter: T0 + 7 * 86400 }), 'publisher');
    await log.append(sessionKeyEntry('r1', keyArn(), { notBefore: T0 + 6 * 86400, notAfter: T0 + 13 * 86400 }), 'publisher');
    await expectCode(() => log.append(sessionKeyEntry('r1', keyArn(), { notBefore: T0 + 6.5 * 86400, notAfter: T0 + 14 * 86400 }), 'publisher'), LogWriterError, 'TOO_MANY_SESSION_KEYS');
    // Once the first has ended, a third is fine.
    await log.append(sessionKeyEntry('r1', keyArn(), { notBefore: T0 + 12 * 86400, notAfter: T0 + 19 * 86400 }), 'publisher');
  });

  test('issuer keys: the wrong form, out of order, or a third overlapping', async () => {
    const { log } = await logWorld();
    await expectCode(() => log.append(issuerKeyEntry(T0, tokenKey(3072)), 'rotation'), LogWriterError, 'ISSUER_KEY_REJECTED');
    const plainRsa = new Uint8Array(
      (await import('node:crypto')).generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'der', type: 'spki' }),
    );
    await expectCode(() => log.append(issuerKeyEntry(T0, plainRsa), 'rotation'), LogWriterError, 'ISSUER_KEY_REJECTED');
    await log.append(issuerKeyEntry(T0), 'rotation');
    await expectCode(() => log.append(issuerKeyEntry(T0 - 10), 'rotation'), LogWriterError, 'TOO_MANY_ISSUER_KEYS');
    await log.append(issuerKeyEntry(T0 + 20 * 86400), 'rotation');
    await expectCode(() => log.append(issuerKeyEntry(T0 + 25 * 86400), 'rotation'), LogWriterError, 'TOO_MANY_ISSUER_KEYS');
  });

  test('a revocation of something never logged', async () => {
    const { log } = await logWorld();
    await expectCode(() => log.append({ type: 'revocation', target: { type: 'session_key', kmsKeyArn: keyArn() }, reason: 'x', effectiveAt: T0 }, 'publisher'), LogWriterError, 'UNKNOWN_TARGET');
  });
});
