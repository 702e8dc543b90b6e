import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { publicVerif } from '@cloudflare/privacypass-ts';
import { challengeDigest, checkTokenKey, deploymentChallenge, TOKEN_REQUEST_LENGTH, truncatedKeyId, verifyToken } from '../../protocol';
import { BlindSignError, blindSign, rawRsaPrivate } from '../../lambdas/issuer/blind-sign';
import { ISSUER_DIRECTORY_PATH, TOKEN_REQUEST_PATH } from '../../lambdas/issuer/issuer';
import { generateIssuerKey, loadSigningKey } from '../../lambdas/issuer/keys';
import { fromApiGatewayEvent, toApiGatewayResult } from '../../lambdas/common/http';
import { expectCode, flipped, hex, loadJson } from '../helpers/fixtures';
import {
  accountKeys,
  accountToken,
  deploymentTokenChallenge,
  errorCode,
  fetchToken,
  ISSUER_NAME,
  issuerKey,
  issuerWorld,
  NOW,
  ORIGIN_NAME,
  tokenRequestTo,
} from '../helpers/privacy-pass';

const RFC9578 = loadJson<{ skS: string; pkS: string; token_request: string; token_response: string }[]>('vectors/privacypass-ts__pub_verif_rfc9578.go.json');
const RFC9474 = loadJson<{ name: string; p: string; q: string; n: string; e: string; d: string; blinded_msg: string; blind_sig: string }[]>(
  'vectors/blindrsa-ts__test_vectors_rfc9474.json',
);

function big(h: string): bigint {
  return BigInt(`0x${h.replace(/^0x/, '')}`);
}
function b64u(n: bigint, length?: number): string {
  let h = n.toString(16);
  if (h.length % 2) h = `0${h}`;
  const bytes = Buffer.from(h, 'hex');
  return (length && bytes.length < length ? Buffer.concat([Buffer.alloc(length - bytes.length), bytes]) : bytes).toString('base64url');
}
function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % m) + m) % m;
}

describe('blind signing with node:crypto equals the published vectors', () => {
  test.each(RFC9578.map((v, i) => [i, v] as const))('RFC 9578 vector %d: the token response byte for byte', (_, v) => {
    const privateKey = createPrivateKey(Buffer.from(v.skS, 'hex').toString());
    const blinded = hex(v.token_request).slice(3);
    expect(Buffer.from(blindSign(privateKey, createPublicKey(privateKey), blinded)).toString('hex')).toBe(v.token_response);
  });

  test.each(RFC9474.map((v) => [v.name, v] as const))('RFC 9474 %s: BlindSign byte for byte', (_, v) => {
    // The vectors give p, q, d; the CRT parameters are derived here (test arithmetic, not signing).
    const [p, q, d, n, e] = [big(v.p), big(v.q), big(v.d), big(v.n), big(v.e)];
    expect(p * q).toBe(n);
    const jwk = { kty: 'RSA', n: b64u(n), e: b64u(e), d: b64u(d, 256), p: b64u(p), q: b64u(q), dp: b64u(d % (p - 1n)), dq: b64u(d % (q - 1n)), qi: b64u(modInverse(q, p)) };
    const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
    const signature = blindSign(privateKey, createPublicKey(privateKey), hex(v.blinded_msg));
    expect(Buffer.from(signature).toString('hex')).toBe(v.blind_sig.replace(/^0x/, ''));
  });

  test('equal to @cloudflare/privacypass-ts Issuer.issue on the same key and request', async () => {
    const key = loadSigningKey(await issuerKey());
    const subtle = globalThis.crypto.subtle;
    const sk = await subtle.importKey('pkcs8', key.privateKey.export({ format: 'der', type: 'pkcs8' }), { name: 'RSA-PSS', hash: 'SHA-384' }, true, ['sign']);
    const pk = await subtle.importKey('spki', key.publicKey.export({ format: 'der', type: 'spki' }), { name: 'RSA-PSS', hash: 'SHA-384' }, true, ['verify']);
    const library = new publicVerif.Issuer(publicVerif.BlindRSAMode.PSS, ISSUER_NAME, sk, pk);
    const client = new publicVerif.Client(publicVerif.BlindRSAMode.PSS);
    const request = await client.createTokenRequest(deploymentTokenChallenge(), (await issuerKey()).tokenKey);
    const expected = (await library.issue(request)).serialize();
    expect(Buffer.from(blindSign(key.privateKey, key.publicKey, request.blindedMsg))).toEqual(Buffer.from(expected));
  });

  test('a blinded message not below the modulus, or of the wrong length, is refused', async () => {
    const key = loadSigningKey(await issuerKey());
    await expectCode(() => blindSign(key.privateKey, key.publicKey, new Uint8Array(256).fill(0xff)), BlindSignError, 'INVALID_BLINDED_MESSAGE');
    await expectCode(() => blindSign(key.privateKey, key.publicKey, new Uint8Array(255).fill(1)), BlindSignError, 'INVALID_BLINDED_MESSAGE');
  });

  test('a faulty signature is withheld (RFC 9474 §7.3)', async () => {
    const key = loadSigningKey(await issuerKey());
    const blinded = new Uint8Array(256).fill(0x11);
    const faulty = (k: typeof key.privateKey, m: Uint8Array) => flipped(rawRsaPrivate(k, m), 100);
    await expectCode(() => blindSign(key.privateKey, key.publicKey, blinded, faulty), BlindSignError, 'SIGNING_FAULT');
    await expectCode(() => blindSign(key.privateKey, key.publicKey, blinded, (k, m) => rawRsaPrivate(k, m).slice(1)), BlindSignError, 'SIGNING_FAULT');
    expect(blindSign(key.privateKey, key.publicKey, blinded)).toHaveLength(256);
  });
});

describe('issuer keys', () => {
  test('a generated key is RSA-2048 with e = 65537 and a valid RFC 9578 token key', async () => {
    const record = await issuerKey();
    const key = loadSigningKey(record);
    expect(key.publicKey.asymmetricKeyDetails).toMatchObject({ modulusLength: 2048, publicExponent: 65537n });
    expect(Buffer.from(checkTokenKey(record.tokenKey))).toEqual(Buffer.from(record.tokenKeyId));
  });

  test('a record whose token key is not its private key is refused', async () => {
    const record = await issuerKey();
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(() => loadSigningKey({ ...record, privateKeyPem: other })).toThrow('does not match');
    expect(() => loadSigningKey({ ...record, tokenKeyId: flipped(record.tokenKeyId, 0) })).toThrow('key id');
    await expect(generateIssuerKey({ notBefore: 10, signUntil: 5, notAfter: 20 })).rejects.toThrow('window');
  });
});

describe('issuer: directory and issuance', () => {
  test('the directory lists the signing key with padded base64url, as RFC 9578 §4 says', async () => {
    const { issuer } = await issuerWorld();
    const record = await issuerKey();
    const response = await issuer.handle({ method: 'GET', path: ISSUER_DIRECTORY_PATH, headers: {}, body: new Uint8Array() });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/private-token-issuer-directory');
    const directory = JSON.parse(new TextDecoder().decode(response.body));
    expect(directory['issuer-request-uri']).toBe(`https://${ISSUER_NAME}${TOKEN_REQUEST_PATH}`);
    expect(directory['token-keys']).toEqual([{ 'token-type': 2, 'token-key': expect.stringMatching(/^[A-Za-z0-9_-]+={0,2}$/), 'not-before': record.notBefore }]);
    expect(directory['token-keys'][0]['token-key'].length % 4).toBe(0);
    expect(Buffer.from(directory['token-keys'][0]['token-key'], 'base64url')).toEqual(Buffer.from(record.tokenKey));
  });

  test('a token issued to the reference client verifies, with our verifier and with privacypass-ts Origin', async () => {
    const { issuer } = await issuerWorld();
    const record = await issuerKey();
    const { token, response } = await fetchToken(issuer, record.tokenKey);
    expect(response.headers['content-type']).toBe('application/private-token-response');
    expect(response.body).toHaveLength(256);
    const digest = challengeDigest(deploymentChallenge(ISSUER_NAME, ORIGIN_NAME));
    const parsed = verifyToken(token, [{ tokenKey: record.tokenKey, tokenKeyId: record.tokenKeyId }], digest);
    expect(Buffer.from(parsed.challengeDigest)).toEqual(Buffer.from(digest));

    const origin = new publicVerif.Origin(publicVerif.BlindRSAMode.PSS, [ORIGIN_NAME]);
    // WebCrypto does not import id-RSASSA-PSS SPKIs; give it the same key as rsaEncryption.
    const rsaSpki = loadSigningKey(record).publicKey.export({ format: 'der', type: 'spki' });
    const cryptoKey = await crypto.subtle.importKey('spki', rsaSpki, { name: 'RSA-PSS', hash: 'SHA-384' }, true, ['verify']);
    const libraryToken = (await import('@cloudflare/privacypass-ts')).Token.deserialize(publicVerif.BLIND_RSA, token);
    expect(await origin.verify(libraryToken, cryptoKey)).toBe(true);
  });

  test('two tokens for one account are unlinkable to each other by their bytes', async () => {
    const { issuer } = await issuerWorld();
    const record = await issuerKey();
    const a = await fetchToken(issuer, record.tokenKey);
    const b = await fetchToken(issuer, record.tokenKey);
    expect(Buffer.from(a.token.slice(2, 34))).not.toEqual(Buffer.from(b.token.slice(2, 34)));
  });

  test('the API Gateway adapter carries binary bodies both ways', async () => {
    const { issuer } = await issuerWorld();
    const record = await issuerKey();
    const client = new publicVerif.Client(publicVerif.BlindRSAMode.PSS);
    const tokenRequest = await client.createTokenRequest(deploymentTokenChallenge(), record.tokenKey);
    const request = fromApiGatewayEvent({
      requestContext: { http: { method: 'post', path: TOKEN_REQUEST_PATH } },
      headers: { 'Content-Type': 'application/private-token-request', Authorization: `Bearer ${await accountToken('bob')}` },
      body: Buffer.from(tokenRequest.serialize()).toString('base64'),
      isBase64Encoded: true,
    });
    const result = toApiGatewayResult(await issuer.handle(request));
    expect(result.statusCode).toBe(200);
    const token = await client.finalize(client.deserializeTokenResponse(new Uint8Array(Buffer.from(result.body, 'base64'))));
    expect(token.serialize()).toHaveLength(354);
  });
});

describe('issuer: every refusal has its status and code, and signs nothing', () => {
  async function validRequestBody(): Promise<Uint8Array> {
    const client = new publicVerif.Client(publicVerif.BlindRSAMode.PSS);
    return (await client.createTokenRequest(deploymentTokenChallenge(), (await issuerKey()).tokenKey)).serialize();
  }

  test.each([
    ['no credential', async () => undefined],
    ['garbage', async () => 'not-a-jwt'],
    ['signed by another key', async () => accountToken('alice', { key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey })],
    ['another audience', async () => accountToken('alice', { audience: 'someone-else' })],
    ['another issuer', async () => accountToken('alice', { issuer: 'https://evil.test' })],
    ['expired', async () => accountToken('alice', { iat: NOW - 7200, expiresIn: 600 })],
    ['too long-lived', async () => accountToken('alice', { iat: NOW - 4000, expiresIn: 86_400 })],
    ['an empty subject', async () => accountToken('')],
  ])('401 UNAUTHENTICATED for %s', async (_, credential) => {
    const { issuer } = await issuerWorld();
    const response = await issuer.handle(tokenRequestTo(await validRequestBody(), await credential()));
    expect(response.status).toBe(401);
    expect(errorCode(response)).toBe('UNAUTHENTICATED');
    expect(response.headers['www-authenticate']).toBe('Bearer');
  });

  test('401 for an HMAC-signed credential using the public key as the secret (algorithm confusion)', async () => {
    const { issuer } = await issuerWorld();
    const secret = new TextEncoder().encode(accountKeys.publicKey.export({ format: 'pem', type: 'spki' }).toString());
    const { SignJWT } = await import('jose');
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setIssuer('https://accounts.messenger.test').setAudience('private-processing-issuer').setIssuedAt(NOW).setExpirationTime(NOW + 600).sign(secret);
    expect(errorCode(await issuer.handle(tokenRequestTo(await validRequestBody(), forged)))).toBe('UNAUTHENTICATED');
  });

  test('415, 413, 400 MALFORMED, WRONG_TYPE, WRONG_KEY, INVALID_BLINDED_MESSAGE; 404 and 405', async () => {
    const { issuer } = await issuerWorld();
    const bearer = await accountToken('alice');
    const body = await validRequestBody();
    const cases: [Parameters<typeof issuer.handle>[0], number, string][] = [
      [tokenRequestTo(body, bearer, 'application/octet-stream'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [tokenRequestTo(new Uint8Array(TOKEN_REQUEST_LENGTH + 1), bearer), 413, 'TOO_LARGE'],
      [tokenRequestTo(body.slice(0, 100), bearer), 400, 'MALFORMED'],
      [tokenRequestTo(Uint8Array.of(0, 1, ...body.slice(2)), bearer), 400, 'WRONG_TYPE'],
      [tokenRequestTo(Uint8Array.of(0, 2, body[2]! ^ 1, ...body.slice(3)), bearer), 400, 'WRONG_KEY'],
      [tokenRequestTo(Uint8Array.of(0, 2, body[2]!, ...new Uint8Array(256).fill(0xff)), bearer), 400, 'INVALID_BLINDED_MESSAGE'],
      [{ method: 'GET', path: TOKEN_REQUEST_PATH, headers: {}, body: new Uint8Array() }, 405, 'METHOD_NOT_ALLOWED'],
      [{ method: 'POST', path: ISSUER_DIRECTORY_PATH, headers: {}, body: new Uint8Array() }, 405, 'METHOD_NOT_ALLOWED'],
      [{ method: 'GET', path: '/admin', headers: {}, body: new Uint8Array() }, 404, 'NOT_FOUND'],
    ];
    for (const [request, status, code] of cases) {
      const response = await issuer.handle(request);
      expect([response.status, errorCode(response)]).toEqual([status, code]);
      expect(response.headers['content-type']).toBe('application/json');
    }
  });

  test('429 QUOTA_EXCEEDED after the daily allowance, per account, until the next UTC day', async () => {
    const { issuer, clock } = await issuerWorld({ tokensPerDay: 3 });
    const record = await issuerKey();
    for (let i = 0; i < 3; i++) await fetchToken(issuer, record.tokenKey, 'alice');
    const refused = await issuer.handle(tokenRequestTo(await validRequestBody(), await accountToken('alice')));
    expect([refused.status, errorCode(refused)]).toEqual([429, 'QUOTA_EXCEEDED']);
    expect(Number(refused.headers['retry-after'])).toBe(Math.ceil((NOW + 1) / 86_400) * 86_400 - NOW);
    await fetchToken(issuer, record.tokenKey, 'bob'); // other accounts are unaffected
    clock.seconds += Number(refused.headers['retry-after']);
    await fetchToken(issuer, record.tokenKey, 'alice', clock.seconds);
  });

  test('500 SIGNING_FAULT: a faulty signature is withheld, not returned', async () => {
    let calls = 0;
    const { issuer } = await issuerWorld({ rawRsa: (k, m) => (calls++, flipped(rawRsaPrivate(k, m), 17)) });
    const response = await issuer.handle(tokenRequestTo(await validRequestBody(), await accountToken('alice')));
    expect(calls).toBe(1);
    expect([response.status, errorCode(response)]).toEqual([500, 'SIGNING_FAULT']);
    expect(response.body.length).toBeLessThan(64);
  });

  test('503 NO_ISSUER_KEY before the first key starts and after the last stops signing; 503 UNAVAILABLE when the store fails', async () => {
    const record = await issuerKey();
    const early = await issuerWorld({ clock: { seconds: record.notBefore - 1 } });
    expect(errorCode(await early.issuer.handle(tokenRequestTo(await validRequestBody(), await accountToken('alice', { iat: record.notBefore - 1 }))))).toBe('NO_ISSUER_KEY');
    const late = await issuerWorld({ clock: { seconds: record.signUntil } });
    expect(errorCode(await late.issuer.handle(tokenRequestTo(await validRequestBody(), await accountToken('alice', { iat: record.signUntil }))))).toBe('NO_ISSUER_KEY');
    const broken = await issuerWorld();
    broken.keys.list = async () => {
      throw new Error('secret store at 10.0.0.1 refused');
    };
    const response = await broken.issuer.handle(tokenRequestTo(await validRequestBody(), await accountToken('alice')));
    expect([response.status, errorCode(response)]).toEqual([503, 'UNAVAILABLE']);
    expect(new TextDecoder().decode(response.body)).not.toContain('10.0.0.1');
  });

  test('the issuer signs under the newest key whose signing period has begun; the truncated id selects nothing else', async () => {
    const first = await issuerKey();
    const second = await generateIssuerKey({ notBefore: NOW + 3600, signUntil: NOW + 8 * 86_400, notAfter: NOW + 10 * 86_400 });
    const world = await issuerWorld({ records: [first, second] });
    await fetchToken(world.issuer, first.tokenKey);
    world.clock.seconds = NOW + 3600 + 61; // past the key cache
    if (truncatedKeyId(first.tokenKeyId) !== truncatedKeyId(second.tokenKeyId)) {
      await expect(fetchToken(world.issuer, first.tokenKey, 'alice', world.clock.seconds)).rejects.toThrow('400');
    }
    const { token } = await fetchToken(world.issuer, second.tokenKey, 'alice', world.clock.seconds);
    expect(Buffer.from(token.slice(66, 98))).toEqual(Buffer.from(second.tokenKeyId));
  });
});

describe('issuer privacy: the log holds no account, credential, blinded message or signature', () => {
  test('canaries in the account and the request appear in no log line', async () => {
    const { issuer, lines, logger } = await issuerWorld({ tokensPerDay: 1 });
    const record = await issuerKey();
    const canary = 'CANARY-account-7f3e91';
    const { response } = await fetchToken(issuer, record.tokenKey, canary);
    const bearer = await accountToken(canary);
    await issuer.handle(tokenRequestTo(new Uint8Array(10), bearer));
    await issuer.handle(tokenRequestTo(new Uint8Array(10), 'CANARY-bearer'));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    const all = lines.join('\n');
    for (const secret of [canary, 'CANARY-bearer', bearer.slice(0, 40), Buffer.from(response.body).toString('base64').slice(0, 24), Buffer.from(response.body).toString('hex').slice(0, 24)]) {
      expect(all).not.toContain(secret);
    }
    expect(logger.dropped).toBe(0);
    for (const line of lines) expect(Object.keys(JSON.parse(line)).sort()).toEqual(expect.arrayContaining(['component', 'event', 'status', 't']));
  });
});
