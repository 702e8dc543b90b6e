// The log writer Lambda, wired for AWS: the log's files in the TransparencyStack's bucket,
// its signing key from a secret only this function can read, witnesses over HTTP, and
// appends from the API's IAM-authorized route. A schedule (EventBridge, hourly) re-collects
// cosignatures so the newest stays young. The stack gives it a reserved concurrency of 1:
// the log has one writer; and before each call it checks that the bucket's checkpoint is
// the one it holds, re-reading the log if another instance wrote since.
import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CHECKPOINT_PATH, createLogger, parseSignerKey, type NoteSigner } from '../../protocol';
import { ACCOUNT_ID, BUCKET, ConfigError, ROLE_NAME, SECRET_ARN, required } from '../common/env';
import { errorResponse, fromApiGatewayEvent, toApiGatewayResult, type ApiGatewayV2Event, type ApiGatewayV2Result } from '../common/http';
import { httpWitness } from '../common/published-log';
import { LogWriterHandler } from './handler';
import { LogWriter, type WitnessEndpoint } from './log';
import { S3Storage } from './s3-storage';
import type { LogStorage } from './storage';

export interface LogWriterConfig {
  readonly bucket: string;
  readonly origin: string;
  readonly signerSecret: string;
  readonly witnesses: readonly { readonly url: string; readonly verifierKey: string }[];
  readonly account: string;
  readonly publisherRole: string;
  readonly rotationRole: string;
}

export function logWriterConfigFromEnv(env: Readonly<Record<string, string | undefined>>): LogWriterConfig {
  let witnesses: LogWriterConfig['witnesses'];
  try {
    witnesses = JSON.parse(required(env, 'PP_WITNESSES')) as LogWriterConfig['witnesses'];
  } catch (err) {
    throw err instanceof ConfigError ? err : new ConfigError('PP_WITNESSES is malformed');
  }
  if (!Array.isArray(witnesses) || !witnesses.every((w) => typeof w?.url === 'string' && w.url.startsWith('https://') && typeof w.verifierKey === 'string')) {
    throw new ConfigError('PP_WITNESSES must be a list of {url (https), verifierKey}');
  }
  return {
    bucket: required(env, 'PP_LOG_BUCKET', BUCKET),
    origin: required(env, 'PP_LOG_ORIGIN', /^[a-z0-9.-]{1,253}$/),
    signerSecret: required(env, 'PP_LOG_SIGNER_SECRET', SECRET_ARN),
    witnesses,
    account: required(env, 'PP_ACCOUNT', ACCOUNT_ID),
    publisherRole: required(env, 'PP_PUBLISHER_ROLE', ROLE_NAME),
    rotationRole: required(env, 'PP_ROTATION_ROLE', ROLE_NAME),
  };
}

export interface LogWriterDeps {
  readonly storage?: LogStorage;
  readonly signer?: () => Promise<NoteSigner>;
  readonly witnesses?: readonly WitnessEndpoint[];
  readonly now?: () => number;
}

/** EventBridge's scheduled event. */
interface ScheduledEvent {
  readonly source: 'aws.events';
  readonly 'detail-type': 'Scheduled Event';
}

export function createLogWriterHandler(config: LogWriterConfig, deps: LogWriterDeps = {}): (event: ApiGatewayV2Event | ScheduledEvent) => Promise<ApiGatewayV2Result | { refreshed: number }> {
  const storage = deps.storage ?? new S3Storage(new S3Client({}), config.bucket);
  const signer =
    deps.signer ??
    (async () => {
      const out = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: config.signerSecret }));
      return parseSignerKey(out.SecretString ?? '');
    });
  const logger = createLogger('log-writer', (line) => process.stdout.write(`${line}\n`));
  const open = async () =>
    LogWriter.open({
      storage,
      origin: config.origin,
      signer: await signer(),
      witnesses: deps.witnesses ?? config.witnesses.map((w) => httpWitness(w.url, w.verifierKey)),
      allowEmulated: false,
      ...(deps.now ? { now: deps.now } : {}),
    });
  let log: Promise<LogWriter> | undefined;
  // A failed open is not kept: the next call tries again.
  const reopen = (): Promise<LogWriter> =>
    (log = open().catch((err: unknown) => {
      log = undefined;
      throw err;
    }));
  const current = async (): Promise<LogWriter> => {
    const held = await (log ?? reopen());
    const stored = await storage.read(CHECKPOINT_PATH);
    return stored && new TextDecoder().decode(stored) !== held.checkpoint ? reopen() : held;
  };
  return async (event) => {
    if ('source' in event && event.source === 'aws.events') {
      const checkpoint = await (await current()).refresh();
      return { refreshed: Number(checkpoint.split('\n')[1]) };
    }
    let writer: LogWriter;
    try {
      writer = await current();
    } catch {
      return toApiGatewayResult(errorResponse(503, 'UNAVAILABLE', { 'retry-after': '5' }));
    }
    const handler = new LogWriterHandler({
      log: writer,
      account: config.account,
      submitters: { [config.publisherRole]: 'publisher', [config.rotationRole]: 'rotation' },
      logger,
    });
    return toApiGatewayResult(await handler.handle(fromApiGatewayEvent(event as ApiGatewayV2Event)));
  };
}
