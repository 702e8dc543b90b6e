// Merkle trees of RFC 6962 / RFC 9162 §2.1: hashing, the prover side (roots,
// inclusion and consistency proofs over an append-only tree of millions of
// leaves) and the verifier side.
//
// The tree keeps every complete, aligned subtree hash (what C2SP tlog-tiles
// publish), level by level in flat buffers, so a proof costs O(log n) hashes,
// not O(n). Sizes and indexes are plain numbers (exact up to 2^53).

import { createHash } from 'node:crypto';
import { equalBytes } from './bytes';
import { MerkleError } from './errors';

export const HASH_SIZE = 32;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** MTH({}) = SHA-256 of the empty string (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Uint8Array = new Uint8Array(createHash('sha256').digest());

/** MTH({d}) = SHA-256(0x00 || d). */
export function leafHash(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(LEAF_PREFIX).update(data).digest());
}

/** SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest());
}

/** The largest power of two strictly less than n (n > 1). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && Math.log2(n) % 1 === 0;
}

function checkSize(n: number, name: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new MerkleError('INVALID_ARGUMENT', `${name} must be a non-negative integer`);
}

function checkHash(h: Uint8Array): void {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) throw new MerkleError('INVALID_ARGUMENT', 'hashes are 32 bytes');
}

/** A growable array of 32-byte hashes in one buffer. */
class HashLevel {
  private buffer = new Uint8Array(HASH_SIZE * 16);
  length = 0;

  push(hash: Uint8Array): void {
    if ((this.length + 1) * HASH_SIZE > this.buffer.length) {
      const bigger = new Uint8Array(this.buffer.length * 2);
      bigger.set(this.buffer);
      this.buffer = bigger;
    }
    this.buffer.set(hash, this.length * HASH_SIZE);
    this.length++;
  }

  get(index: number): Uint8Array {
    return this.buffer.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE);
  }
}

/** An append-only Merkle tree that can prove inclusion and consistency for any earlier size. */
export class MerkleTree {
  /** levels[l] holds the hashes of the complete subtrees of 2^l leaves, left to right. */
  private readonly levels: HashLevel[] = [new HashLevel()];

  static fromLeafHashes(hashes: Iterable<Uint8Array>): MerkleTree {
    const tree = new MerkleTree();
    for (const h of hashes) tree.appendLeafHash(h);
    return tree;
  }

  get size(): number {
    return this.levels[0]!.length;
  }

  /** Appends a leaf by its data; returns its index. */
  appendLeaf(data: Uint8Array): number {
    return this.appendLeafHash(leafHash(data));
  }

  /** Appends a leaf by its leaf hash; returns its index. */
  appendLeafHash(hash: Uint8Array): number {
    checkHash(hash);
    const index = this.size;
    this.levels[0]!.push(hash);
    // Each newly completed subtree becomes a node one level up.
    let level = 0;
    let position = index;
    while (position % 2 === 1) {
      const current = this.levels[level]!;
      const node = nodeHash(current.get(position - 1), current.get(position));
      if (!this.levels[level + 1]) this.levels.push(new HashLevel());
      this.levels[level + 1]!.push(node);
      position = (position - 1) / 2;
      level++;
    }
    return index;
  }

  leafHash(index: number): Uint8Array {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) throw new MerkleError('INDEX_OUT_OF_RANGE');
    return Uint8Array.from(this.levels[0]!.get(index));
  }

  /** The hash of a complete aligned subtree: level `level`, position `index` (a tile entry). */
  subtreeHash(level: number, index: number): Uint8Array {
    const l = this.levels[level];
    if (!l || !Number.isSafeInteger(index) || index < 0 || index >= l.length) throw new MerkleError('INDEX_OUT_OF_RANGE');
    return Uint8Array.from(l.get(index));
  }

  /** MTH(D[start:end]) for end <= size. */
  private rangeHash(start: number, end: number): Uint8Array {
    const n = end - start;
    if (isPowerOfTwo(n) && start % n === 0) return this.levels[Math.log2(n)]!.get(start / n);
    const k = splitPoint(n);
    return nodeHash(this.rangeHash(start, start + k), this.rangeHash(start + k, end));
  }

  private checkTreeSize(treeSize: number): void {
    checkSize(treeSize, 'tree size');
    if (treeSize > this.size) throw new MerkleError('INDEX_OUT_OF_RANGE', 'tree size exceeds the tree');
  }

  /** MTH of the first `treeSize` leaves (default: all). */
  root(treeSize = this.size): Uint8Array {
    this.checkTreeSize(treeSize);
    return treeSize === 0 ? Uint8Array.from(EMPTY_ROOT) : Uint8Array.from(this.rangeHash(0, treeSize));
  }

  /** PATH(index, D[0:treeSize]) of RFC 9162 §2.1.3.1, leaf side first. */
  inclusionProof(index: number, treeSize = this.size): Uint8Array[] {
    this.checkTreeSize(treeSize);
    if (!Number.isSafeInteger(index) || index < 0 || index >= treeSize) throw new MerkleError('INDEX_OUT_OF_RANGE');
    const proof: Uint8Array[] = [];
    let start = 0;
    let end = treeSize;
    let m = index;
    // Walk down from the root, collecting siblings; the RFC lists them bottom-up.
    while (end - start > 1) {
      const k = splitPoint(end - start);
      if (m < k) {
        proof.push(this.rangeHash(start + k, end));
        end = start + k;
      } else {
        proof.push(this.rangeHash(start, start + k));
        start += k;
        m -= k;
      }
    }
    return proof.reverse().map((h) => Uint8Array.from(h));
  }

  /** PROOF(oldSize, D[0:newSize]) of RFC 9162 §2.1.4.1; empty when oldSize is 0 or equals newSize. */
  consistencyProof(oldSize: number, newSize = this.size): Uint8Array[] {
    this.checkTreeSize(newSize);
    checkSize(oldSize, 'old size');
    if (oldSize > newSize) throw new MerkleError('INVALID_ARGUMENT', 'old size exceeds new size');
    if (oldSize === 0 || oldSize === newSize) return [];
    const proof: Uint8Array[] = [];
    let start = 0;
    let end = newSize;
    let m = oldSize;
    let complete = true; // SUBPROOF's b: whether the subtree is the whole old tree
    for (;;) {
      const n = end - start;
      if (m === n) {
        if (!complete) proof.push(this.rangeHash(start, end));
        break;
      }
      const k = splitPoint(n);
      if (m <= k) {
        proof.push(this.rangeHash(start + k, end));
        end = start + k;
      } else {
        proof.push(this.rangeHash(start, start + k));
        start += k;
        m -= k;
        complete = false;
      }
    }
    return proof.reverse().map((h) => Uint8Array.from(h));
  }
}

/** MTH of a list of leaf hashes. */
export function merkleRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  return MerkleTree.fromLeafHashes(leafHashes).root();
}

/** Inclusion proof for leaf `index` in the tree of the first `treeSize` of `leafHashes`. */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number, treeSize = leafHashes.length): Uint8Array[] {
  return MerkleTree.fromLeafHashes(leafHashes.slice(0, treeSize)).inclusionProof(index, treeSize);
}

/** Consistency proof from `oldSize` to `newSize` over `leafHashes`. */
export function consistencyProof(leafHashes: readonly Uint8Array[], oldSize: number, newSize = leafHashes.length): Uint8Array[] {
  return MerkleTree.fromLeafHashes(leafHashes.slice(0, newSize)).consistencyProof(oldSize, newSize);
}

const half = (n: number) => Math.floor(n / 2);
const isOdd = (n: number) => n % 2 === 1;

/**
 * RFC 9162 §2.1.3.2: checks that `leaf` (a leaf hash) is at `index` in the tree of
 * `treeSize` leaves with root `root`. Throws `PROOF_INVALID` (or
 * `INDEX_OUT_OF_RANGE`) otherwise.
 */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  checkSize(index, 'index');
  checkSize(treeSize, 'tree size');
  checkHash(leaf);
  checkHash(root);
  proof.forEach(checkHash);
  if (index >= treeSize) throw new MerkleError('INDEX_OUT_OF_RANGE');
  let fn = index;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) throw new MerkleError('PROOF_INVALID', 'proof too long');
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0 || !equalBytes(r, root)) throw new MerkleError('PROOF_INVALID');
}

/**
 * RFC 9162 §2.1.4.2: checks that the tree of `newSize` leaves with root `newRoot`
 * extends the tree of `oldSize` leaves with root `oldRoot`. Throws `PROOF_INVALID`
 * otherwise (`INVALID_ARGUMENT` for sizes that cannot be compared).
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  proof: readonly Uint8Array[],
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
): void {
  checkSize(oldSize, 'old size');
  checkSize(newSize, 'new size');
  checkHash(oldRoot);
  checkHash(newRoot);
  proof.forEach(checkHash);
  if (oldSize > newSize) throw new MerkleError('INVALID_ARGUMENT', 'old size exceeds new size');
  if (oldSize === newSize) {
    if (proof.length !== 0 || !equalBytes(oldRoot, newRoot)) throw new MerkleError('PROOF_INVALID');
    return;
  }
  if (oldSize === 0) {
    // Every tree extends the empty tree; its root is fixed.
    if (proof.length !== 0 || !equalBytes(oldRoot, EMPTY_ROOT)) throw new MerkleError('PROOF_INVALID');
    return;
  }
  if (proof.length === 0) throw new MerkleError('PROOF_INVALID', 'empty proof');
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : [...proof];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) throw new MerkleError('PROOF_INVALID', 'proof too long');
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0 || !equalBytes(fr, oldRoot) || !equalBytes(sr, newRoot)) throw new MerkleError('PROOF_INVALID');
}
