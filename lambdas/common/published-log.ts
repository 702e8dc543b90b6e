// Reading the transparency log as published (the gateway, for its key bundles, and the
// rotation function, for what is logged): the checkpoint, checked against the log's key,
// and the entry bundles, checked against its root. Neither reader is trusted by clients;
// checking keeps an operator mistake (a wrong bucket, a half-written log) from being served.
import {
  CHECKPOINT_PATH,
  MerkleTree,
  decodeLogEntry,
  equalBytes,
  logEntryLeafHash,
  parseVerifierKey,
  verifyCheckpoint,
  type LogEntry,
} from '../../protocol';
import { readLogEntries, type LogStorage } from '../log-writer/storage';

export interface PublishedLog {
  readonly entries: readonly LogEntry[];
  /** The checkpoint as published, with its signatures. */
  readonly checkpoint: string;
}

export async function readPublishedLog(storage: LogStorage, options: { readonly origin: string; readonly logKey: string }): Promise<PublishedLog> {
  const bytes = await storage.read(CHECKPOINT_PATH);
  if (!bytes) throw new Error('the log has no checkpoint');
  const checkpoint = new TextDecoder().decode(bytes);
  const verified = verifyCheckpoint(checkpoint, { origin: options.origin, verifiers: [parseVerifierKey(options.logKey)] });
  const raw = await readLogEntries(storage, verified.size);
  if (verified.size > 0 && !equalBytes(MerkleTree.fromLeafHashes(raw.map((r) => logEntryLeafHash(r))).root(), verified.rootHash)) {
    throw new Error('the entries do not match the checkpoint');
  }
  return { entries: raw.map((r) => decodeLogEntry(r)), checkpoint };
}

/** Keeps the last good read for `ttlMs`; a failed refresh keeps serving the last good one. */
export class CachedPublishedLog {
  private current: PublishedLog | undefined;
  private readAt = 0;

  constructor(
    private readonly read: () => Promise<PublishedLog>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async refresh(): Promise<PublishedLog | undefined> {
    if (this.current && this.now() - this.readAt < this.ttlMs) return this.current;
    try {
      this.current = await this.read();
      this.readAt = this.now();
    } catch {
      // Keep the last good copy; with none, the caller answers unavailable.
    }
    return this.current;
  }

  get value(): PublishedLog | undefined {
    return this.current;
  }
}

/** A witness reached over HTTP (C2SP tlog-witness: POST <url>/add-checkpoint). */
export function httpWitness(url: string, verifierKey: string, fetchImpl: typeof fetch = fetch, timeoutMs = 5000) {
  return {
    verifierKey,
    async addCheckpoint(body: string): Promise<{ status: number; body: string }> {
      const response = await fetchImpl(`${url.replace(/\/+$/, '')}/add-checkpoint`, { method: 'POST', body, signal: AbortSignal.timeout(timeoutMs) });
      return { status: response.status, body: await response.text() };
    },
  };
}
