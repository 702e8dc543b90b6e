// Transparency log: appends (sign, tiles, two cosignatures each), and a client's sync
// of a realistic log (five years of weekly session keys, monthly issuer keys).
import { LogSync } from '../client/log/sync';
import { MerkleTree, leafHash } from '../protocol';
import { Clock, LOG_KEY, ORIGIN, T0, WITNESS_KEYS, issuerKeyEntry, keyArn, logWorld, releaseEntry, sessionKeyEntry } from '../test/helpers/tlog';
import { measure, printTable, type Result } from './harness';

const DAY = 86400;

export async function tlogBenchmarks(): Promise<void> {
  const results: Result[] = [];

  // Append cost, early and after thousands of entries (it should not grow with the log).
  const { log } = await logWorld();
  let n = 0;
  results.push(await measure('log append (validate, bundle + tiles, sign, 2 cosignatures), log of ~0 entries', () => log.append(releaseEntry(`a${n++}`), 'publisher'), 1));
  for (let i = 0; i < 5000; i++) await log.append(releaseEntry(`b${i}`), 'publisher');
  results.push(await measure(`log append, log of ~${log.size} entries`, () => log.append(releaseEntry(`c${n++}`), 'publisher'), 1));

  // Proofs the log (and the witnesses) compute at 1M entries.
  const tree = new MerkleTree();
  for (let i = 0; i < 1_000_000; i++) tree.appendLeafHash(leafHash(new TextEncoder().encode(String(i))));
  results.push(await measure('consistency proof for a witness, 999 000 → 1 000 000', () => tree.consistencyProof(999_000)));
  results.push(await measure('inclusion proof, 1 000 000 entries', () => tree.inclusionProof(123_456)));
  printTable('Transparency log: writer', results);

  // A realistic log: 20 releases, weekly session keys for five years, monthly issuer keys, some revocations.
  const clock = new Clock(T0);
  const world = await logWorld({ clock });
  for (let r = 0; r < 20; r++) await world.log.append(releaseEntry(`release-${r}`, T0 - 5 * 365 * DAY), 'publisher');
  for (let w = 0; w < 260; w++) {
    const start = T0 - 5 * 365 * DAY + w * 7 * DAY;
    const key = sessionKeyEntry(`release-${Math.floor(w / 13)}`, keyArn(), { notBefore: start, notAfter: start + 8 * DAY });
    await world.log.append(key, 'publisher');
    if (w % 20 === 0) await world.log.append({ type: 'revocation', target: { type: 'session_key', kmsKeyArn: key.kmsKeyArn }, reason: 'rotated early', effectiveAt: start + 3 * DAY }, 'publisher');
  }
  for (let m = 0; m < 60; m++) await world.log.append(issuerKeyEntry(T0 - 5 * 365 * DAY + m * 30 * DAY), 'rotation');
  let bytes = 0;
  let requests = 0;
  const fetch = async (path: string) => {
    const data = await world.storage.read(path);
    bytes += data?.length ?? 0;
    requests++;
    return data;
  };
  const config = { origin: ORIGIN, logKey: LOG_KEY.verifierKey, witnessKeys: WITNESS_KEYS.slice(0, 2).map((k) => k.verifierKey), quorum: 2, publicationDelayMs: 72 * 3600_000, fetch, now: clock.now };
  const started = performance.now();
  const fresh = new LogSync(config);
  await fresh.sync();
  const freshMs = performance.now() - started;
  const freshBytes = bytes;
  const freshRequests = requests;
  await world.log.append(sessionKeyEntry('release-19', keyArn(), { notBefore: T0, notAfter: T0 + 8 * DAY }), 'publisher');
  bytes = 0;
  requests = 0;
  const t1 = performance.now();
  await fresh.sync();
  const incrementalMs = performance.now() - t1;
  process.stdout.write(
    `\nTransparency log: client sync of a realistic log (${fresh.size} entries)\n` +
      `fresh sync:        ${freshRequests} requests, ${(freshBytes / 1024).toFixed(1)} KiB, ${freshMs.toFixed(1)} ms\n` +
      `incremental sync:  ${requests} requests, ${(bytes / 1024).toFixed(1)} KiB, ${incrementalMs.toFixed(1)} ms (one new entry)\n` +
      `live set:          ${(await measure('liveSet', () => fresh.liveSet(), 0.5)).microsPerOp.toFixed(1)} µs\n`,
  );
}
