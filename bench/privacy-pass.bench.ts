// Privacy Pass: tokens issued per second per core by the issuer (node:crypto blind
// signature with its fault check, and the whole request with JWT check and quota),
// against the pure-JS baseline of @cloudflare/privacypass-ts; and token verifications
// per second at the gateway (signature only, and verify + reserve in the spend store).
import { publicVerif } from '@cloudflare/privacypass-ts';
import { challengeDigest, deploymentChallenge, formatAuthorization, verifyToken } from '../protocol';
import { blindSign } from '../lambdas/issuer/blind-sign';
import { loadSigningKey } from '../lambdas/issuer/keys';
import { MemorySpendStore } from '../lambdas/common/spend-store';
import { TokenRedeemer } from '../lambdas/common/token-redeemer';
import { accountToken, deploymentTokenChallenge, fetchToken, ISSUER_NAME, issuerKey, issuerWorld, ORIGIN_NAME, tokenRequestTo } from '../test/helpers/privacy-pass';
import { measure, printTable } from './harness';

export async function privacyPassBenchmarks(): Promise<void> {
  const record = await issuerKey();
  const key = loadSigningKey(record);
  const { issuer } = await issuerWorld({ tokensPerDay: 1e9 });
  const client = new publicVerif.Client(publicVerif.BlindRSAMode.PSS);
  const tokenRequest = (await client.createTokenRequest(deploymentTokenChallenge(), record.tokenKey)).serialize();
  const blinded = tokenRequest.slice(3);
  const bearer = await accountToken('bench');
  const request = tokenRequestTo(tokenRequest, bearer);

  // The library's issuer, for the baseline: WebCrypto keys of the same RSA key.
  const subtle = globalThis.crypto.subtle;
  const sk = await subtle.importKey('pkcs8', key.privateKey.export({ format: 'der', type: 'pkcs8' }), { name: 'RSA-PSS', hash: 'SHA-384' }, true, ['sign']);
  const pk = await subtle.importKey('spki', key.publicKey.export({ format: 'der', type: 'spki' }), { name: 'RSA-PSS', hash: 'SHA-384' }, true, ['verify']);
  const libraryIssuer = new publicVerif.Issuer(publicVerif.BlindRSAMode.PSS, ISSUER_NAME, sk, pk);
  const libraryRequest = publicVerif.TokenRequest.deserialize(publicVerif.BLIND_RSA, tokenRequest);

  const keys = [{ tokenKey: record.tokenKey, tokenKeyId: record.tokenKeyId }];
  const digest = challengeDigest(deploymentChallenge(ISSUER_NAME, ORIGIN_NAME));
  const tokens = await Promise.all(Array.from({ length: 4 }, async () => (await fetchToken(issuer, record.tokenKey)).token));
  const store = new MemorySpendStore();
  const redeemer = new TokenRedeemer({ issuerName: ISSUER_NAME, originName: ORIGIN_NAME, keys: () => [record], spends: store });
  let i = 0;

  printTable('Privacy Pass issuance (one core)', [
    await measure('blind sign, node:crypto, with publicEncrypt check', () => blindSign(key.privateKey, key.publicKey, blinded), 2),
    await measure('issuer request: JWT check + quota + blind sign', () => issuer.handle(request), 2),
    await measure('baseline: privacypass-ts Issuer.issue (pure-JS bignum)', () => libraryIssuer.issue(libraryRequest), 3),
  ]);
  printTable('Privacy Pass redemption (one core)', [
    await measure('verifyToken (node:crypto RSA-PSS verify)', () => verifyToken(tokens[i++ % 4]!, keys, digest), 2),
    await measure('baseline: privacypass-ts Origin.verify (WebCrypto)', async () => {
      const origin = new publicVerif.Origin(publicVerif.BlindRSAMode.PSS, [ORIGIN_NAME]);
      const { Token } = await import('@cloudflare/privacypass-ts');
      await origin.verify(Token.deserialize(publicVerif.BLIND_RSA, tokens[i++ % 4]!), pk);
    }, 2),
    await measure('redeem: parse header + verify + reserve (memory spend store)', async () => {
      // Each iteration needs an unspent token; release keeps the figure about verification and the store.
      await redeemer.release(await redeemer.reserve(formatAuthorization(tokens[i++ % 4]!)));
    }, 2),
  ]);
}
