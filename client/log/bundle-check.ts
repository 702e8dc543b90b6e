// The key bundle the gateway serves is a claim; the client's own log copy decides.
// Every key in the bundle must be a live session key of a live release with exactly
// the logged key configuration, and the key the client will use (the live one with
// the latest start) must be there. Anything else is tampering, never a fallback.

import { equalBytes, ProtocolError, type KeyBundle, type KeyBundleEntry, type LogEntry } from '../../protocol';
import type { LiveSet } from './sync';

export const BUNDLE_CHECK_CODES = ['EXTRA_KEY', 'LIVE_KEY_OMITTED', 'RELEASE_NOT_PUBLISHED', 'KEY_CONFIG_MISMATCH', 'NO_LIVE_KEY'] as const;
export type BundleCheckCode = (typeof BUNDLE_CHECK_CODES)[number];
export class BundleCheckError extends ProtocolError<BundleCheckCode> {
  readonly area = 'bundle';
}

export interface CheckedBundleKey {
  readonly entry: KeyBundleEntry;
  readonly logged: LogEntry & { type: 'session_key' };
}

/** Returns the bundle's entry for the key to use, with its log entry; throws BundleCheckError otherwise. */
export function checkBundleKeys(bundle: KeyBundle, live: LiveSet): CheckedBundleKey {
  const same = (k: KeyBundleEntry, e: LogEntry & { type: 'session_key' }) => e.kmsKeyArn === k.kmsKeyArn && e.releaseId === k.releaseId;
  for (const k of bundle.keys) {
    const logged = live.sessionKeys.find((e) => same(k, e));
    if (!logged) {
      if (live.pendingSessionKeys.some((e) => same(k, e))) throw new BundleCheckError('RELEASE_NOT_PUBLISHED', 'a key of a release still inside its publication delay');
      throw new BundleCheckError('EXTRA_KEY', 'a key that is not a live logged session key');
    }
    if (!equalBytes(logged.keyConfig, k.keyConfig)) throw new BundleCheckError('KEY_CONFIG_MISMATCH', 'the key configuration differs from the logged one');
  }
  const current = live.currentSessionKey;
  if (!current) throw new BundleCheckError('NO_LIVE_KEY', 'the log has no live session key');
  const entry = bundle.keys.find((k) => same(k, current));
  if (!entry) throw new BundleCheckError('LIVE_KEY_OMITTED', 'the current session key is missing from the bundle');
  return { entry, logged: current };
}
