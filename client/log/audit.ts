// `ppx audit`: the whole transparency log checked by someone who trusts none of it.
// A fresh copy is synced (log signature, witness quorum, entries hash to the root), then:
// every checkpoint in the log's history must be signed by the log and be a prefix of the
// current tree (a log that showed another history at some size is caught here); every
// entry is replayed through the log's own rules (protocol/tlog/rules.ts), so a key that
// is not exactly its release's, or too many live keys, is reported with its code.

import { EMPTY_ROOT, LogRuleError, LogRules, MerkleTree, NoteError, checkpointHistoryPath, equalBytes, logEntryLeafHash, parseVerifierKey, toHex, verifyCheckpoint, type LogEntry } from '../../protocol';
import { LogSync, type LiveSet, type LogSyncConfig } from './sync';

export interface AuditFinding {
  /** Log index of the entry or checkpoint size concerned. */
  readonly at: number;
  readonly code: string;
  readonly detail: string;
}

export interface AuditReport {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: string;
  readonly counts: Readonly<Record<LogEntry['type'], number>>;
  readonly releases: readonly { readonly index: number; readonly releaseId: string; readonly kind: string; readonly pcr0: string }[];
  /** Checkpoints of the log's history that were signed and consistent with the current tree. */
  readonly historyVerified: number;
  /** Sizes with no history file (the log writer keeps one per size it published; older logs may lack some). */
  readonly historyMissing: number;
  /** Broken rules and inconsistent history: any of these means the log cannot be trusted. */
  readonly problems: readonly AuditFinding[];
  /** Worth a look, not a breach (e.g. emulated releases in a production log). */
  readonly warnings: readonly AuditFinding[];
  readonly live: LiveSet;
}

export interface AuditOptions {
  /** Accept releases of kind `emulated` without a warning (the local stack). */
  readonly local?: boolean;
}

/** Syncs a fresh copy of the log and audits all of it. Throws what the sync throws (LogSyncError). */
export async function auditLog(config: LogSyncConfig, options: AuditOptions = {}): Promise<AuditReport> {
  const sync = new LogSync(config);
  await sync.sync();
  const state = sync.state();
  const tree = MerkleTree.fromLeafHashes(state.entries.map((b) => logEntryLeafHash(b)));
  const problems: AuditFinding[] = [];
  const warnings: AuditFinding[] = [];

  // History: each size's first cosigned checkpoint must describe a prefix of today's tree.
  const verifier = parseVerifierKey(config.logKey);
  let historyVerified = 0;
  let historyMissing = 0;
  for (let size = 1; size <= state.size; size++) {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await config.fetch(checkpointHistoryPath(size));
    } catch {
      bytes = undefined;
    }
    if (!bytes) {
      historyMissing++;
      continue;
    }
    try {
      const checkpoint = verifyCheckpoint(new TextDecoder().decode(bytes), { origin: config.origin, verifiers: [verifier] });
      if (checkpoint.size !== size) problems.push({ at: size, code: 'HISTORY_SIZE', detail: `the history file for size ${size} holds a checkpoint of size ${checkpoint.size}` });
      else if (!equalBytes(checkpoint.rootHash, tree.root(size))) problems.push({ at: size, code: 'FORKED', detail: `the log signed another tree at size ${size}` });
      else historyVerified++;
    } catch (err) {
      problems.push({ at: size, code: 'HISTORY_INVALID', detail: err instanceof NoteError ? err.code : 'unreadable checkpoint' });
    }
  }

  // Entries: replayed through the log's rules.
  const rules = new LogRules({ allowEmulated: true });
  const counts: Record<LogEntry['type'], number> = { release: 0, session_key: 0, issuer_key: 0, revocation: 0 };
  const releases: { index: number; releaseId: string; kind: string; pcr0: string }[] = [];
  sync.entries.forEach((entry, index) => {
    counts[entry.type]++;
    try {
      rules.check(entry);
    } catch (err) {
      problems.push({ at: index, code: err instanceof LogRuleError ? err.code : 'INVALID_ENTRY', detail: `${entry.type} breaks the log's rules${err instanceof Error && err.message !== (err as { code?: string }).code ? `: ${err.message}` : ''}` });
    }
    rules.add(entry);
    if (entry.type === 'release') {
      releases.push({ index, releaseId: entry.releaseId, kind: entry.kind, pcr0: toHex(entry.pcr0) });
      if (entry.kind === 'emulated' && !options.local) warnings.push({ at: index, code: 'EMULATED_RELEASE', detail: `release ${entry.releaseId} was measured by the emulator, not nitro-cli` });
    }
  });

  const lines = (state.checkpoint ?? '').split('\n');
  return {
    origin: lines[0] ?? config.origin,
    size: state.size,
    rootHash: toHex(state.size === 0 ? EMPTY_ROOT : tree.root()),
    counts,
    releases,
    historyVerified,
    historyMissing,
    problems,
    warnings,
    live: sync.liveSet(),
  };
}
