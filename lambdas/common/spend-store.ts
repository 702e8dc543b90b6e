// The spend store: each Privacy Pass token is redeemed at most once, in two phases so
// that outages do not burn users' tokens (DESIGN.md §4 anonymous token).
//
//   reserve(token)  conditional write before the request is forwarded; a second
//                   reservation of the same token fails with SPENT, whatever its state
//   commit          a worker answered: the token is spent for good
//   release         the request failed before any worker saw it: the token may be reused
//
// A reservation that is neither committed nor released (the gateway died mid-request)
// stays reserved until its TTL: a lost token, never a double spend. Items are keyed by
// SHA-256(token_key_id || nonce), so the table holds no token material, and expire
// after the issuer key's validity window, past which the token is refused anyway.

import { createHash } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { concat, toHex, TokenError } from '../../protocol';

export interface Reservation {
  /** SHA-256(token_key_id || nonce), hex. */
  readonly id: string;
}

export interface SpendStore {
  /** Reserves the token; throws TokenError SPENT if it is reserved or spent already. */
  reserve(tokenKeyId: Uint8Array, nonce: Uint8Array, expiresAt: number): Promise<Reservation>;
  /** Marks a reservation spent (a worker answered). */
  commit(reservation: Reservation): Promise<void>;
  /** Frees a reservation no worker saw; a committed token is never released. */
  release(reservation: Reservation): Promise<void>;
}

export function spendId(tokenKeyId: Uint8Array, nonce: Uint8Array): string {
  return toHex(createHash('sha256').update(concat(tokenKeyId, nonce)).digest());
}

type State = 'reserved' | 'spent';

/** In memory, for the local stack and tests: the same interface and semantics. */
export class MemorySpendStore implements SpendStore {
  private readonly items = new Map<string, { state: State; expiresAt: number }>();

  constructor(private readonly now: () => number = () => Math.floor(Date.now() / 1000)) {}

  async reserve(tokenKeyId: Uint8Array, nonce: Uint8Array, expiresAt: number): Promise<Reservation> {
    const id = spendId(tokenKeyId, nonce);
    // Like DynamoDB, an expired item counts until it is swept: its key has expired anyway.
    if (this.items.has(id)) throw new TokenError('SPENT');
    this.items.set(id, { state: 'reserved', expiresAt });
    return { id };
  }

  async commit(reservation: Reservation): Promise<void> {
    const item = this.items.get(reservation.id);
    if (item) item.state = 'spent';
  }

  async release(reservation: Reservation): Promise<void> {
    if (this.items.get(reservation.id)?.state === 'reserved') this.items.delete(reservation.id);
  }

  /** Drops expired items (DynamoDB's TTL does this in AWS). */
  sweep(): number {
    const now = this.now();
    let n = 0;
    for (const [id, item] of this.items) if (item.expiresAt <= now && this.items.delete(id)) n++;
    return n;
  }

  get size(): number {
    return this.items.size;
  }
}

/**
 * DynamoDB: table with partition key `id` (S) and TTL attribute `expiresAt`. Reserve is
 * a conditional put, which DynamoDB serialises per item, so racing reservations of one
 * token see exactly one success. An expired item not yet swept by TTL still counts as
 * present: TTL deletion lags, and the token's key has expired by then anyway.
 */
export class DynamoSpendStore implements SpendStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async reserve(tokenKeyId: Uint8Array, nonce: Uint8Array, expiresAt: number): Promise<Reservation> {
    const id = spendId(tokenKeyId, nonce);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { id: { S: id }, state: { S: 'reserved' }, expiresAt: { N: String(expiresAt) } },
          ConditionExpression: 'attribute_not_exists(id)',
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new TokenError('SPENT');
      throw err;
    }
    return { id };
  }

  async commit(reservation: Reservation): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { id: { S: reservation.id } },
        UpdateExpression: 'SET #s = :spent',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeNames: { '#s': 'state' },
        ExpressionAttributeValues: { ':spent': { S: 'spent' } },
      }),
    );
  }

  async release(reservation: Reservation): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { id: { S: reservation.id } },
          ConditionExpression: '#s = :reserved',
          ExpressionAttributeNames: { '#s': 'state' },
          ExpressionAttributeValues: { ':reserved': { S: 'reserved' } },
        }),
      );
    } catch (err) {
      // Already committed: stays spent.
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }
}
