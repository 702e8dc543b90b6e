// Where the log's static files (checkpoint, tiles, entry bundles, checkpoint
// history) live: a folder locally, S3 in AWS (the TransparencyStack's bucket). The
// log writer is the only writer; everyone else reads the files as published.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { TILE_WIDTH, decodeEntryBundle, entryBundlePath } from '../../protocol';

export interface LogStorage {
  read(path: string): Promise<Uint8Array | undefined>;
  write(path: string, data: Uint8Array): Promise<void>;
}

const PATH = /^[a-z0-9][a-z0-9./]*$/;

/** Log paths are relative, lower-case, without empty, `.` or `..` segments: every storage checks them before any I/O. */
export function checkPath(path: string): void {
  if (!PATH.test(path) || path.split('/').some((s) => s === '' || s === '.' || s === '..')) throw new Error('invalid storage path');
}

export class MemoryStorage implements LogStorage {
  readonly files = new Map<string, Uint8Array>();

  async read(path: string): Promise<Uint8Array | undefined> {
    checkPath(path);
    const data = this.files.get(path);
    return data ? Uint8Array.from(data) : undefined;
  }

  async write(path: string, data: Uint8Array): Promise<void> {
    checkPath(path);
    this.files.set(path, Uint8Array.from(data));
  }
}

export class FolderStorage implements LogStorage {
  constructor(private readonly root: string) {}

  private resolve(path: string): string {
    checkPath(path);
    const full = normalize(join(this.root, path));
    if (!full.startsWith(normalize(this.root) + sep)) throw new Error('invalid storage path');
    return full;
  }

  async read(path: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.resolve(path)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async write(path: string, data: Uint8Array): Promise<void> {
    const full = this.resolve(path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(`${full}.tmp`, data);
    await rename(`${full}.tmp`, full);
  }
}

/** The raw entries of a log of `size` entries, from its entry bundles; throws if a bundle is missing or malformed. */
export async function readLogEntries(storage: LogStorage, size: number): Promise<Uint8Array[]> {
  const raw: Uint8Array[] = [];
  for (let bundle = 0; bundle * TILE_WIDTH < size; bundle++) {
    const width = Math.min(TILE_WIDTH, size - bundle * TILE_WIDTH);
    const bytes = await storage.read(entryBundlePath(bundle, width));
    if (!bytes) throw new Error('an entry bundle is missing');
    raw.push(...decodeEntryBundle(bytes, width));
  }
  return raw;
}
