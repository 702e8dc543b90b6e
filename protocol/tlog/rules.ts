// The rules every entry of the transparency log obeys, in one place: the log writer
// refuses an append that breaks one, and an auditor (`ppx audit`) replays the whole log
// through the same rules. A session key must be exactly its release's (the key policy
// and DescribeKey checks the enclave and the client run); at most two session keys and
// two issuer keys overlap at any instant; issuer keys start in order; a revocation names
// something the log holds.

import { equalBytes, toHex } from '../bytes';
import { KeyPolicyError, FormatError, ProtocolError } from '../errors';
import { checkKeyMetadata, checkKeyPolicy } from '../key-policy';
import { checkTokenKey } from '../formats/issuer-key';
import { encodeLogEntry, type LogEntry } from '../formats/log-entries';
import { MAX_ENTRY_LENGTH } from './tiles';

export const LOG_RULE_CODES = [
  'INVALID_ENTRY',
  'ENTRY_TOO_LARGE',
  'EMULATED_NOT_ALLOWED',
  'RELEASE_EXISTS',
  'UNKNOWN_RELEASE',
  'KEY_EXISTS',
  'KEY_REJECTED',
  'TOO_MANY_SESSION_KEYS',
  'ISSUER_KEY_REJECTED',
  'TOO_MANY_ISSUER_KEYS',
  'UNKNOWN_TARGET',
] as const;
export type LogRuleCode = (typeof LOG_RULE_CODES)[number];
export class LogRuleError extends ProtocolError<LogRuleCode> {
  readonly area = 'log-rules';
}

function targetKey(t: { type: string; releaseId?: string; kmsKeyArn?: string; tokenKeyId?: Uint8Array }): string {
  return `${t.type}:${t.releaseId ?? t.kmsKeyArn ?? toHex(t.tokenKeyId!)}`;
}

/** Largest number of windows [start, end) that overlap at one instant. */
function maxOverlap(windows: readonly { start: number; end: number }[]): number {
  const events = windows.flatMap((w) => [
    [w.start, 1],
    [w.end, -1],
  ]);
  events.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let current = 0;
  let max = 0;
  for (const [, delta] of events) {
    current += delta!;
    max = Math.max(max, current);
  }
  return max;
}

/** The log's state as far as the rules need it, built entry by entry. */
export class LogRules {
  private readonly releases = new Map<string, LogEntry & { type: 'release' }>();
  private readonly sessionKeys = new Map<string, LogEntry & { type: 'session_key' }>();
  private readonly issuerKeys = new Map<string, LogEntry & { type: 'issuer_key' }>();
  private readonly revokedTargets = new Set<string>();

  constructor(private readonly options: { readonly allowEmulated?: boolean } = {}) {}

  /** Checks `entry` as the next entry; returns its canonical bytes. Throws a LogRuleError. */
  check(entry: LogEntry): Uint8Array {
    let bytes: Uint8Array;
    try {
      bytes = encodeLogEntry(entry);
    } catch (err) {
      throw new LogRuleError('INVALID_ENTRY', err instanceof FormatError ? err.code : 'does not encode');
    }
    if (bytes.length > MAX_ENTRY_LENGTH) throw new LogRuleError('ENTRY_TOO_LARGE');
    switch (entry.type) {
      case 'release':
        if (entry.kind === 'emulated' && !this.options.allowEmulated) throw new LogRuleError('EMULATED_NOT_ALLOWED');
        if (this.releases.has(entry.releaseId)) throw new LogRuleError('RELEASE_EXISTS');
        break;
      case 'session_key':
        this.checkSessionKey(entry);
        break;
      case 'issuer_key':
        this.checkIssuerKey(entry);
        break;
      case 'revocation': {
        const t = entry.target;
        const exists =
          t.type === 'release' ? this.releases.has(t.releaseId) : t.type === 'session_key' ? this.sessionKeys.has(t.kmsKeyArn) : this.issuerKeys.has(toHex(t.tokenKeyId));
        if (!exists) throw new LogRuleError('UNKNOWN_TARGET');
        break;
      }
    }
    return bytes;
  }

  /** Records an entry the log holds (checked, or re-read from storage). */
  add(entry: LogEntry): void {
    if (entry.type === 'release') this.releases.set(entry.releaseId, entry);
    else if (entry.type === 'session_key') this.sessionKeys.set(entry.kmsKeyArn, entry);
    else if (entry.type === 'issuer_key') this.issuerKeys.set(toHex(entry.tokenKeyId), entry);
    else this.revokedTargets.add(targetKey(entry.target));
  }

  private checkSessionKey(entry: LogEntry & { type: 'session_key' }): void {
    const release = this.releases.get(entry.releaseId);
    if (!release || this.revokedTargets.has(targetKey({ type: 'release', releaseId: entry.releaseId }))) throw new LogRuleError('UNKNOWN_RELEASE');
    if (this.sessionKeys.has(entry.kmsKeyArn)) throw new LogRuleError('KEY_EXISTS');
    // The key must be exactly the release's: the same checks the enclave and the client run.
    const [, , , region, account] = entry.kmsKeyArn.split(':');
    try {
      checkKeyPolicy(entry.keyPolicy, toHex(release.pcr0), { account: account!, region: region! });
      checkKeyMetadata(entry.describeKey, 'session');
    } catch (err) {
      throw new LogRuleError('KEY_REJECTED', err instanceof KeyPolicyError ? err.code : 'key check failed');
    }
    const describe = JSON.parse(entry.describeKey) as { KeyMetadata?: { Arn?: string } };
    if ((describe.KeyMetadata?.Arn ?? '') !== entry.kmsKeyArn) throw new LogRuleError('KEY_REJECTED', 'DescribeKey is for another key');
    // At most two live session keys at any instant (one more only during a roll-out).
    const windows = [...this.sessionKeys.values()]
      .filter((e) => !this.revokedTargets.has(targetKey({ type: 'session_key', kmsKeyArn: e.kmsKeyArn })))
      .filter((e) => e.notAfter > entry.notBefore && e.notBefore < entry.notAfter)
      .map((e) => ({ start: e.notBefore, end: e.notAfter }));
    if (maxOverlap([...windows, { start: entry.notBefore, end: entry.notAfter }]) > 2) throw new LogRuleError('TOO_MANY_SESSION_KEYS');
  }

  private checkIssuerKey(entry: LogEntry & { type: 'issuer_key' }): void {
    try {
      if (!equalBytes(checkTokenKey(entry.tokenKey), entry.tokenKeyId)) throw new Error('id');
    } catch {
      throw new LogRuleError('ISSUER_KEY_REJECTED');
    }
    if (this.issuerKeys.has(toHex(entry.tokenKeyId))) throw new LogRuleError('KEY_EXISTS');
    const issuerKeys = [...this.issuerKeys.values()].filter((e) => !this.revokedTargets.has(targetKey({ type: 'issuer_key', tokenKeyId: e.tokenKeyId })));
    // One current key at a time: a new key starts after every earlier one, and overlaps at most the previous one.
    if (issuerKeys.some((e) => e.notBefore >= entry.notBefore)) throw new LogRuleError('TOO_MANY_ISSUER_KEYS', 'issuer keys start in order');
    const windows = issuerKeys.map((e) => ({ start: e.notBefore, end: e.notAfter }));
    if (maxOverlap([...windows, { start: entry.notBefore, end: entry.notAfter }]) > 2) throw new LogRuleError('TOO_MANY_ISSUER_KEYS');
  }
}
