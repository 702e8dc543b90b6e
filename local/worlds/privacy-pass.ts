// A Privacy Pass world for tests: an issuer key, an account service key, the issuer,
// and a client built on @cloudflare/privacypass-ts (the reference implementation).
import { constants, createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { publicVerif, TokenChallenge } from '@cloudflare/privacypass-ts';
import { challengeDigest, concat, createLogger, deploymentChallenge } from '../../protocol';
import { accountVerifier } from '../../lambdas/issuer/accounts';
import { Issuer, TOKEN_REQUEST_PATH } from '../../lambdas/issuer/issuer';
import { generateIssuerKey, MemoryIssuerKeyStore, type IssuerKeyRecord } from '../../lambdas/issuer/keys';
import { MemoryQuotaStore } from '../../lambdas/issuer/quota';
import type { RawRsa } from '../../lambdas/issuer/blind-sign';
import type { HttpResponse } from '../../lambdas/common/http';

export const ISSUER_NAME = 'issuer.private-processing.test';
export const ORIGIN_NAME = 'gateway.private-processing.test';
export const ACCOUNT_ISSUER = 'https://accounts.messenger.test';
export const ACCOUNT_AUDIENCE = 'private-processing-issuer';
export const NOW = 1_790_000_000; // Unix seconds

let sharedKey: Promise<IssuerKeyRecord> | undefined;
/** One RSA key for the whole test file (generation takes ~100 ms). */
export function issuerKey(): Promise<IssuerKeyRecord> {
  return (sharedKey ??= generateIssuerKey({ notBefore: NOW - 60, signUntil: NOW + 7 * 86_400, notAfter: NOW + 9 * 86_400 }));
}

export const accountKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });

export function accountToken(sub: string, options: { key?: KeyObject; audience?: string; issuer?: string; expiresIn?: number; iat?: number; alg?: string } = {}): Promise<string> {
  const iat = options.iat ?? NOW;
  return new SignJWT({})
    .setProtectedHeader({ alg: options.alg ?? 'ES256' })
    .setSubject(sub)
    .setIssuer(options.issuer ?? ACCOUNT_ISSUER)
    .setAudience(options.audience ?? ACCOUNT_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (options.expiresIn ?? 600))
    .sign(options.key ?? accountKeys.privateKey);
}

export async function issuerWorld(options: { tokensPerDay?: number; records?: IssuerKeyRecord[]; rawRsa?: RawRsa; clock?: { seconds: number } } = {}) {
  const clock = options.clock ?? { seconds: NOW };
  const keys = new MemoryIssuerKeyStore();
  for (const r of options.records ?? [await issuerKey()]) await keys.add(r);
  const lines: string[] = [];
  const logger = createLogger('issuer', (l) => lines.push(l));
  const issuer = new Issuer({
    keys,
    accounts: accountVerifier({ key: accountKeys.publicKey, issuer: ACCOUNT_ISSUER, audience: ACCOUNT_AUDIENCE, now: () => clock.seconds * 1000 }),
    quota: new MemoryQuotaStore(),
    tokensPerDay: options.tokensPerDay ?? 100,
    requestUri: `https://${ISSUER_NAME}${TOKEN_REQUEST_PATH}`,
    logger,
    now: () => clock.seconds * 1000,
    ...(options.rawRsa ? { rawRsa: options.rawRsa } : {}),
  });
  return { issuer, keys, lines, logger, clock };
}

export function deploymentTokenChallenge(): TokenChallenge {
  return new TokenChallenge(publicVerif.BLIND_RSA.value, ISSUER_NAME, new Uint8Array(), [ORIGIN_NAME]);
}

export function tokenRequestTo(body: Uint8Array, bearer: string | undefined, contentType = 'application/private-token-request') {
  return {
    method: 'POST',
    path: TOKEN_REQUEST_PATH,
    headers: { 'content-type': contentType, ...(bearer !== undefined ? { authorization: `Bearer ${bearer}` } : {}) },
    body,
  };
}

/** Fetches one token through the issuer as the reference client would. */
export async function fetchToken(issuer: Issuer, tokenKey: Uint8Array, account = 'alice', iat = NOW): Promise<{ token: Uint8Array; response: HttpResponse }> {
  const client = new publicVerif.Client(publicVerif.BlindRSAMode.PSS);
  const request = await client.createTokenRequest(deploymentTokenChallenge(), tokenKey);
  const response = await issuer.handle(tokenRequestTo(request.serialize(), await accountToken(account, { iat })));
  if (response.status !== 200) throw new Error(`issuer answered ${response.status}: ${new TextDecoder().decode(response.body)}`);
  const token = await client.finalize(client.deserializeTokenResponse(response.body));
  return { token: token.serialize(), response };
}

export function errorCode(response: HttpResponse): string {
  return (JSON.parse(new TextDecoder().decode(response.body)) as { error: string }).error;
}

/**
 * A valid token made without issuance: the issuer key signs the authenticator input
 * directly (what unblinding yields). For tests and benchmarks that need many tokens.
 */
export function mintToken(record: IssuerKeyRecord, nonce: Uint8Array = randomBytes(32), issuerName = ISSUER_NAME, originName = ORIGIN_NAME): Uint8Array {
  const input = concat(Uint8Array.of(0, 2), nonce, challengeDigest(deploymentChallenge(issuerName, originName)), record.tokenKeyId);
  const signature = sign('sha384', input, { key: createPrivateKey(record.privateKeyPem), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 });
  return concat(input, new Uint8Array(signature));
}
