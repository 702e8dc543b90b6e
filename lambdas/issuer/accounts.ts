// The account credential: a JWT from the messenger's account service, checked with
// `jose` against a configured public key. Only `sub` is used, to count tokens.

import { jwtVerify, type CryptoKey, type JWK, importJWK } from 'jose';
import type { KeyObject } from 'node:crypto';

export interface AccountVerifierOptions {
  /** The account service's public key (JWK or KeyObject). */
  readonly key: JWK | KeyObject;
  readonly issuer: string;
  readonly audience: string;
  /** Accepted `alg` values; never `none` or HMAC with a public key. */
  readonly algorithms?: readonly string[];
  /** Longest lifetime accepted, seconds (default 1 hour). */
  readonly maxTokenAge?: number;
  readonly now?: () => number;
}

export type AccountVerifier = (bearer: string) => Promise<string | undefined>;

/** Returns the account (`sub`) of a valid credential, undefined for any invalid one. */
export function accountVerifier(options: AccountVerifierOptions): AccountVerifier {
  const algorithms = [...(options.algorithms ?? ['ES256', 'EdDSA'])];
  if (algorithms.some((a) => a === 'none' || a.startsWith('HS'))) throw new Error('only asymmetric JWT algorithms are accepted');
  let key: Promise<CryptoKey | KeyObject | Uint8Array> | undefined;
  const resolveKey = () =>
    (key ??= 'kty' in options.key ? importJWK(options.key as JWK, (options.key as JWK).alg ?? algorithms[0]) : Promise.resolve(options.key as KeyObject));
  return async (bearer) => {
    try {
      const { payload } = await jwtVerify(bearer, await resolveKey(), {
        issuer: options.issuer,
        audience: options.audience,
        algorithms,
        requiredClaims: ['sub', 'exp', 'iat'],
        maxTokenAge: options.maxTokenAge ?? 3600,
        clockTolerance: 30,
        ...(options.now ? { currentDate: new Date(options.now()) } : {}),
      });
      return typeof payload.sub === 'string' && payload.sub.length > 0 ? payload.sub : undefined;
    } catch {
      return undefined;
    }
  };
}
