import { randomBytes } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { formatAuthorization, TokenError, type LogEntry } from '../../protocol';
import { DynamoSpendStore, MemorySpendStore, spendId, type SpendStore } from '../../lambdas/common/spend-store';
import { acceptedIssuerKeys, TokenRedeemer, type LoggedIssuerKey } from '../../lambdas/common/token-redeemer';
import { DynamoQuotaStore } from '../../lambdas/issuer/quota';
import { expectCode, flipped } from '../helpers/fixtures';
import { startDynamo, type TestDynamo } from '../helpers/dynamo';
import { fetchToken, ISSUER_NAME, issuerKey, issuerWorld, ORIGIN_NAME } from '../helpers/privacy-pass';

let dynamo: TestDynamo;
let tables = 0;
beforeAll(async () => {
  dynamo = await startDynamo();
});
afterAll(async () => {
  await dynamo.close();
});

async function dynamoStore(): Promise<DynamoSpendStore> {
  const name = `spends-${++tables}`;
  await dynamo.createTable(name);
  return new DynamoSpendStore(dynamo.client, name);
}

const STORES: [string, () => Promise<SpendStore>][] = [
  ['memory', async () => new MemorySpendStore()],
  ['DynamoDB (dynalite)', dynamoStore],
];

describe.each(STORES)('spend store: %s', (_, makeStore) => {
  const keyId = new Uint8Array(32).fill(7);
  const far = 4_000_000_000;

  test('a token is reserved once; a second reservation is SPENT whether the first is pending or committed', async () => {
    const store = await makeStore();
    const nonce = randomBytes(32);
    const reservation = await store.reserve(keyId, nonce, far);
    expect(reservation.id).toBe(spendId(keyId, nonce));
    await expectCode(() => store.reserve(keyId, nonce, far), TokenError, 'SPENT');
    await store.commit(reservation);
    await expectCode(() => store.reserve(keyId, nonce, far), TokenError, 'SPENT');
    // Release after commit does nothing: spent stays spent.
    await store.release(reservation);
    await expectCode(() => store.reserve(keyId, nonce, far), TokenError, 'SPENT');
  });

  test('release frees a reservation no worker saw, so the token can be redeemed again', async () => {
    const store = await makeStore();
    const nonce = randomBytes(32);
    await store.release(await store.reserve(keyId, nonce, far));
    const again = await store.reserve(keyId, nonce, far);
    await store.commit(again);
    await expectCode(() => store.reserve(keyId, nonce, far), TokenError, 'SPENT');
  });

  test('the same nonce under another key is another token', async () => {
    const store = await makeStore();
    const nonce = randomBytes(32);
    await store.reserve(keyId, nonce, far);
    await expect(store.reserve(flipped(keyId, 0), nonce, far)).resolves.toBeDefined();
  });

  test('exactly one of 1 000 concurrent redemptions of one token succeeds', async () => {
    const store = await makeStore();
    const nonce = randomBytes(32);
    const results = await Promise.allSettled(Array.from({ length: 1000 }, () => store.reserve(keyId, nonce, far)));
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(999);
    expect(lost.every((r) => r.reason instanceof TokenError && r.reason.code === 'SPENT')).toBe(true);
  }, 60_000);
});

describe('DynamoDB items hold no token material and expire', () => {
  test('the item is keyed by SHA-256(token_key_id || nonce) with the TTL attribute set', async () => {
    const store = await dynamoStore();
    const keyId = randomBytes(32);
    const nonce = randomBytes(32);
    const reservation = await store.reserve(keyId, nonce, 1_900_000_000);
    const table = `spends-${tables}`;
    const { Item } = await dynamo.client.send(new GetItemCommand({ TableName: table, Key: { id: { S: reservation.id } }, ConsistentRead: true }));
    expect(Item).toEqual({ id: { S: spendId(keyId, nonce) }, state: { S: 'reserved' }, expiresAt: { N: '1900000000' } });
    const dump = JSON.stringify(Item);
    expect(dump).not.toContain(Buffer.from(nonce).toString('hex'));
    expect(dump).not.toContain(Buffer.from(nonce).toString('base64'));
    await store.commit(reservation);
    const after = await dynamo.client.send(new GetItemCommand({ TableName: table, Key: { id: { S: reservation.id } }, ConsistentRead: true }));
    expect(after.Item?.state).toEqual({ S: 'spent' });
  });

  test('the memory store forgets expired items on sweep, and only those', async () => {
    let now = 1000;
    const store = new MemorySpendStore(() => now);
    await store.reserve(new Uint8Array(32), new Uint8Array(32), 1500);
    await store.reserve(new Uint8Array(32), new Uint8Array(32).fill(1), 3000);
    now = 2000;
    expect(store.sweep()).toBe(1);
    expect(store.size).toBe(1);
  });
});

describe('daily token quota in DynamoDB', () => {
  test('counts per account and day, refuses past the limit, never over-issues under concurrency', async () => {
    await dynamo.createTable('quota');
    const quota = new DynamoQuotaStore(dynamo.client, 'quota');
    const results = await Promise.all(Array.from({ length: 50 }, () => quota.consume('alice', 20_000, 10)));
    expect(results.filter(Boolean)).toHaveLength(10);
    expect(await quota.consume('bob', 20_000, 10)).toBe(true);
    expect(await quota.consume('alice', 20_001, 10)).toBe(true);
  });
});

// ---------------------------------------------------------------------------

function issuerKeyEntry(tokenKey: Uint8Array, tokenKeyId: Uint8Array, notBefore: number, notAfter: number): LogEntry {
  return { type: 'issuer_key', tokenKey, tokenKeyId, notBefore, notAfter };
}

describe('accepted issuer keys: logged, in their window, not revoked, current and previous only', () => {
  const k = (i: number) => ({ tokenKey: new Uint8Array(8).fill(i), tokenKeyId: new Uint8Array(32).fill(i) });

  test('windows, ordering and the limit of two', () => {
    const entries = [
      issuerKeyEntry(k(1).tokenKey, k(1).tokenKeyId, 100, 400),
      issuerKeyEntry(k(2).tokenKey, k(2).tokenKeyId, 200, 500),
      issuerKeyEntry(k(3).tokenKey, k(3).tokenKeyId, 300, 600),
    ];
    expect(acceptedIssuerKeys(entries, 99)).toEqual([]);
    expect(acceptedIssuerKeys(entries, 150).map((e) => e.tokenKeyId[0])).toEqual([1]);
    expect(acceptedIssuerKeys(entries, 350).map((e) => e.tokenKeyId[0])).toEqual([3, 2]);
    expect(acceptedIssuerKeys(entries, 550).map((e) => e.tokenKeyId[0])).toEqual([3]);
    expect(acceptedIssuerKeys(entries, 600)).toEqual([]);
  });

  test('a revoked key is refused from its effective time', () => {
    const entries: LogEntry[] = [
      issuerKeyEntry(k(1).tokenKey, k(1).tokenKeyId, 100, 400),
      issuerKeyEntry(k(2).tokenKey, k(2).tokenKeyId, 200, 500),
      { type: 'revocation', target: { type: 'issuer_key', tokenKeyId: k(2).tokenKeyId }, reason: 'compromised', effectiveAt: 250 },
    ];
    expect(acceptedIssuerKeys(entries, 240).map((e) => e.tokenKeyId[0])).toEqual([2, 1]);
    expect(acceptedIssuerKeys(entries, 260).map((e) => e.tokenKeyId[0])).toEqual([1]);
  });
});

describe('token redemption at the gateway: verify, then reserve', () => {
  async function setup(store: SpendStore = new MemorySpendStore()) {
    const record = await issuerKey();
    const { issuer } = await issuerWorld();
    const keys: LoggedIssuerKey[] = [{ tokenKey: record.tokenKey, tokenKeyId: record.tokenKeyId, notBefore: record.notBefore, notAfter: record.notAfter }];
    const redeemer = new TokenRedeemer({ issuerName: ISSUER_NAME, originName: ORIGIN_NAME, keys: () => keys, spends: store });
    return { record, issuer, redeemer, keys, store };
  }

  test('a fresh token is reserved, committed, and then SPENT', async () => {
    const { record, issuer, redeemer } = await setup();
    const { token } = await fetchToken(issuer, record.tokenKey);
    const reservation = await redeemer.reserve(formatAuthorization(token));
    await redeemer.commit(reservation);
    await expectCode(() => redeemer.reserve(formatAuthorization(token)), TokenError, 'SPENT');
  });

  test('a request that failed before any worker saw it gives the token back', async () => {
    const { record, issuer, redeemer } = await setup();
    const { token } = await fetchToken(issuer, record.tokenKey);
    await redeemer.release(await redeemer.reserve(formatAuthorization(token)));
    await redeemer.commit(await redeemer.reserve(formatAuthorization(token)));
  });

  test('refusals carry their codes and reserve nothing', async () => {
    const store = new MemorySpendStore();
    const { record, issuer, redeemer } = await setup(store);
    const { token } = await fetchToken(issuer, record.tokenKey);
    const other = new TokenRedeemer({ issuerName: ISSUER_NAME, originName: 'elsewhere.test', keys: () => [{ ...record }], spends: store });
    const noKeys = new TokenRedeemer({ issuerName: ISSUER_NAME, originName: ORIGIN_NAME, keys: () => [], spends: store });
    const wrongType = Uint8Array.from(token);
    wrongType[1] = 1;
    await expectCode(() => redeemer.reserve(undefined), TokenError, 'MISSING');
    await expectCode(() => redeemer.reserve('PrivateToken token="%%"'), TokenError, 'MALFORMED');
    await expectCode(() => redeemer.reserve(formatAuthorization(wrongType)), TokenError, 'WRONG_TYPE');
    await expectCode(() => noKeys.reserve(formatAuthorization(token)), TokenError, 'WRONG_KEY');
    await expectCode(() => other.reserve(formatAuthorization(token)), TokenError, 'WRONG_CHALLENGE');
    await expectCode(() => redeemer.reserve(formatAuthorization(flipped(token, 300))), TokenError, 'FORGED');
    await expectCode(() => redeemer.reserve(formatAuthorization(flipped(token, 5))), TokenError, 'FORGED');
    expect(store.size).toBe(0);
    await redeemer.reserve(formatAuthorization(token));
    expect(store.size).toBe(1);
  });

  test('1 000 concurrent redemptions of one valid token against DynamoDB: exactly one passes', async () => {
    const { record, issuer, redeemer } = await setup(await dynamoStore());
    const { token } = await fetchToken(issuer, record.tokenKey);
    const header = formatAuthorization(token);
    const results = await Promise.allSettled(Array.from({ length: 1000 }, () => redeemer.reserve(header)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const codes = new Set(results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as TokenError).code] : [])));
    expect([...codes]).toEqual(['SPENT']);
  }, 60_000);
});
