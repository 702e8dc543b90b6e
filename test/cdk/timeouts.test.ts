// Timeouts nest from the inside out (DESIGN.md §5b): the runtime's constants and the
// synthesized templates, checked against lib/timeouts.ts and against each other.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DEADLINES_MS } from '../../enclave-app/server/deadlines';
import { FUNCTION_NAMES } from '../../lib/names';
import { TIMEOUT_SECONDS } from '../../lib/timeouts';
import { onlyResourceOfType, resourcesOfType, synthesize, type Synthesized } from '../helpers/cdk';

const ROOT = join(__dirname, '..', '..');
let s: Synthesized;
beforeAll(() => {
  s = synthesize();
});

const functionTimeout = (template: any, name: string) => Object.values(resourcesOfType(template, 'AWS::Lambda::Function')).find((f) => f.Properties.FunctionName === name).Properties.Timeout;
/** The default of `name ?? <n>_000` in a runtime source file, in seconds. */
const sourceDefault = (path: string, name: string) => Number(new RegExp(`${name} \\?\\? (\\d+)_000`).exec(readFileSync(join(ROOT, path), 'utf8'))![1]);

test('the chain: enclave deadline < gateway → worker < gateway Lambda < API Gateway < relay → gateway < relay Lambda < CloudFront origin read', () => {
  const t = TIMEOUT_SECONDS;
  const chain = [t.enclaveLargestDeadline, t.gatewayToWorker, t.gatewayLambda, t.apiGatewayIntegration, t.relayToGateway, t.relayLambda, t.cloudFrontOriginRead];
  for (let i = 1; i < chain.length; i++) expect([i, chain[i - 1]! < chain[i]!]).toEqual([i, true]);
  expect(t.apiGatewayIntegration).toBeLessThanOrEqual(30);
  expect(t.cloudFrontOriginRead).toBeLessThanOrEqual(60);
});

test('runtime constants: the enclave\'s largest deadline, the gateway\'s and the relay\'s upstream timeouts are what the chain assumes', () => {
  expect(Math.max(...Object.values(DEFAULT_DEADLINES_MS)) / 1000).toBeLessThanOrEqual(TIMEOUT_SECONDS.enclaveLargestDeadline);
  expect(sourceDefault('lambdas/gateway/gateway.ts', 'forwardTimeoutMs')).toBe(TIMEOUT_SECONDS.gatewayToWorker);
  expect(sourceDefault('lambdas/relay/relay.ts', 'timeoutMs')).toBe(TIMEOUT_SECONDS.relayToGateway);
});

test('templates: the gateway and log-writer Lambdas end before API Gateway\'s 29 s integration, the relay Lambda before CloudFront\'s 60 s origin read', () => {
  expect(functionTimeout(s.json.gateway, FUNCTION_NAMES.gateway)).toBe(TIMEOUT_SECONDS.gatewayLambda);
  expect(functionTimeout(s.json.gateway, FUNCTION_NAMES.logWriter)).toBeLessThan(TIMEOUT_SECONDS.apiGatewayIntegration);
  for (const i of Object.values(resourcesOfType(s.json.gateway, 'AWS::ApiGatewayV2::Integration'))) expect(i.Properties.TimeoutInMillis).toBe(TIMEOUT_SECONDS.apiGatewayIntegration * 1000);
  expect(functionTimeout(s.json.relay, 'pp-relay')).toBe(TIMEOUT_SECONDS.relayLambda);
  const origin = onlyResourceOfType(s.json.relay, 'AWS::CloudFront::Distribution').Properties.DistributionConfig.Origins[0];
  expect(origin.CustomOriginConfig.OriginReadTimeout).toBe(TIMEOUT_SECONDS.cloudFrontOriginRead);
});
