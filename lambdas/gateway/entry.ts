// The gateway Lambda, wired for AWS: the spend store in DynamoDB, the log read from the
// log bucket (cached for a minute), and the workers found through EC2 and health-checked
// at most every 30 seconds. Settings come from the environment (GatewayStack).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { createLogger } from '../../protocol';
import { errorResponse, fromApiGatewayEvent, toApiGatewayResult, type ApiGatewayV2Event, type ApiGatewayV2Result } from '../common/http';
import { BUCKET, TABLE, required, requiredInteger } from '../common/env';
import { CachedPublishedLog, readPublishedLog } from '../common/published-log';
import { DynamoSpendStore } from '../common/spend-store';
import { S3Storage } from '../log-writer/s3-storage';
import type { LogStorage } from '../log-writer/storage';
import { ec2WorkerDiscovery } from './ec2-discovery';
import { Gateway } from './gateway';
import { WorkerRegistry } from './workers';

export interface GatewayConfig {
  readonly issuerName: string;
  readonly originName: string;
  readonly spendTable: string;
  readonly logBucket: string;
  readonly logOrigin: string;
  readonly logKey: string;
  /** The workers' Auto Scaling groups (PP_WORKER_GROUP: one name, or up to four separated by commas). */
  readonly workerGroups: readonly string[];
  readonly workerPort: number;
}

const HOST = /^[a-z0-9.-]{1,253}$/;

export function gatewayConfigFromEnv(env: Readonly<Record<string, string | undefined>>): GatewayConfig {
  return {
    issuerName: required(env, 'PP_ISSUER_NAME', HOST),
    originName: required(env, 'PP_ORIGIN_NAME', HOST),
    spendTable: required(env, 'PP_SPEND_TABLE', TABLE),
    logBucket: required(env, 'PP_LOG_BUCKET', BUCKET),
    logOrigin: required(env, 'PP_LOG_ORIGIN', HOST),
    logKey: required(env, 'PP_LOG_KEY'),
    workerGroups: required(env, 'PP_WORKER_GROUP', /^[\w.-]{1,255}(?:,[\w.-]{1,255}){0,3}$/).split(','),
    workerPort: requiredInteger(env, 'PP_WORKER_PORT', 1024, 65535),
  };
}

export interface GatewayDeps {
  readonly dynamo?: DynamoDBClient;
  readonly logStorage?: LogStorage;
  readonly discover?: () => Promise<readonly string[]> | readonly string[];
  readonly now?: () => number;
}

const WORKER_CHECK_MS = 30_000;
const LOG_TTL_MS = 60_000;

export function createGatewayHandler(config: GatewayConfig, deps: GatewayDeps = {}): (event: ApiGatewayV2Event) => Promise<ApiGatewayV2Result> {
  const now = deps.now ?? Date.now;
  const storage = deps.logStorage ?? new S3Storage(new S3Client({}), config.logBucket);
  const log = new CachedPublishedLog(() => readPublishedLog(storage, { origin: config.logOrigin, logKey: config.logKey }), LOG_TTL_MS, now);
  const registry = new WorkerRegistry({ discover: deps.discover ?? ec2WorkerDiscovery({ client: new EC2Client({}), autoScalingGroups: config.workerGroups, port: config.workerPort }), now });
  let checkedAt = -Infinity;
  const gateway = new Gateway({
    issuerName: config.issuerName,
    originName: config.originName,
    log: () => ({ entries: log.value?.entries ?? [], checkpoint: log.value?.checkpoint ?? null }),
    spends: new DynamoSpendStore(deps.dynamo ?? new DynamoDBClient({}), config.spendTable),
    workers: registry,
    logger: createLogger('gateway', (line) => process.stdout.write(`${line}\n`)),
    now,
  });
  return async (event) => {
    // A Lambda runs no timers between requests: the log and the workers are brought up to date here.
    if (!(await log.refresh())) return toApiGatewayResult(errorResponse(503, 'UNAVAILABLE', { 'retry-after': '5' }));
    if (now() - checkedAt >= WORKER_CHECK_MS) {
      checkedAt = now();
      await registry.refresh().catch(() => undefined);
    }
    return toApiGatewayResult(await gateway.handle(fromApiGatewayEvent(event)));
  };
}
