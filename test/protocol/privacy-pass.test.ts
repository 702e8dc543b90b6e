import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import {
  challengeDigest,
  checkTokenKey,
  deploymentChallenge,
  encodeTokenKey,
  formatAuthorization,
  formatChallengeHeader,
  parseAuthorization,
  parseToken,
  parseTokenRequest,
  TOKEN_LENGTH,
  TokenError,
  truncatedKeyId,
  verifyToken,
} from '../../protocol';
import { expectCode, flipped, hex, loadJson } from '../helpers/fixtures';

interface Rfc9578Vector {
  skS: string;
  pkS: string;
  token_challenge: string;
  nonce: string;
  blind: string;
  salt: string;
  token_request: string;
  token_response: string;
  token: string;
}
const VECTORS = loadJson<Rfc9578Vector[]>('vectors/privacypass-ts__pub_verif_rfc9578.go.json');

describe('RFC 9578 Appendix A.2 vectors (token type 0x0002)', () => {
  test.each(VECTORS.map((v, i) => [i, v] as const))('vector %d: key id, token request and token', (_, v) => {
    const pkS = hex(v.pkS);
    const keyId = checkTokenKey(pkS);
    expect(Buffer.from(keyId)).toEqual(createHash('sha256').update(pkS).digest());
    // Our encoding of the vector's private key's public half is the vector's token key, byte for byte.
    expect(Buffer.from(encodeTokenKey(createPublicKey(createPrivateKey(Buffer.from(v.skS, 'hex').toString()))))).toEqual(Buffer.from(pkS));

    const request = parseTokenRequest(hex(v.token_request));
    expect(request.truncatedTokenKeyId).toBe(truncatedKeyId(keyId));
    expect(request.blindedMsg).toHaveLength(256);

    const token = verifyToken(hex(v.token), [{ tokenKey: pkS, tokenKeyId: keyId }], challengeDigest(hex(v.token_challenge)));
    expect(Buffer.from(token.nonce)).toEqual(Buffer.from(hex(v.nonce)));
    expect(Buffer.from(token.tokenKeyId)).toEqual(Buffer.from(keyId));
    expect(Buffer.from(token.authenticator)).toEqual(Buffer.from(hex(v.token).slice(98)));
  });

  test('the deployment challenge has the layout of the vector with an empty redemption context and one origin', () => {
    const v = VECTORS.find((x) => x.token_challenge.endsWith(Buffer.from('origin.example').toString('hex')) && x.token_challenge.includes('00000e'))!;
    expect(Buffer.from(deploymentChallenge('issuer.example', 'origin.example')).toString('hex')).toBe(v.token_challenge);
    expect(() => deploymentChallenge('', 'origin.example')).toThrow(TokenError);
  });
});

describe('token verification refuses with typed codes', () => {
  const v = VECTORS[1]!;
  const pkS = hex(v.pkS);
  const key = { tokenKey: pkS, tokenKeyId: checkTokenKey(pkS) };
  const digest = challengeDigest(hex(v.token_challenge));
  const token = hex(v.token);
  const other = VECTORS.find((x) => x.pkS !== v.pkS);

  test('forged: any flipped bit in the signed part or the signature', async () => {
    await expectCode(() => verifyToken(flipped(token, 10), [key], digest), TokenError, 'FORGED'); // nonce
    await expectCode(() => verifyToken(flipped(token, 200), [key], digest), TokenError, 'FORGED'); // authenticator
    await expectCode(() => verifyToken(flipped(token, TOKEN_LENGTH - 1, 7), [key], digest), TokenError, 'FORGED');
  });

  test('wrong key: a token key id that is not accepted', async () => {
    await expectCode(() => verifyToken(token, [], digest), TokenError, 'WRONG_KEY');
    await expectCode(() => verifyToken(flipped(token, 70), [key], digest), TokenError, 'WRONG_KEY');
    if (other) await expectCode(() => verifyToken(token, [{ tokenKey: hex(other.pkS), tokenKeyId: checkTokenKey(hex(other.pkS)) }], digest), TokenError, 'WRONG_KEY');
    // The right id with another key's bytes still fails on the signature.
    if (other) await expectCode(() => verifyToken(token, [{ tokenKey: hex(other.pkS), tokenKeyId: key.tokenKeyId }], digest), TokenError, 'FORGED');
  });

  test('wrong challenge: another origin, issuer or a redemption context', async () => {
    await expectCode(() => verifyToken(token, [key], challengeDigest(deploymentChallenge('issuer.example', 'other.example'))), TokenError, 'WRONG_CHALLENGE');
    await expectCode(() => verifyToken(token, [key], challengeDigest(deploymentChallenge('evil.example', 'origin.example'))), TokenError, 'WRONG_CHALLENGE');
    await expectCode(() => verifyToken(token, [key], challengeDigest(hex(VECTORS[0]!.token_challenge))), TokenError, 'WRONG_CHALLENGE');
  });

  test('wrong type and malformed lengths', async () => {
    const privateType = Uint8Array.from(token);
    privateType[1] = 0x01;
    await expectCode(() => verifyToken(privateType, [key], digest), TokenError, 'WRONG_TYPE');
    await expectCode(() => verifyToken(token.slice(0, -1), [key], digest), TokenError, 'MALFORMED');
    await expectCode(() => verifyToken(new Uint8Array([...token, 0]), [key], digest), TokenError, 'MALFORMED');
    await expectCode(() => parseToken(new Uint8Array(1)), TokenError, 'MALFORMED');
    await expectCode(() => parseTokenRequest(hex(v.token_request).slice(0, 100)), TokenError, 'MALFORMED');
    await expectCode(() => parseTokenRequest(Uint8Array.of(0, 1, ...hex(v.token_request).slice(2))), TokenError, 'WRONG_TYPE');
  });
});

describe('HTTP authentication headers (RFC 9577 §2)', () => {
  const token = hex(VECTORS[0]!.token);

  test('Authorization round-trips, quoted or bare, padded or not', () => {
    const header = formatAuthorization(token);
    expect(header).toMatch(/^PrivateToken token="[A-Za-z0-9_-]+"$/);
    expect(Buffer.from(parseAuthorization(header))).toEqual(Buffer.from(token));
    const value = Buffer.from(token).toString('base64url');
    expect(Buffer.from(parseAuthorization(`PrivateToken token=${value}`))).toEqual(Buffer.from(token));
    expect(Buffer.from(parseAuthorization(`PrivateToken   token="${value}=="`))).toEqual(Buffer.from(token));
  });

  test.each([
    [undefined, 'MISSING'],
    ['', 'MISSING'],
    ['Bearer abc', 'MALFORMED'],
    ['PrivateToken token="a+b/"', 'MALFORMED'],
    ['PrivateToken token="abc", token="abc"', 'MALFORMED'],
    ['PrivateToken challenge="abc"', 'MALFORMED'],
    ['PrivateToken token="A"', 'MALFORMED'],
  ])('%j is refused with %s', async (header, code) => {
    await expectCode(() => parseAuthorization(header), TokenError, code);
  });

  test('WWW-Authenticate carries the challenge and token key in base64url', () => {
    const challenge = deploymentChallenge('issuer.example', 'origin.example');
    const header = formatChallengeHeader(challenge, hex(VECTORS[0]!.pkS));
    const m = /^PrivateToken challenge="([^"]+)", token-key="([^"]+)"$/.exec(header)!;
    expect(Buffer.from(m[1]!, 'base64url')).toEqual(Buffer.from(challenge));
    expect(Buffer.from(m[2]!, 'base64url').toString('hex')).toBe(VECTORS[0]!.pkS);
  });
});
