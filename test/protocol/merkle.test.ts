import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { toHex, utf8 } from '../../protocol/bytes';
import { MerkleError } from '../../protocol/errors';
import {
  EMPTY_ROOT,
  MerkleTree,
  consistencyProof,
  inclusionProof,
  leafHash,
  merkleRoot,
  verifyConsistency,
  verifyInclusion,
} from '../../protocol/merkle';
import { expectCode, flipped, hex, loadJson } from '../helpers/fixtures';

// --- An independent computation, written straight from RFC 6962 §2.1 with its own
// hashing, recursion on arrays and no caching: the reference the prover is held to.
const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const refLeaf = (d: Uint8Array) => sha(Uint8Array.of(0), d);
const refNode = (l: Uint8Array, r: Uint8Array) => sha(Uint8Array.of(1), l, r);
const k = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1); // largest power of two < n
function refMth(d: Uint8Array[]): Uint8Array {
  if (d.length === 0) return sha();
  if (d.length === 1) return refLeaf(d[0]!);
  return refNode(refMth(d.slice(0, k(d.length))), refMth(d.slice(k(d.length))));
}
function refPath(m: number, d: Uint8Array[]): Uint8Array[] {
  if (d.length === 1) return [];
  const s = k(d.length);
  return m < s ? [...refPath(m, d.slice(0, s)), refMth(d.slice(s))] : [...refPath(m - s, d.slice(s)), refMth(d.slice(0, s))];
}
function refSubproof(m: number, d: Uint8Array[], b: boolean): Uint8Array[] {
  if (m === d.length) return b ? [] : [refMth(d)];
  const s = k(d.length);
  return m <= s
    ? [...refSubproof(m, d.slice(0, s), b), refMth(d.slice(s))]
    : [...refSubproof(m - s, d.slice(s), false), refMth(d.slice(0, s))];
}
const refProof = (m: number, d: Uint8Array[]) => refSubproof(m, d, true);

const MAX = 64;
const DATA = Array.from({ length: MAX }, (_, i) => utf8(`leaf ${i}`));
const TREE = MerkleTree.fromLeafHashes(DATA.map(leafHash));
const hexes = (hs: Uint8Array[]) => hs.map(toHex);

// A hash is checked whole, so flipping a few spread positions of each proof element
// (bit varying with the position) is as telling as all 256 and keeps the suite fast.
// For trees of up to EXHAUSTIVE leaves every one of the 256 bits of every element is flipped.
const FLIP_BYTES = [0, 9, 18, 31];
const EXHAUSTIVE = 8;
function* flippedProofs(proof: Uint8Array[], treeSize: number): Generator<Uint8Array[]> {
  for (let i = 0; i < proof.length; i++) {
    const positions =
      treeSize <= EXHAUSTIVE
        ? Array.from({ length: 256 }, (_, b) => [b >> 3, b & 7] as const)
        : FLIP_BYTES.map((byte) => [byte, (byte + i) % 8] as const);
    for (const [byte, bit] of positions) {
      const copy = proof.slice();
      copy[i] = flipped(proof[i]!, byte, bit);
      yield copy;
    }
  }
}

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MerkleError);
    return (err as MerkleError).code;
  }
  return undefined;
}

describe('published RFC 6962 roots', () => {
  test('the certificate-transparency reference tree of 8 leaves', () => {
    const v = loadJson('vectors/rfc6962-reference-tree.json');
    const leaves = (v.leaves as string[]).map(hex);
    const tree = MerkleTree.fromLeafHashes(leaves.map(leafHash));
    expect(toHex(EMPTY_ROOT)).toBe(v.empty_root);
    (v.roots as string[]).forEach((root, i) => expect(toHex(tree.root(i + 1))).toBe(root));
  });
});

describe('roots and proofs agree with the independent computation', () => {
  test('roots for every size 0..64', () => {
    for (let n = 0; n <= MAX; n++) {
      expect(toHex(TREE.root(n))).toBe(toHex(refMth(DATA.slice(0, n))));
      expect(toHex(merkleRoot(DATA.slice(0, n).map(leafHash)))).toBe(toHex(refMth(DATA.slice(0, n))));
    }
  });

  // Assertions are collected and checked once per test: tens of thousands of
  // expect() calls would cost more than the hashing they check.
  function expectRefused(problems: string[], label: string, fn: () => void): void {
    let code: string | undefined;
    try {
      fn();
    } catch (err) {
      code = err instanceof MerkleError ? err.code : `foreign error ${String(err)}`;
    }
    if (code !== 'PROOF_INVALID') problems.push(`${label}: ${code ?? 'accepted'}`);
  }

  test('inclusion: every size 1..64 and every leaf; the proof is the reference path, verifies, and any flipped bit fails', () => {
    const problems: string[] = [];
    for (let n = 1; n <= MAX; n++) {
      const d = DATA.slice(0, n);
      const root = TREE.root(n);
      for (let m = 0; m < n; m++) {
        const at = `size ${n} leaf ${m}`;
        const proof = TREE.inclusionProof(m, n);
        if (hexes(proof).join() !== hexes(refPath(m, d)).join()) problems.push(`${at}: differs from the reference path`);
        const leaf = leafHash(d[m]!);
        verifyInclusion(leaf, m, n, proof, root);
        for (const bad of flippedProofs(proof, n)) expectRefused(problems, `${at} flipped proof`, () => verifyInclusion(leaf, m, n, bad, root));
        for (const byte of FLIP_BYTES) {
          expectRefused(problems, `${at} flipped leaf`, () => verifyInclusion(flipped(leaf, byte, byte % 8), m, n, proof, root));
          expectRefused(problems, `${at} flipped root`, () => verifyInclusion(leaf, m, n, proof, flipped(root, byte, byte % 8)));
        }
        // Wrong position, another size with its root, or a proof cut short or padded: never accepted.
        // (The size is bound to the root by the signed checkpoint: the same path may fit another
        // size, but never that size's root.)
        if (n > 1) expectRefused(problems, `${at} wrong index`, () => verifyInclusion(leaf, (m + 1) % n, n, proof, root));
        if (n < MAX) expectRefused(problems, `${at} wrong size`, () => verifyInclusion(leaf, m, n + 1, proof, TREE.root(n + 1)));
        if (proof.length > 0) expectRefused(problems, `${at} short`, () => verifyInclusion(leaf, m, n, proof.slice(1), root));
        expectRefused(problems, `${at} long`, () => verifyInclusion(leaf, m, n, [...proof, root], root));
      }
    }
    expect(problems).toEqual([]);
  });

  test('consistency: every pair of sizes; the proof is the reference, verifies, and any flipped bit fails', () => {
    const problems: string[] = [];
    for (let n = 1; n <= MAX; n++) {
      const d = DATA.slice(0, n);
      const newRoot = TREE.root(n);
      for (let m = 1; m <= n; m++) {
        const at = `sizes ${m}→${n}`;
        const oldRoot = TREE.root(m);
        const proof = TREE.consistencyProof(m, n);
        if (hexes(proof).join() !== (m === n ? '' : hexes(refProof(m, d)).join())) problems.push(`${at}: differs from the reference`);
        verifyConsistency(m, n, proof, oldRoot, newRoot);
        for (const bad of flippedProofs(proof, n)) expectRefused(problems, `${at} flipped proof`, () => verifyConsistency(m, n, bad, oldRoot, newRoot));
        for (const byte of FLIP_BYTES) {
          expectRefused(problems, `${at} flipped old root`, () => verifyConsistency(m, n, proof, flipped(oldRoot, byte), newRoot));
          expectRefused(problems, `${at} flipped new root`, () => verifyConsistency(m, n, proof, oldRoot, flipped(newRoot, byte)));
        }
        if (m < n) {
          expectRefused(problems, `${at} short`, () => verifyConsistency(m, n, proof.slice(1), oldRoot, newRoot));
          expectRefused(problems, `${at} long`, () => verifyConsistency(m, n, [...proof, newRoot], oldRoot, newRoot));
          if (n < MAX) expectRefused(problems, `${at} wrong size`, () => verifyConsistency(m, n + 1, proof, oldRoot, TREE.root(n + 1)));
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('the array helpers give the same proofs as the tree', () => {
    const hashes = DATA.map(leafHash);
    expect(hexes(inclusionProof(hashes, 5, 37))).toEqual(hexes(TREE.inclusionProof(5, 37)));
    expect(hexes(consistencyProof(hashes, 13, 50))).toEqual(hexes(TREE.consistencyProof(13, 50)));
  });
});

describe('edge cases and bad arguments', () => {
  test('the empty tree: root, and consistency from size 0', () => {
    expect(toHex(new MerkleTree().root())).toBe(toHex(EMPTY_ROOT));
    verifyConsistency(0, 10, [], EMPTY_ROOT, TREE.root(10));
    expect(TREE.consistencyProof(0, 10)).toEqual([]);
    expect(codeOf(() => verifyConsistency(0, 10, [], TREE.root(1), TREE.root(10)))).toBe('PROOF_INVALID');
    expect(codeOf(() => verifyConsistency(0, 10, [TREE.root(1)], EMPTY_ROOT, TREE.root(10)))).toBe('PROOF_INVALID');
  });

  test('equal sizes need equal roots and an empty proof', () => {
    verifyConsistency(7, 7, [], TREE.root(7), TREE.root(7));
    expect(codeOf(() => verifyConsistency(7, 7, [], TREE.root(7), TREE.root(8)))).toBe('PROOF_INVALID');
    expect(codeOf(() => verifyConsistency(7, 7, [TREE.root(7)], TREE.root(7), TREE.root(7)))).toBe('PROOF_INVALID');
  });

  test('out-of-range indexes and sizes are refused with typed codes', async () => {
    await expectCode(() => TREE.inclusionProof(64, 64), MerkleError, 'INDEX_OUT_OF_RANGE');
    await expectCode(() => TREE.inclusionProof(0, 65), MerkleError, 'INDEX_OUT_OF_RANGE');
    await expectCode(() => TREE.root(65), MerkleError, 'INDEX_OUT_OF_RANGE');
    await expectCode(() => TREE.consistencyProof(10, 5), MerkleError, 'INVALID_ARGUMENT');
    await expectCode(() => TREE.inclusionProof(-1), MerkleError, 'INDEX_OUT_OF_RANGE');
    await expectCode(() => TREE.root(1.5), MerkleError, 'INVALID_ARGUMENT');
    await expectCode(() => verifyInclusion(TREE.leafHash(0), 3, 3, [], TREE.root(3)), MerkleError, 'INDEX_OUT_OF_RANGE');
    await expectCode(() => verifyConsistency(5, 4, [], TREE.root(5), TREE.root(4)), MerkleError, 'INVALID_ARGUMENT');
    await expectCode(() => verifyInclusion(new Uint8Array(31), 0, 1, [], TREE.root(1)), MerkleError, 'INVALID_ARGUMENT');
    await expectCode(() => new MerkleTree().appendLeafHash(new Uint8Array(33)), MerkleError, 'INVALID_ARGUMENT');
  });

  test('random proofs never verify, and never throw anything but MerkleError', () => {
    const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
    fc.assert(
      fc.property(fc.nat(100), fc.nat(100), fc.array(hash32, { maxLength: 8 }), hash32, hash32, (a, b, proof, x, y) => {
        expect(codeOf(() => verifyInclusion(x, a, b, proof, y))).toBeDefined();
        if (a !== b && !(a === 0 && proof.length === 0)) expect(codeOf(() => verifyConsistency(a, b, proof, x, y))).toBeDefined();
      }),
      { numRuns: 2000 },
    );
  });
});

describe('large trees', () => {
  test('a tree of 100 000 leaves proves inclusion and consistency at sizes far apart', () => {
    const tree = new MerkleTree();
    const n = 100_000;
    for (let i = 0; i < n; i++) tree.appendLeaf(utf8(String(i)));
    const root = tree.root();
    for (const index of [0, 1, 65_535, 65_536, 99_999]) {
      const proof = tree.inclusionProof(index);
      // 17 levels left of the 2^16 split; the ragged right edge is shallower (10 for the last leaf).
      expect(proof.length).toBe(index === 99_999 ? 10 : 17);
      verifyInclusion(leafHash(utf8(String(index))), index, n, proof, root);
    }
    for (const old of [1, 3, 65_536, 77_777, 99_999]) {
      verifyConsistency(old, n, tree.consistencyProof(old), tree.root(old), root);
    }
  });
});
