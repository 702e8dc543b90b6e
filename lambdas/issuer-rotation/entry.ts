// The issuer-rotation Lambda, run on a schedule: reads what the log holds from the log
// bucket, appends a new issuer key through the log writer's IAM-authorized route (signed
// with this function's role, which the log writer maps to the `rotation` submitter), and
// only then stores the key in the issuer's secret (rotation.ts: log before use).
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { HTTPS_URL, BUCKET, SECRET_ARN, required } from '../common/env';
import { readPublishedLog } from '../common/published-log';
import type { AwsCredentials } from '../common/signed-fetch';
import { logWriterAppender } from '../log-writer/client';
import { S3Storage } from '../log-writer/s3-storage';
import type { LogStorage } from '../log-writer/storage';
import type { IssuerKeyStore } from '../issuer/keys';
import { SecretsIssuerKeyStore } from '../issuer/secrets-key-store';
import { rotateIssuerKey, type RotationLog } from './rotation';

export interface RotationConfig {
  readonly keysSecret: string;
  readonly logBucket: string;
  readonly logOrigin: string;
  readonly logKey: string;
  readonly logWriterUrl: string;
  readonly region: string;
}

export function rotationConfigFromEnv(env: Readonly<Record<string, string | undefined>>): RotationConfig {
  return {
    keysSecret: required(env, 'PP_ISSUER_KEYS_SECRET', SECRET_ARN),
    logBucket: required(env, 'PP_LOG_BUCKET', BUCKET),
    logOrigin: required(env, 'PP_LOG_ORIGIN', /^[a-z0-9.-]{1,253}$/),
    logKey: required(env, 'PP_LOG_KEY'),
    logWriterUrl: required(env, 'PP_LOG_WRITER_URL', HTTPS_URL),
    region: required(env, 'AWS_REGION', /^[a-z]{2}(-gov)?-[a-z]+-\d$/),
  };
}

export interface RotationDeps {
  readonly keys?: IssuerKeyStore;
  readonly logStorage?: LogStorage;
  readonly append?: RotationLog['append'];
  readonly credentials?: () => Promise<AwsCredentials>;
  readonly now?: () => number;
}

export function createRotationHandler(config: RotationConfig, deps: RotationDeps = {}): () => Promise<{ rotated: boolean; logIndex: number | null; revokedOrphans: number }> {
  const s3 = new S3Client({});
  const storage = deps.logStorage ?? new S3Storage(s3, config.logBucket);
  const append =
    deps.append ??
    logWriterAppender(config.logWriterUrl, {
      // The function's own role credentials, as the SDK resolves them in Lambda.
      credentials: deps.credentials ?? (() => s3.config.credentials()),
      region: config.region,
    });
  const keys = deps.keys ?? new SecretsIssuerKeyStore(new SecretsManagerClient({}), config.keysSecret);
  return async () => {
    const log: RotationLog = {
      allEntries: async () => (await readPublishedLog(storage, { origin: config.logOrigin, logKey: config.logKey })).entries,
      append: (entry) => append(entry, 'rotation'),
    };
    const result = await rotateIssuerKey({ keys, log, ...(deps.now ? { now: deps.now } : {}) });
    return { rotated: result.rotated, logIndex: result.logIndex ?? null, revokedOrphans: result.revokedOrphans };
  };
}
