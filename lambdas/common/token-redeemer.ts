// Token redemption at the gateway: verify a Privacy Pass token against the logged
// issuer keys and the deployment's one challenge, then reserve it in the spend store.
// The gateway learns that some account of this messenger got a token, nothing more.

import {
  challengeDigest,
  deploymentChallenge,
  equalBytes,
  parseAuthorization,
  verifyToken,
  type AcceptedIssuerKey,
  type LogEntry,
} from '../../protocol';
import type { Reservation, SpendStore } from './spend-store';

export interface LoggedIssuerKey extends AcceptedIssuerKey {
  readonly notBefore: number;
  readonly notAfter: number;
}

/**
 * The issuer keys a token may be signed with at `now` (Unix seconds): logged, inside
 * their validity window, not revoked, and only the current and the previous one (by
 * `notBefore`), so an issuer cannot keep many keys live to partition users.
 */
export function acceptedIssuerKeys(entries: readonly LogEntry[], now: number): LoggedIssuerKey[] {
  const revoked = entries.filter(
    (e): e is LogEntry & { type: 'revocation' } => e.type === 'revocation' && e.target.type === 'issuer_key' && e.effectiveAt <= now,
  );
  return entries
    .filter((e): e is LogEntry & { type: 'issuer_key' } => e.type === 'issuer_key' && e.notBefore <= now && now < e.notAfter)
    .filter((e) => !revoked.some((r) => r.target.type === 'issuer_key' && equalBytes(r.target.tokenKeyId, e.tokenKeyId)))
    .sort((a, b) => b.notBefore - a.notBefore)
    .slice(0, 2)
    .map((e) => ({ tokenKey: e.tokenKey, tokenKeyId: e.tokenKeyId, notBefore: e.notBefore, notAfter: e.notAfter }));
}

export interface TokenRedeemerOptions {
  readonly issuerName: string;
  readonly originName: string;
  /** The accepted keys now; normally `acceptedIssuerKeys` over the synced log. */
  readonly keys: () => readonly LoggedIssuerKey[];
  readonly spends: SpendStore;
  /** Seconds a spend record outlives its key's window (default one day). */
  readonly retentionMargin?: number;
}

export class TokenRedeemer {
  private readonly digest: Uint8Array;

  constructor(private readonly options: TokenRedeemerOptions) {
    this.digest = challengeDigest(deploymentChallenge(options.issuerName, options.originName));
  }

  /**
   * Verifies the `Authorization: PrivateToken token="…"` header and reserves the token.
   * Throws TokenError MISSING, MALFORMED, WRONG_TYPE, WRONG_KEY, WRONG_CHALLENGE,
   * FORGED or SPENT; nothing is reserved unless every check passed.
   */
  async reserve(authorization: string | undefined): Promise<Reservation> {
    const keys = this.options.keys();
    const token = verifyToken(parseAuthorization(authorization), keys, this.digest);
    const key = keys.find((k) => equalBytes(k.tokenKeyId, token.tokenKeyId))!;
    return this.options.spends.reserve(token.tokenKeyId, token.nonce, key.notAfter + (this.options.retentionMargin ?? 86_400));
  }

  commit(reservation: Reservation): Promise<void> {
    return this.options.spends.commit(reservation);
  }

  release(reservation: Reservation): Promise<void> {
    return this.options.spends.release(reservation);
  }
}
