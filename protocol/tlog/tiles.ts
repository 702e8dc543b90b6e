// C2SP tlog-tiles (https://c2sp.org/tlog-tiles): how a log's Merkle tree and entries
// are published as static files. Tiles are 256 hashes wide; the n-th tile at level l
// holds MTH(D[(n*256+i)*256^l : (n*256+i+1)*256^l]) for i in 0..255, i.e. the
// complete subtrees of height 8l. Entry bundles hold the entries of a level-0 tile,
// each behind a big-endian 16-bit length. The rightmost tiles of a tree are partial.

import { concat } from '../bytes';
import { ProtocolError } from '../errors';
import { HASH_SIZE, type MerkleTree } from '../merkle';

export const TILE_WIDTH = 256;
export const TILE_HEIGHT = 8;
export const MAX_ENTRY_LENGTH = 0xffff;

export const TLOG_ERROR_CODES = ['MALFORMED', 'ENTRY_TOO_LARGE', 'TILE_MISMATCH'] as const;
export type TlogErrorCode = (typeof TLOG_ERROR_CODES)[number];
export class TlogError extends ProtocolError<TlogErrorCode> {
  readonly area = 'tlog';
}

/** N as zero-padded 3-digit path elements, all but the last prefixed with `x` (1234067 → x001/x234/067). */
export function tileIndexPath(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new TlogError('MALFORMED', 'invalid tile index');
  const groups: string[] = [];
  let rest = n;
  do {
    groups.unshift(String(rest % 1000).padStart(3, '0'));
    rest = Math.floor(rest / 1000);
  } while (rest > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

function suffix(width: number): string {
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) throw new TlogError('MALFORMED', 'invalid tile width');
  return width === TILE_WIDTH ? '' : `.p/${width}`;
}

export function tilePath(level: number, n: number, width = TILE_WIDTH): string {
  if (!Number.isInteger(level) || level < 0 || level > 63) throw new TlogError('MALFORMED', 'invalid tile level');
  return `tile/${level}/${tileIndexPath(n)}${suffix(width)}`;
}

export function entryBundlePath(n: number, width = TILE_WIDTH): string {
  return `tile/entries/${tileIndexPath(n)}${suffix(width)}`;
}

export interface TileRef {
  readonly level: number;
  readonly index: number;
  readonly width: number;
}

/**
 * The tile that contains position `position` (in units of level-l tile entries) for a
 * tree of `size` leaves: full when the tree has all 256 of its hashes, else partial.
 */
export function tileAt(level: number, index: number, size: number): TileRef | undefined {
  const span = TILE_WIDTH ** level; // leaves per hash at this level
  const hashesAtLevel = Math.floor(size / span);
  const width = Math.min(TILE_WIDTH, hashesAtLevel - index * TILE_WIDTH);
  return width >= 1 ? { level, index, width } : undefined;
}

/** Every tile (at every level) a tree of `size` leaves publishes: full tiles, then the partial ones. */
export function tilesForSize(size: number): TileRef[] {
  const tiles: TileRef[] = [];
  for (let level = 0; TILE_WIDTH ** level <= size; level++) {
    const hashes = Math.floor(size / TILE_WIDTH ** level);
    for (let index = 0; index * TILE_WIDTH < hashes; index++) tiles.push(tileAt(level, index, size)!);
  }
  return tiles;
}

/** The hashes of a tile, from a tree that holds at least the tile's span. */
export function tileHashes(tree: MerkleTree, tile: TileRef): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < tile.width; i++) parts.push(tree.subtreeHash(TILE_HEIGHT * tile.level, tile.index * TILE_WIDTH + i));
  return concat(...parts);
}

/** Splits tile bytes into hashes; the length must be a whole number of hashes. */
export function splitTile(bytes: Uint8Array, width: number): Uint8Array[] {
  if (bytes.length !== width * HASH_SIZE) throw new TlogError('TILE_MISMATCH', 'tile has the wrong size');
  return Array.from({ length: width }, (_, i) => bytes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
}

export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  if (entries.length === 0 || entries.length > TILE_WIDTH) throw new TlogError('MALFORMED', 'a bundle holds 1 to 256 entries');
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    if (e.length > MAX_ENTRY_LENGTH) throw new TlogError('ENTRY_TOO_LARGE');
    parts.push(Uint8Array.of(e.length >> 8, e.length & 0xff), e);
  }
  return concat(...parts);
}

export function decodeEntryBundle(bytes: Uint8Array, expected?: number): Uint8Array[] {
  const entries: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 2 > bytes.length) throw new TlogError('MALFORMED', 'truncated entry length');
    const length = (bytes[offset]! << 8) | bytes[offset + 1]!;
    offset += 2;
    if (offset + length > bytes.length) throw new TlogError('MALFORMED', 'truncated entry');
    entries.push(bytes.slice(offset, offset + length));
    offset += length;
  }
  if (entries.length === 0 || entries.length > TILE_WIDTH || (expected !== undefined && entries.length !== expected)) {
    throw new TlogError('MALFORMED', 'unexpected number of entries in a bundle');
  }
  return entries;
}

/** Path of the historical checkpoint first published at `size` (this project's addition to tlog-tiles). */
export function checkpointHistoryPath(size: number): string {
  if (!Number.isSafeInteger(size) || size < 1) throw new TlogError('MALFORMED', 'invalid size');
  return `checkpoints/${tileIndexPath(size)}`;
}

export const CHECKPOINT_PATH = 'checkpoint';
