// Tokens per account per UTC day. The issuer knows accounts by design (it is where an
// account proves itself); the counter is keyed by a hash of the account only to bound
// key size, and expires two days after its day ends.

import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface QuotaStore {
  /** Counts one token for `account` on `day`; false (and nothing counted) if `limit` is reached. */
  consume(account: string, day: number, limit: number): Promise<boolean>;
}

export function utcDay(nowSeconds: number): number {
  return Math.floor(nowSeconds / 86_400);
}

function counterId(account: string, day: number): string {
  return `${createHash('sha256').update(account).digest('hex')}#${day}`;
}

export class MemoryQuotaStore implements QuotaStore {
  private readonly counts = new Map<string, number>();
  async consume(account: string, day: number, limit: number): Promise<boolean> {
    const id = counterId(account, day);
    const n = this.counts.get(id) ?? 0;
    if (n >= limit) return false;
    this.counts.set(id, n + 1);
    return true;
  }
}

/** DynamoDB: partition key `id` (S), TTL attribute `expiresAt`; one conditional ADD per token. */
export class DynamoQuotaStore implements QuotaStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async consume(account: string, day: number, limit: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { id: { S: counterId(account, day) } },
          UpdateExpression: 'ADD #n :one SET expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(#n) OR #n < :limit',
          ExpressionAttributeNames: { '#n': 'issued' },
          ExpressionAttributeValues: { ':one': { N: '1' }, ':limit': { N: String(limit) }, ':expires': { N: String((day + 3) * 86_400) } },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }
}
