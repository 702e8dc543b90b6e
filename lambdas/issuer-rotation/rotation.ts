// Issuer key rotation. Runs on a schedule in AWS (and on demand locally): when the
// current key nears the end of its signing period, it creates a new RSA-2048 key,
// appends it to the transparency log with its validity window, and only then hands it
// to the issuer, so no token is ever signed under a key clients cannot find in the log.
//
// Timeline of key k:   notBefore ── signing ── signUntil ── overlap ── notAfter
// Key k+1 is logged `renewBefore` ahead of key k's signUntil and starts signing after
// `activationDelay` (time for clients and gateways to sync the log). Key k stays
// redeemable through the overlap, so tokens fetched ahead of use are not lost. The log
// writer allows at most two overlapping issuer-key windows; the defaults keep to that.

import type { IssuerKeyEntry, LogEntry } from '../../protocol';
import { equalBytes } from '../../protocol';
import { generateIssuerKey, type IssuerKeyRecord, type IssuerKeyStore } from '../issuer/keys';

/** The log as rotation uses it: the LogWriter locally, the log writer's API in AWS. */
export interface RotationLog {
  allEntries(): readonly LogEntry[] | Promise<readonly LogEntry[]>;
  append(entry: LogEntry, submitter: 'rotation'): Promise<{ index: number }>;
}

export interface RotationPolicy {
  /** Seconds a key signs (default 7 days). */
  readonly signingPeriod: number;
  /** Seconds a key stays redeemable after it stops signing (default 2 days). */
  readonly overlap: number;
  /** Seconds before the current key stops signing that its successor is created (default 1 day). */
  readonly renewBefore: number;
  /** Seconds between logging a key and signing with it (default 1 hour). */
  readonly activationDelay: number;
}

export const DEFAULT_ROTATION_POLICY: RotationPolicy = { signingPeriod: 7 * 86_400, overlap: 2 * 86_400, renewBefore: 86_400, activationDelay: 3600 };

export function checkRotationPolicy(p: RotationPolicy): void {
  const positive = [p.signingPeriod, p.overlap, p.renewBefore].every((n) => Number.isInteger(n) && n > 0);
  if (!positive || !Number.isInteger(p.activationDelay) || p.activationDelay < 0) throw new Error('rotation periods must be positive whole seconds');
  if (p.renewBefore <= p.activationDelay) throw new Error('renewBefore must exceed activationDelay, or the issuer has no key for a while');
  // Key k+2 must start after key k's window ends (at most two live keys).
  if (p.signingPeriod < p.overlap + 2 * p.renewBefore) throw new Error('signingPeriod must be at least overlap + 2 × renewBefore');
}

export interface RotationResult {
  readonly rotated: boolean;
  readonly key?: IssuerKeyRecord;
  readonly logIndex?: number;
  /** Logged keys that never reached the key store, revoked so the log stays at two live keys. */
  readonly revokedOrphans: number;
}

export interface RotationOptions {
  readonly keys: IssuerKeyStore;
  readonly log: RotationLog;
  readonly policy?: RotationPolicy;
  /** Milliseconds. */
  readonly now?: () => number;
}

/** Rotates if due (or if `force`); idempotent when run repeatedly. */
export async function rotateIssuerKey(options: RotationOptions, force = false): Promise<RotationResult> {
  const policy = options.policy ?? DEFAULT_ROTATION_POLICY;
  checkRotationPolicy(policy);
  const now = Math.floor((options.now ?? Date.now)() / 1000);
  const stored = await options.keys.list();

  // A key logged by an earlier run that failed before storing it was never used: revoke it.
  const entries = await options.log.allEntries();
  const revoked = new Set(
    entries.flatMap((e) => (e.type === 'revocation' && e.target.type === 'issuer_key' ? [Buffer.from(e.target.tokenKeyId).toString('hex')] : [])),
  );
  const orphans = entries.filter(
    (e): e is IssuerKeyEntry =>
      e.type === 'issuer_key' && now < e.notAfter && !revoked.has(Buffer.from(e.tokenKeyId).toString('hex')) && !stored.some((r) => equalBytes(r.tokenKeyId, e.tokenKeyId)),
  );
  for (const orphan of orphans) {
    await options.log.append({ type: 'revocation', target: { type: 'issuer_key', tokenKeyId: orphan.tokenKeyId }, reason: 'never used: not stored by rotation', effectiveAt: now }, 'rotation');
  }

  const newest = [...stored].sort((a, b) => b.notBefore - a.notBefore)[0];
  const due = !newest || now >= newest.signUntil - policy.renewBefore;
  if (!due && !force) return { rotated: false, revokedOrphans: orphans.length };

  // The first key starts at once: no client holds tokens yet, so there is nothing to sync.
  const notBefore = newest ? Math.max(now + policy.activationDelay, newest.notBefore + 1) : now;
  const signUntil = notBefore + policy.signingPeriod;
  const key = await generateIssuerKey({ notBefore, signUntil, notAfter: signUntil + policy.overlap });
  const { index } = await options.log.append({ type: 'issuer_key', tokenKey: key.tokenKey, tokenKeyId: key.tokenKeyId, notBefore: key.notBefore, notAfter: key.notAfter }, 'rotation');
  await options.keys.add(key);
  return { rotated: true, key, logIndex: index, revokedOrphans: orphans.length };
}
