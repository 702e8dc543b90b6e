import {
  CONTENT_TYPE_TLOG_SIZE,
  MerkleTree,
  encodeAddCheckpoint,
  formatCheckpoint,
  generateNoteKey,
  leafHash,
  parseCosignerKey,
  parseSignerKey,
  signNote,
  verifyNote,
  cosignatureTimestamp,
} from '../../protocol';
import { FileWitnessState } from '../../lambdas/witness/state';
import { Witness } from '../../lambdas/witness/witness';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCosignerSignerKey } from '../../protocol';
import { Clock, LOG_KEY, ORIGIN, WITNESS_KEYS, witnessFor } from '../helpers/tlog';
import { loadJson } from '../helpers/fixtures';

const tree = new MerkleTree();
for (let i = 0; i < 20; i++) tree.appendLeafHash(leafHash(new TextEncoder().encode(`entry ${i}`)));
const checkpointAt = (size: number, signer = LOG_KEY.signerKey, origin = ORIGIN) =>
  signNote(formatCheckpoint({ origin, size, rootHash: tree.root(size), extensions: [] }), [parseSignerKey(signer)]);
const body = (old: number, size: number, proof = old > 0 && old < size ? tree.consistencyProof(old, size) : []) =>
  encodeAddCheckpoint({ oldSize: old, proof, checkpoint: checkpointAt(size) });

describe('C2SP tlog-witness add-checkpoint', () => {
  test('cosigns the first checkpoint from size 0, then one that extends it with a consistency proof', async () => {
    const clock = new Clock();
    const { witness } = witnessFor(WITNESS_KEYS[0]!, clock);
    const first = await witness.addCheckpoint(body(0, 5));
    expect(first.status).toBe(200);
    const note = checkpointAt(5) + first.body;
    const verified = verifyNote(note, [parseCosignerKey(WITNESS_KEYS[0]!.verifierKey)]);
    expect(cosignatureTimestamp(verified.verified[0]!.signature)).toBe(clock.seconds);
    clock.advance(60);
    expect((await witness.addCheckpoint(body(5, 12))).status).toBe(200);
    // The same size again (an idle log re-asking) is cosigned afresh.
    expect((await witness.addCheckpoint(body(12, 12))).status).toBe(200);
  });

  test('each way a request can be wrong gets its status', async () => {
    const clock = new Clock();
    const { witness } = witnessFor(WITNESS_KEYS[0]!, clock);
    await witness.addCheckpoint(body(0, 5));
    // The witness's size differs: 409 with its size.
    const conflict = await witness.addCheckpoint(body(3, 8));
    expect([conflict.status, conflict.contentType, conflict.body]).toEqual([409, CONTENT_TYPE_TLOG_SIZE, '5\n']);
    // A proof that does not verify: 422.
    const badProof = tree.consistencyProof(5, 8).map((h, i) => (i === 0 ? new Uint8Array(32) : h));
    expect((await witness.addCheckpoint(body(5, 8, badProof))).status).toBe(422);
    // Old size above the checkpoint size: 400. Malformed: 400.
    expect((await witness.addCheckpoint(encodeAddCheckpoint({ oldSize: 9, proof: [], checkpoint: checkpointAt(8) }))).status).toBe(400);
    expect((await witness.addCheckpoint('nonsense')).status).toBe(400);
    // Unknown origin: 404. No valid log signature: 403.
    const otherLog = generateNoteKey('other.log');
    expect((await witness.addCheckpoint(encodeAddCheckpoint({ oldSize: 0, proof: [], checkpoint: checkpointAt(5, otherLog.signerKey, 'other.log') }))).status).toBe(404);
    const impostor = generateNoteKey(ORIGIN);
    expect((await witness.addCheckpoint(encodeAddCheckpoint({ oldSize: 5, proof: tree.consistencyProof(5, 8), checkpoint: checkpointAt(8, impostor.signerKey) }))).status).toBe(403);
    // The same size with another root (a fork): 409.
    const forked = signNote(formatCheckpoint({ origin: ORIGIN, size: 5, rootHash: tree.root(6), extensions: [] }), [parseSignerKey(LOG_KEY.signerKey)]);
    expect((await witness.addCheckpoint(encodeAddCheckpoint({ oldSize: 5, proof: [], checkpoint: forked }))).status).toBe(409);
    // A non-empty proof from size 0 is not a valid request for a witness that saw nothing.
    const fresh = witnessFor(WITNESS_KEYS[1]!, clock).witness;
    expect((await fresh.addCheckpoint(body(0, 5, tree.consistencyProof(2, 5)))).status).toBe(422);
    // None of this moved the witness: it still cosigns 5 → 8.
    expect((await witness.addCheckpoint(body(5, 8))).status).toBe(200);
  });

  test('concurrent requests from the same old size: exactly one is cosigned', async () => {
    const { witness } = witnessFor(WITNESS_KEYS[0]!, new Clock());
    await witness.addCheckpoint(body(0, 5));
    const results = await Promise.all([witness.addCheckpoint(body(5, 8)), witness.addCheckpoint(body(5, 9)), witness.addCheckpoint(body(5, 10))]);
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(2);
  });

  test('its state persists across restarts', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'witness-')), 'state.json');
    const make = () =>
      new Witness({ cosigner: parseCosignerSignerKey(WITNESS_KEYS[0]!.signerKey), logs: [{ origin: ORIGIN, verifierKeys: [LOG_KEY.verifierKey] }], state: new FileWitnessState(file) });
    expect((await make().addCheckpoint(body(0, 7))).status).toBe(200);
    const restarted = make();
    expect((await restarted.addCheckpoint(body(0, 9))).body).toBe('7\n');
    expect((await restarted.addCheckpoint(body(7, 9))).status).toBe(200);
  });
});

describe('genuine cosignatures', () => {
  test('four public witnesses’ cosignature/v1 signatures on a real checkpoint verify with their published keys', () => {
    const v = loadJson('vectors/cosigned-checkpoint.json');
    const verified = verifyNote(v.signed_note, (v.witness_keys as string[]).map(parseCosignerKey));
    expect(verified.verifiedBy).toHaveLength(4);
    for (const s of verified.verified) expect(cosignatureTimestamp(s.signature)).toBe(v.cosignature_time);
    // Changing the tree size breaks every one of them.
    const changed = (v.signed_note as string).replace('1432088532', '1432088533');
    expect(() => verifyNote(changed, (v.witness_keys as string[]).map(parseCosignerKey))).toThrow();
  });
});
