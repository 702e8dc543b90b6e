// What a witness remembers per log: the latest checkpoint it cosigned (size and root).
// Checking the old size and recording the new checkpoint must be one atomic step
// (C2SP tlog-witness), so the store offers compare-and-set.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface WitnessedHead {
  readonly size: number;
  /** Base64 root hash. */
  readonly rootHash: string;
}

export interface WitnessStateStore {
  get(origin: string): Promise<WitnessedHead | undefined>;
  /** Records `next` only if the stored size is still `expectedSize` (0 when none); true on success. */
  compareAndSet(origin: string, expectedSize: number, next: WitnessedHead): Promise<boolean>;
}

export class MemoryWitnessState implements WitnessStateStore {
  protected readonly heads = new Map<string, WitnessedHead>();

  async get(origin: string): Promise<WitnessedHead | undefined> {
    return this.heads.get(origin);
  }

  async compareAndSet(origin: string, expectedSize: number, next: WitnessedHead): Promise<boolean> {
    // Single-threaded: no await between the check and the write, so this is atomic.
    if ((this.heads.get(origin)?.size ?? 0) !== expectedSize) return false;
    this.heads.set(origin, next);
    this.persist();
    return true;
  }

  protected persist(): void {}
}

/** The same, persisted to a JSON file (written to a temporary file, then renamed). */
export class FileWitnessState extends MemoryWitnessState {
  constructor(private readonly file: string) {
    super();
    if (existsSync(file)) {
      for (const [origin, head] of Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, WitnessedHead>)) this.heads.set(origin, head);
    }
  }

  protected override persist(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.heads), null, 2));
    renameSync(tmp, this.file);
  }
}
