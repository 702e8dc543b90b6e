// The client's own copy of the transparency log (DESIGN.md §2 "Consistency", §4).
// It fetches the checkpoint and entry bundles (through the relay), and trusts them
// only if: the log signed the checkpoint; a quorum of pinned witnesses cosigned it,
// the newest cosignature recently; it extends, entry for entry, the copy already held
// (never a smaller or different history); and the entries hash to its root. From that
// copy, not from anything the gateway says, the client works out what is live.

import {
  FormatError,
  MerkleTree,
  NoteError,
  TILE_WIDTH,
  checkpointHistoryPath,
  cosignatureTimestamp,
  decodeEntryBundle,
  decodeLogEntry,
  entryBundlePath,
  equalBytes,
  logEntryLeafHash,
  parseCosignerKey,
  parseVerifierKey,
  ProtocolError,
  verifyCheckpoint,
  verifyNote,
  type LogEntry,
  type NoteVerifier,
  type VerifiedCheckpoint,
} from '../../protocol';

export const LOG_SYNC_ERROR_CODES = [
  'UNAVAILABLE',
  'CHECKPOINT_INVALID',
  'WITNESS_QUORUM',
  'WITNESS_STALE',
  'ROLLBACK',
  'FORKED',
  'ENTRIES_MISMATCH',
  'ENTRY_INVALID',
] as const;
export type LogSyncErrorCode = (typeof LOG_SYNC_ERROR_CODES)[number];
export class LogSyncError extends ProtocolError<LogSyncErrorCode> {
  readonly area = 'log-sync';
}

export interface LogSyncConfig {
  /** The log's checkpoint origin line. */
  readonly origin: string;
  /** The log's verifier key, pinned in the app. */
  readonly logKey: string;
  /** Witness verifier keys (cosignature/v1), pinned in the app. */
  readonly witnessKeys: readonly string[];
  /** Distinct witnesses that must have cosigned (at least 2 in production). */
  readonly quorum: number;
  /** The newest cosignature may be at most this old. Default 24 hours. */
  readonly maxCosignatureAgeMs?: number;
  /** A release is live only once its entry has been cosigned this long (72 h in production). */
  readonly publicationDelayMs: number;
  /** Fetches a log file (`checkpoint`, `tile/entries/…`, `checkpoints/…`) through the relay; undefined if absent. */
  readonly fetch: (path: string) => Promise<Uint8Array | undefined>;
  readonly now?: () => number;
}

/** What a client keeps between syncs (small: the log holds releases, keys and revocations). */
export interface LogSyncState {
  readonly size: number;
  /** Raw entries, in log order. */
  readonly entries: readonly Uint8Array[];
  /** Unix ms from which a quorum of witnesses had cosigned a checkpoint containing entry i, when known. */
  readonly publishedAt: Readonly<Record<number, number>>;
  /** The last verified checkpoint (with its signatures). */
  readonly checkpoint?: string;
}

export interface LiveSet {
  readonly releases: readonly (LogEntry & { type: 'release' })[];
  /** Releases still inside their publication delay: not usable yet. */
  readonly pendingReleases: readonly (LogEntry & { type: 'release' })[];
  /** Live session keys of live releases, newest start first (at most two). */
  readonly sessionKeys: readonly (LogEntry & { type: 'session_key' })[];
  /** Session keys of releases still inside their publication delay. */
  readonly pendingSessionKeys: readonly (LogEntry & { type: 'session_key' })[];
  /** The key to encrypt to: the live one with the latest start. */
  readonly currentSessionKey?: LogEntry & { type: 'session_key' };
  /** The issuer key to request tokens under, and the previous one still redeemable. */
  readonly currentIssuerKey?: LogEntry & { type: 'issuer_key' };
  readonly previousIssuerKey?: LogEntry & { type: 'issuer_key' };
}

export const DEFAULT_MAX_COSIGNATURE_AGE_MS = 24 * 3600_000;
/** Cosignatures dated further ahead than this are not counted. */
const FUTURE_SKEW_MS = 5 * 60_000;

function fail(code: LogSyncErrorCode, message?: string): never {
  throw new LogSyncError(code, message);
}

export class LogSync {
  private readonly logVerifier: NoteVerifier;
  private readonly witnessVerifiers: NoteVerifier[];
  private tree = new MerkleTree();
  private raw: Uint8Array[] = [];
  private decoded: LogEntry[] = [];
  private publishedAt = new Map<number, number>();
  private lastCheckpoint: string | undefined;

  constructor(
    private readonly config: LogSyncConfig,
    state?: LogSyncState,
  ) {
    if (!Number.isInteger(config.quorum) || config.quorum < 1 || config.quorum > config.witnessKeys.length) {
      throw new LogSyncError('WITNESS_QUORUM', 'the quorum must be between 1 and the number of pinned witnesses');
    }
    this.logVerifier = parseVerifierKey(config.logKey);
    this.witnessVerifiers = config.witnessKeys.map(parseCosignerKey);
    if (state) {
      for (const bytes of state.entries) this.add(bytes);
      if (this.tree.size !== state.size) throw new LogSyncError('ENTRY_INVALID', 'saved state is inconsistent');
      for (const [i, t] of Object.entries(state.publishedAt)) this.publishedAt.set(Number(i), t);
      this.lastCheckpoint = state.checkpoint;
    }
  }

  private now(): number {
    return (this.config.now ?? Date.now)();
  }

  private add(bytes: Uint8Array): void {
    let entry: LogEntry;
    try {
      entry = decodeLogEntry(bytes);
    } catch (err) {
      throw new LogSyncError('ENTRY_INVALID', err instanceof FormatError ? err.code : 'undecodable entry');
    }
    this.raw.push(bytes);
    this.decoded.push(entry);
    this.tree.appendLeafHash(logEntryLeafHash(bytes));
  }

  get size(): number {
    return this.tree.size;
  }

  get entries(): readonly LogEntry[] {
    return this.decoded;
  }

  state(): LogSyncState {
    return {
      size: this.tree.size,
      entries: [...this.raw],
      publishedAt: Object.fromEntries(this.publishedAt),
      ...(this.lastCheckpoint ? { checkpoint: this.lastCheckpoint } : {}),
    };
  }

  private async fetch(path: string): Promise<Uint8Array> {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.config.fetch(path);
    } catch {
      return fail('UNAVAILABLE', 'the log could not be fetched');
    }
    return bytes ?? fail('UNAVAILABLE', 'a log file is missing');
  }

  /** The log's signature, then the witnesses': distinct pinned witnesses and their cosignature times (ms). */
  private verifyCheckpointNote(text: string): { checkpoint: VerifiedCheckpoint; witnessTimes: Map<string, number> } {
    let checkpoint: VerifiedCheckpoint;
    try {
      checkpoint = verifyCheckpoint(text, { origin: this.config.origin, verifiers: [this.logVerifier] });
    } catch (err) {
      return fail('CHECKPOINT_INVALID', err instanceof NoteError ? err.code : 'invalid checkpoint');
    }
    const witnessTimes = new Map<string, number>();
    try {
      for (const s of verifyNote(text, this.witnessVerifiers).verified) {
        const t = cosignatureTimestamp(s.signature);
        if (t !== undefined && t * 1000 <= this.now() + FUTURE_SKEW_MS) witnessTimes.set(s.name, t * 1000);
      }
    } catch (err) {
      if (!(err instanceof NoteError && err.code === 'NO_TRUSTED_SIGNATURE')) fail('CHECKPOINT_INVALID', 'a witness signature does not verify');
    }
    return { checkpoint, witnessTimes };
  }

  /** The time from which `quorum` distinct witnesses had cosigned: the quorum-th earliest. */
  private quorumTime(witnessTimes: Map<string, number>): number | undefined {
    const times = [...witnessTimes.values()].sort((a, b) => a - b);
    return times.length >= this.config.quorum ? times[this.config.quorum - 1] : undefined;
  }

  /** Fetches and verifies the latest checkpoint and the entries it adds. Nothing changes unless all of it checks out. */
  async sync(): Promise<{ size: number; added: number }> {
    const text = new TextDecoder().decode(await this.fetch('checkpoint'));
    const { checkpoint, witnessTimes } = this.verifyCheckpointNote(text);
    if (witnessTimes.size < this.config.quorum) fail('WITNESS_QUORUM', 'too few pinned witnesses cosigned the checkpoint');
    const newest = Math.max(...witnessTimes.values());
    if (newest < this.now() - (this.config.maxCosignatureAgeMs ?? DEFAULT_MAX_COSIGNATURE_AGE_MS)) fail('WITNESS_STALE', 'no recent cosignature');

    const oldSize = this.tree.size;
    if (checkpoint.size < oldSize) fail('ROLLBACK', 'the log shows a smaller tree than one already seen');
    if (checkpoint.size === oldSize) {
      if (!equalBytes(checkpoint.rootHash, this.tree.root())) fail('FORKED', 'the same size with another root');
      this.lastCheckpoint = text;
      return { size: oldSize, added: 0 };
    }

    // Fetch the bundles that hold the new entries; known entries in them must be ours, byte for byte.
    const fresh: Uint8Array[] = [];
    for (let bundle = Math.floor(oldSize / TILE_WIDTH); bundle * TILE_WIDTH < checkpoint.size; bundle++) {
      const width = Math.min(TILE_WIDTH, checkpoint.size - bundle * TILE_WIDTH);
      let entries: Uint8Array[];
      try {
        entries = decodeEntryBundle(await this.fetch(entryBundlePath(bundle, width)), width);
      } catch (err) {
        if (err instanceof LogSyncError) throw err;
        return fail('ENTRIES_MISMATCH', 'an entry bundle is malformed');
      }
      entries.forEach((bytes, i) => {
        const index = bundle * TILE_WIDTH + i;
        if (index < oldSize) {
          if (!equalBytes(bytes, this.raw[index]!)) fail('FORKED', 'an entry already seen has changed');
        } else fresh.push(bytes);
      });
    }

    // Check against the signed root before keeping anything.
    const candidate = MerkleTree.fromLeafHashes([...this.raw, ...fresh].map((b) => logEntryLeafHash(b)));
    if (!equalBytes(candidate.root(), checkpoint.rootHash)) fail('ENTRIES_MISMATCH', 'the entries do not hash to the checkpoint root');
    for (const bytes of fresh) {
      try {
        decodeLogEntry(bytes); // every entry decodes before any state changes
      } catch (err) {
        fail('ENTRY_INVALID', err instanceof FormatError ? err.code : 'undecodable entry');
      }
    }
    for (const bytes of fresh) this.add(bytes);
    this.lastCheckpoint = text;
    await this.datePublications(oldSize, this.quorumTime(witnessTimes)!);
    return { size: this.tree.size, added: fresh.length };
  }

  /**
   * Dates when each new release entry became public: from the first checkpoint that
   * contained it (the log's checkpoint history), verified like any checkpoint and
   * matched against our own tree; failing that, from the checkpoint just verified
   * (later, so stricter).
   */
  private async datePublications(from: number, fallback: number): Promise<void> {
    for (let index = from; index < this.decoded.length; index++) {
      if (this.decoded[index]!.type !== 'release' || this.publishedAt.has(index)) continue;
      let dated = fallback;
      try {
        const bytes = await this.config.fetch(checkpointHistoryPath(index + 1));
        if (bytes) {
          const { checkpoint, witnessTimes } = this.verifyCheckpointNote(new TextDecoder().decode(bytes));
          const quorumTime = this.quorumTime(witnessTimes);
          if (checkpoint.size === index + 1 && equalBytes(checkpoint.rootHash, this.tree.root(index + 1)) && quorumTime !== undefined) {
            dated = Math.min(dated, quorumTime);
          }
        }
      } catch {
        // No usable history: keep the later date.
      }
      this.publishedAt.set(index, dated);
    }
  }

  /** What is live at `now`, from the client's own copy of the log. */
  liveSet(now = this.now()): LiveSet {
    const seconds = now / 1000;
    const revoked = this.decoded.filter((e): e is LogEntry & { type: 'revocation' } => e.type === 'revocation' && e.effectiveAt <= seconds);
    const inWindow = (e: { notBefore: number; notAfter: number }) => e.notBefore <= seconds && seconds < e.notAfter;
    const releases: (LogEntry & { type: 'release' })[] = [];
    const pending: (LogEntry & { type: 'release' })[] = [];
    this.decoded.forEach((e, index) => {
      if (e.type !== 'release' || !inWindow(e)) return;
      if (revoked.some((r) => r.target.type === 'release' && r.target.releaseId === e.releaseId)) return;
      const published = this.publishedAt.get(index);
      if (published !== undefined && published + this.config.publicationDelayMs <= now) releases.push(e);
      else pending.push(e);
    });
    const keysOf = (ids: Set<string>) =>
      this.decoded
        .filter((e): e is LogEntry & { type: 'session_key' } => e.type === 'session_key' && inWindow(e) && ids.has(e.releaseId))
        .filter((e) => !revoked.some((r) => r.target.type === 'session_key' && r.target.kmsKeyArn === e.kmsKeyArn))
        .sort((a, b) => b.notBefore - a.notBefore);
    const sessionKeys = keysOf(new Set(releases.map((r) => r.releaseId))).slice(0, 2);
    const pendingSessionKeys = keysOf(new Set(pending.map((r) => r.releaseId)));
    const issuerKeys = this.decoded
      .filter((e): e is LogEntry & { type: 'issuer_key' } => e.type === 'issuer_key' && inWindow(e))
      .filter((e) => !revoked.some((r) => r.target.type === 'issuer_key' && equalBytes(r.target.tokenKeyId, e.tokenKeyId)))
      .sort((a, b) => b.notBefore - a.notBefore);
    return {
      releases,
      pendingReleases: pending,
      sessionKeys,
      pendingSessionKeys,
      ...(sessionKeys[0] ? { currentSessionKey: sessionKeys[0] } : {}),
      ...(issuerKeys[0] ? { currentIssuerKey: issuerKeys[0] } : {}),
      ...(issuerKeys[1] ? { previousIssuerKey: issuerKeys[1] } : {}),
    };
  }
}
