// The transparency log's only writer. It accepts typed appends of the shared log
// entries from the release role (releases, session keys, revocations) and the
// rotation role (issuer keys, their revocations), checks each against what the log
// already holds, appends it, publishes C2SP tlog-tiles (entry bundles, hash tiles, a
// signed checkpoint, and this project's checkpoint history), and has witnesses
// cosign every new checkpoint. `refresh()` re-collects cosignatures when idle so the
// newest stays young (clients refuse a quorum older than 24 hours).

import {
  LogRules,
  LogRuleError,
  LOG_RULE_CODES,
  CHECKPOINT_PATH,
  EMPTY_ROOT,
  MerkleTree,
  TILE_WIDTH,
  checkpointHistoryPath,
  decodeLogEntry,
  encodeAddCheckpoint,
  encodeEntryBundle,
  entryBundlePath,
  equalBytes,
  formatCheckpoint,
  logEntryLeafHash,
  parseCheckpoint,
  parseNote,
  signNote,
  tileAt,
  tileHashes,
  tilePath,
  verifyNote,
  parseCosignerKey,
  ProtocolError,
  type LogEntry,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
} from '../../protocol';
import { readLogEntries, type LogStorage } from './storage';

/** The log's own rules (protocol/tlog/rules.ts), and who may append, and storage that lies. */
export const LOG_WRITER_ERROR_CODES = ['NOT_AUTHORIZED', ...LOG_RULE_CODES, 'STORAGE_INCONSISTENT'] as const;
export type LogWriterErrorCode = (typeof LOG_WRITER_ERROR_CODES)[number];
export class LogWriterError extends ProtocolError<LogWriterErrorCode> {
  readonly area = 'log-writer';
}

/** Who appends: the release pipeline's role or the issuer-rotation role. */
export type Submitter = 'publisher' | 'rotation';

const ALLOWED: Record<Submitter, ReadonlySet<string>> = {
  publisher: new Set(['release', 'session_key', 'revocation:release', 'revocation:session_key']),
  rotation: new Set(['issuer_key', 'revocation:issuer_key']),
};

/** A witness the log asks for cosignatures (C2SP tlog-witness add-checkpoint). */
export interface WitnessEndpoint {
  /** The witness's verifier key (`name+id+key`, type 0x04). */
  readonly verifierKey: string;
  addCheckpoint(body: string): Promise<{ status: number; body: string }>;
}

export interface LogWriterOptions {
  readonly storage: LogStorage;
  /** The checkpoint origin line. */
  readonly origin: string;
  /** The log's signing key (readable only by the log writer). */
  readonly signer: NoteSigner;
  readonly witnesses?: readonly WitnessEndpoint[];
  /** Accept releases of kind `emulated` (local stacks only). */
  readonly allowEmulated?: boolean;
  readonly now?: () => number;
}

interface WitnessState {
  readonly endpoint: WitnessEndpoint;
  readonly verifier: NoteVerifier;
  /** The size this witness last cosigned, as far as we know. */
  size: number;
}

export class LogWriter {
  private readonly tree = new MerkleTree();
  private readonly entries: LogEntry[] = [];
  private readonly raw: Uint8Array[] = [];
  private readonly witnesses: WitnessState[];
  // The log's rules, kept up to date entry by entry, so that validating an append does not scan the log.
  private readonly rules: LogRules;
  private lock: Promise<unknown> = Promise.resolve();
  private current = '';

  private constructor(private readonly options: LogWriterOptions) {
    this.rules = new LogRules({ allowEmulated: options.allowEmulated ?? false });
    this.witnesses = (options.witnesses ?? []).map((endpoint) => ({ endpoint, verifier: parseCosignerKey(endpoint.verifierKey), size: 0 }));
  }

  /** Opens the log in `storage`, re-reading and re-checking every published entry. */
  static async open(options: LogWriterOptions): Promise<LogWriter> {
    const log = new LogWriter(options);
    const published = await options.storage.read(CHECKPOINT_PATH);
    if (published) {
      const checkpoint = parseCheckpoint(new TextDecoder().decode(published));
      try {
        for (const entry of await readLogEntries(options.storage, checkpoint.size)) log.load(entry);
      } catch (err) {
        throw new LogWriterError('STORAGE_INCONSISTENT', err instanceof Error && err.message === 'an entry bundle is missing' ? err.message : 'a published entry does not decode');
      }
      if (!equalBytes(log.tree.root(), checkpoint.rootHash)) throw new LogWriterError('STORAGE_INCONSISTENT', 'entries do not match the checkpoint');
      log.current = new TextDecoder().decode(published);
    } else {
      await log.publish();
    }
    return log;
  }

  private load(bytes: Uint8Array): void {
    const entry = decodeLogEntry(bytes);
    this.entries.push(entry);
    this.raw.push(bytes);
    this.tree.appendLeafHash(logEntryLeafHash(bytes));
    this.rules.add(entry);
  }

  get size(): number {
    return this.tree.size;
  }

  /** The published checkpoint, with the log's signature and the witnesses' cosignatures. */
  get checkpoint(): string {
    return this.current;
  }

  /** Decoded entries, in log order (a copy). */
  allEntries(): readonly LogEntry[] {
    return [...this.entries];
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work, work);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Appends one entry; returns its index and the new checkpoint. */
  append(entry: LogEntry, submitter: Submitter): Promise<{ index: number; checkpoint: string }> {
    return this.serial(async () => {
      const bytes = this.validate(entry, submitter);
      this.load(bytes);
      const index = this.tree.size - 1;
      await this.writeTiles(index);
      await this.publish();
      return { index, checkpoint: this.current };
    });
  }

  /** Re-collects cosignatures on the current checkpoint (run when idle, e.g. hourly). */
  refresh(): Promise<string> {
    return this.serial(async () => {
      await this.publish();
      return this.current;
    });
  }

  // ---------------------------------------------------------------------------
  // Validation.

  private validate(entry: LogEntry, submitter: Submitter): Uint8Array {
    const kind = entry.type === 'revocation' ? `revocation:${entry.target.type}` : entry.type;
    if (!ALLOWED[submitter].has(kind)) throw new LogWriterError('NOT_AUTHORIZED', `${submitter} may not append ${kind}`);
    try {
      return this.rules.check(entry);
    } catch (err) {
      if (err instanceof LogRuleError) throw new LogWriterError(err.code, err.message);
      throw err;
    }
  }

  // ---------------------------------------------------------------------------
  // Publication.

  /** Rewrites the entry bundle and the hash tiles that `index` changed. */
  private async writeTiles(index: number): Promise<void> {
    const size = this.tree.size;
    const bundle = Math.floor(index / TILE_WIDTH);
    const width = size - bundle * TILE_WIDTH;
    await this.options.storage.write(entryBundlePath(bundle, Math.min(width, TILE_WIDTH)), encodeEntryBundle(this.raw.slice(bundle * TILE_WIDTH, size)));
    // A hash at level l is complete when the size is a multiple of 256^l: only those tiles change.
    for (let level = 0; TILE_WIDTH ** level <= size && size % TILE_WIDTH ** level === 0; level++) {
      const newest = size / TILE_WIDTH ** level - 1;
      const tile = tileAt(level, Math.floor(newest / TILE_WIDTH), size)!;
      await this.options.storage.write(tilePath(tile.level, tile.index, tile.width), tileHashes(this.tree, tile));
    }
  }

  /** Signs the checkpoint for the current size, collects cosignatures and publishes it. */
  private async publish(): Promise<void> {
    const size = this.tree.size;
    const text = formatCheckpoint({ origin: this.options.origin, size, rootHash: size === 0 ? EMPTY_ROOT : this.tree.root(), extensions: [] });
    const signed = signNote(text, [this.options.signer]);
    const cosignatures: NoteSignature[] = [];
    for (const witness of this.witnesses) {
      const signature = await this.cosign(witness, signed, text);
      if (signature) cosignatures.push(signature);
    }
    const published = cosignatures.length > 0 ? signNote(text, [], [...parseNote(signed).signatures, ...cosignatures]) : signed;
    this.current = published;
    const bytes = new TextEncoder().encode(published);
    await this.options.storage.write(CHECKPOINT_PATH, bytes);
    if (size > 0 && !(await this.options.storage.read(checkpointHistoryPath(size)))) {
      // The first cosigned checkpoint at each size: clients date an entry's publication by it.
      await this.options.storage.write(checkpointHistoryPath(size), bytes);
    }
  }

  private async cosign(witness: WitnessState, signed: string, text: string): Promise<NoteSignature | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const oldSize = Math.min(witness.size, this.tree.size);
      const proof = oldSize > 0 && oldSize < this.tree.size ? this.tree.consistencyProof(oldSize) : [];
      let answer: { status: number; body: string };
      try {
        answer = await witness.endpoint.addCheckpoint(encodeAddCheckpoint({ oldSize, proof, checkpoint: signed }));
      } catch {
        return undefined; // an unreachable witness costs a cosignature, not the append
      }
      if (answer.status === 409) {
        const size = Number(/^(\d+)\n$/.exec(answer.body)?.[1]);
        if (!Number.isSafeInteger(size) || size > this.tree.size) return undefined;
        witness.size = size;
        continue;
      }
      if (answer.status !== 200) return undefined;
      try {
        const verified = verifyNote(`${text}\n${answer.body}`, [witness.verifier]);
        witness.size = this.tree.size;
        return verified.verified[0];
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}
