// The issuer Lambda, wired for AWS: issuer keys from Secrets Manager, the daily quota in
// DynamoDB, and the messenger's account service's public key (a JWK) from the environment.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { JWK } from 'jose';
import { createLogger } from '../../protocol';
import { ConfigError, HTTPS_URL, SECRET_ARN, TABLE, required, requiredInteger } from '../common/env';
import { fromApiGatewayEvent, toApiGatewayResult, type ApiGatewayV2Event, type ApiGatewayV2Result } from '../common/http';
import { accountVerifier } from './accounts';
import { Issuer } from './issuer';
import type { IssuerKeyStore } from './keys';
import { DynamoQuotaStore } from './quota';
import { SecretsIssuerKeyStore } from './secrets-key-store';

export interface IssuerConfig {
  readonly keysSecret: string;
  readonly quotaTable: string;
  readonly tokensPerDay: number;
  readonly requestUri: string;
  readonly accountKey: JWK;
  readonly accountIssuer: string;
  readonly accountAudience: string;
}

export function issuerConfigFromEnv(env: Readonly<Record<string, string | undefined>>): IssuerConfig {
  let accountKey: JWK;
  try {
    accountKey = JSON.parse(required(env, 'PP_ACCOUNT_JWK')) as JWK;
  } catch (err) {
    throw err instanceof ConfigError ? err : new ConfigError('PP_ACCOUNT_JWK is malformed');
  }
  // A public key only: a private JWK in the environment would be a key leak, an HMAC key a forgery risk.
  if (typeof accountKey !== 'object' || accountKey === null || !['EC', 'OKP'].includes(String(accountKey.kty)) || 'd' in accountKey) throw new ConfigError('PP_ACCOUNT_JWK must be an EC or OKP public key');
  return {
    keysSecret: required(env, 'PP_ISSUER_KEYS_SECRET', SECRET_ARN),
    quotaTable: required(env, 'PP_QUOTA_TABLE', TABLE),
    tokensPerDay: requiredInteger(env, 'PP_TOKENS_PER_DAY', 1, 100_000),
    requestUri: required(env, 'PP_REQUEST_URI', HTTPS_URL),
    accountKey,
    accountIssuer: required(env, 'PP_ACCOUNT_ISSUER'),
    accountAudience: required(env, 'PP_ACCOUNT_AUDIENCE'),
  };
}

export interface IssuerDeps {
  readonly keys?: IssuerKeyStore;
  readonly dynamo?: DynamoDBClient;
  readonly now?: () => number;
}

export function createIssuerHandler(config: IssuerConfig, deps: IssuerDeps = {}): (event: ApiGatewayV2Event) => Promise<ApiGatewayV2Result> {
  const issuer = new Issuer({
    keys: deps.keys ?? new SecretsIssuerKeyStore(new SecretsManagerClient({}), config.keysSecret),
    accounts: accountVerifier({ key: config.accountKey, issuer: config.accountIssuer, audience: config.accountAudience, ...(deps.now ? { now: deps.now } : {}) }),
    quota: new DynamoQuotaStore(deps.dynamo ?? new DynamoDBClient({}), config.quotaTable),
    tokensPerDay: config.tokensPerDay,
    requestUri: config.requestUri,
    logger: createLogger('issuer', (line) => process.stdout.write(`${line}\n`)),
    ...(deps.now ? { now: deps.now } : {}),
  });
  return async (event) => toApiGatewayResult(await issuer.handle(fromApiGatewayEvent(event)));
}
