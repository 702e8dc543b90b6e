import fc from 'fast-check';
import { toHex, utf8 } from '../../protocol/bytes';
import { formatCheckpoint, parseCheckpoint, parseCheckpointText, signCheckpoint, verifyCheckpoint } from '../../protocol/checkpoint';
import { NoteError } from '../../protocol/errors';
import { MerkleTree, verifyConsistency } from '../../protocol/merkle';
import { generateNoteKey, parseNote, parseSignerKey, parseVerifierKey, signNote, verifyNote } from '../../protocol/note';
import { expectCode, loadJson } from '../helpers/fixtures';

const V = loadJson('vectors/signed-notes.json');
const GO = V.go_note_example;
const SUMDB = V.sum_golang_org;

describe('golang.org/x/mod sumdb/note vectors', () => {
  test('signing the example text with the published signer key gives the published note byte for byte', () => {
    expect(signNote(GO.text, [parseSignerKey(GO.signer_key)])).toBe(GO.signed_note);
  });

  test('the published note verifies with the published verifier key', () => {
    const opened = verifyNote(GO.signed_note, [parseVerifierKey(GO.verifier_key)]);
    expect(opened.text).toBe(GO.text);
    expect(opened.verifiedBy).toEqual(['PeterNeumann']);
  });

  test('a changed text is SIGNATURE_INVALID', async () => {
    const tampered = GO.signed_note.replace('cryptography', 'cryptographY');
    await expectCode(() => verifyNote(tampered, [parseVerifierKey(GO.verifier_key)]), NoteError, 'SIGNATURE_INVALID');
  });

  test('every mangling of the verifier key is KEY_INVALID', () => {
    const key: string = GO.verifier_key;
    const problems: string[] = [];
    const expectBad = (k: string) => {
      try {
        parseVerifierKey(k);
        problems.push(`accepted ${JSON.stringify(k)}`);
      } catch (err) {
        if (!(err instanceof NoteError) || err.code !== 'KEY_INVALID') problems.push(`${JSON.stringify(k)}: ${String(err)}`);
      }
    };
    for (let i = 0; i <= key.length; i++) {
      for (let j = i + 1; j <= key.length; j++) if (i !== 0 || j !== key.length) expectBad(key.slice(i, j));
    }
    for (let i = 0; i < key.length; i++) {
      expectBad(key.slice(0, i) + String.fromCharCode(key.charCodeAt(i) + 1) + key.slice(i + 1));
    }
    expect(problems).toEqual([]);
  });
});

describe('genuine sum.golang.org checkpoints', () => {
  const verifier = parseVerifierKey(SUMDB.verifier_key);

  const checkpoints: [number, any][] = SUMDB.checkpoints.map((c: { size: number }) => [c.size, c]);
  test.each(checkpoints)('size %d verifies and parses', (_size, c) => {
    const checkpoint = verifyCheckpoint(c.signed_note, { origin: SUMDB.origin, verifiers: [verifier] });
    expect(checkpoint.size).toBe(c.size);
    expect(Buffer.from(checkpoint.rootHash).toString('base64')).toBe(c.root_hash_base64);
    expect(checkpoint.verifiedBy).toEqual(['sum.golang.org']);
    expect(parseCheckpoint(c.signed_note).size).toBe(c.size);
  });

  test('another origin is ORIGIN_MISMATCH; another size under the same signature is SIGNATURE_INVALID', async () => {
    const c = SUMDB.checkpoints[0];
    await expectCode(() => verifyCheckpoint(c.signed_note, { origin: 'example.com/log', verifiers: [verifier] }), NoteError, 'ORIGIN_MISMATCH');
    const forged = c.signed_note.replace(String(c.size), String(c.size + 1));
    await expectCode(() => verifyCheckpoint(forged, { origin: SUMDB.origin, verifiers: [verifier] }), NoteError, 'SIGNATURE_INVALID');
  });

  test('a checkpoint signed only by keys we do not trust is NO_TRUSTED_SIGNATURE', async () => {
    const c = SUMDB.checkpoints[0];
    await expectCode(() => verifyCheckpoint(c.signed_note, { origin: SUMDB.origin, verifiers: [parseVerifierKey(GO.verifier_key)] }), NoteError, 'NO_TRUSTED_SIGNATURE');
  });
});

describe('our own log keys and checkpoints', () => {
  const log = generateNoteKey('log.private-processing.example');
  const witness = generateNoteKey('witness.example');
  const logSigner = parseSignerKey(log.signerKey);
  const logVerifier = parseVerifierKey(log.verifierKey);
  const origin = 'log.private-processing.example';

  test('generated keys sign and verify; unknown co-signers are reported, not trusted', () => {
    const tree = new MerkleTree();
    for (let i = 0; i < 10; i++) tree.appendLeaf(utf8(`entry ${i}`));
    const note = signNote(formatCheckpoint({ origin, size: 10, rootHash: tree.root(), extensions: ['time 1764200000'] }), [
      logSigner,
      parseSignerKey(witness.signerKey),
    ]);
    const checkpoint = verifyCheckpoint(note, { origin, verifiers: [logVerifier] });
    expect(checkpoint.extensions).toEqual(['time 1764200000']);
    expect(checkpoint.otherSignatures.map((s) => s.name)).toEqual(['witness.example']);
    expect(toHex(checkpoint.rootHash)).toBe(toHex(tree.root()));
  });

  test('two checkpoints of a growing log are proven consistent', () => {
    const tree = new MerkleTree();
    for (let i = 0; i < 300; i++) tree.appendLeaf(utf8(`entry ${i}`));
    const older = verifyCheckpoint(signCheckpoint({ origin, size: 123, rootHash: tree.root(123), extensions: [] }, [logSigner]), {
      origin,
      verifiers: [logVerifier],
    });
    const newer = verifyCheckpoint(signCheckpoint({ origin, size: 300, rootHash: tree.root(), extensions: [] }, [logSigner]), {
      origin,
      verifiers: [logVerifier],
    });
    verifyConsistency(older.size, newer.size, tree.consistencyProof(older.size, newer.size), older.rootHash, newer.rootHash);
  });

  test('malformed checkpoint bodies are CHECKPOINT_MALFORMED', async () => {
    const root = Buffer.alloc(32, 7).toString('base64');
    for (const text of [
      `${origin}\n010\n${root}\n`, // leading zero
      `${origin}\n-1\n${root}\n`,
      `${origin}\n1e3\n${root}\n`,
      `${origin}\n99999999999999999999\n${root}\n`,
      `${origin}\n10\n${Buffer.alloc(31).toString('base64')}\n`,
      `${origin}\n10\n${root.slice(0, -1)}\n`,
      `${origin}\n10\n`,
      `\n10\n${root}\n`,
      `${origin}\n10\n${root}\n\n`.slice(0, -1) + 'x', // no final newline
      `${origin}\n10\n${root}\next\n\nmore\n`.replace('\n\n', '\n\u0000'),
    ]) {
      await expectCode(() => parseCheckpointText(text), NoteError, 'CHECKPOINT_MALFORMED');
    }
    await expectCode(() => formatCheckpoint({ origin: 'a\nb', size: 1, rootHash: new Uint8Array(32), extensions: [] }), NoteError, 'CHECKPOINT_MALFORMED');
    await expectCode(() => formatCheckpoint({ origin, size: -1, rootHash: new Uint8Array(32), extensions: [] }), NoteError, 'CHECKPOINT_MALFORMED');
    await expectCode(() => formatCheckpoint({ origin, size: 1, rootHash: new Uint8Array(31), extensions: [] }), NoteError, 'CHECKPOINT_MALFORMED');
  });

  test('malformed notes are MALFORMED', async () => {
    const good = signNote(formatCheckpoint({ origin, size: 1, rootHash: new Uint8Array(32), extensions: [] }), [logSigner]);
    const sigLine = good.slice(good.lastIndexOf('\n\n') + 2);
    const text = good.slice(0, good.lastIndexOf('\n\n') + 1);
    const bad = [
      text, // no signature block
      good.slice(0, -1), // signature block without final newline
      `${text}\n`, // empty signature block
      `${text}\n- ${sigLine.slice(2)}`, // ASCII dash instead of an em dash
      `${text}\n${sigLine.replace(' ', '  ')}`,
      `${text}\n${sigLine.replace(/ [A-Za-z0-9+/=]+\n$/, ' !!!!\n')}`,
      `${text}\n${sigLine.replace(/ [A-Za-z0-9+/=]+\n$/, ' AAAA\n')}`, // shorter than a key id
      `${text}\n${sigLine}${sigLine}`, // the same signature twice
      `${text}\n${sigLine.repeat(101)}`,
      `a\rb\n\n${sigLine}`, // control character in the text
    ];
    for (const note of bad) await expectCode(() => verifyNote(note, [logVerifier]), NoteError, 'MALFORMED');
    await expectCode(() => signNote('no newline', [logSigner]), NoteError, 'MALFORMED');
    await expectCode(() => generateNoteKey('bad name'), NoteError, 'KEY_INVALID');
    await expectCode(() => parseSignerKey(log.verifierKey), NoteError, 'KEY_INVALID');
  });

  test('every truncation of a signed checkpoint is refused with a NoteError', () => {
    const note = SUMDB.checkpoints[0].signed_note as string;
    const verifier = parseVerifierKey(SUMDB.verifier_key);
    const accepted: number[] = [];
    for (let cut = 0; cut < note.length; cut++) {
      try {
        verifyCheckpoint(note.slice(0, cut), { origin: SUMDB.origin, verifiers: [verifier] });
        accepted.push(cut);
      } catch (err) {
        expect(err).toBeInstanceOf(NoteError);
      }
    }
    expect(accepted).toEqual([]);
  });

  test('random input makes the parsers throw only NoteError', () => {
    const textArb = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: fc.constantFrom('\n', '\u2014', ' ', 'a', '+', '=', '/', 'A', '0', '1'), maxLength: 120 }),
    );
    fc.assert(
      fc.property(textArb, (s) => {
        for (const fn of [() => parseNote(s), () => parseCheckpoint(s), () => verifyNote(s, [logVerifier]), () => parseVerifierKey(s)]) {
          try {
            fn();
          } catch (err) {
            expect(err).toBeInstanceOf(NoteError);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });
});
