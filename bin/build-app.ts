// Builds the CDK app from the deployment config: reads the config and the release
// manifests it names (files, never values typed into a stack), creates one stack per
// trust domain, applies cdk-nag's AwsSolutions checks, and after synthesis checks every
// key against its frozen definition and the committed released-keys record.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { App, CliCredentialsStackSynthesizer, Validations } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseDeploymentConfig, type DeploymentConfig, type DeploymentMode } from '../lib/deployment-config';
import { InfrastructureError } from '../lib/errors';
import { EnclaveWorkerStack } from '../lib/enclave-worker-stack';
import { FoundationStack } from '../lib/foundation-stack';
import { GatewayStack } from '../lib/gateway-stack';
import { verifySynthesizedKeys, type TemplateLike } from '../lib/keys/verify';
import { STACK_NAMES } from '../lib/names';
import { NetworkStack } from '../lib/network-stack';
import { RelayStack } from '../lib/relay-stack';
import { ReleaseKeysStack } from '../lib/release-keys-stack';
import { TransparencyStack } from '../lib/transparency-stack';
import { checkAgainstRecord, emptyRecord, entriesFromTemplate, parseReleasedKeysRecord, type ReleasedKeysRecord } from './released-keys';

/** The committed example deployment (placeholder account); `-c deployConfig=<path>` names another. */
export const DEFAULT_CONFIG_PATH = join(__dirname, '..', 'deploy', 'config.json');

export interface BuildOptions {
  /** Overrides the `deployConfig` context. */
  readonly configPath?: string;
  /** Overrides the `mode` context (`production` unless `-c mode=local`). */
  readonly mode?: DeploymentMode;
  /** Apply cdk-nag (default true; unit tests of one stack turn it off and run the checks directly). */
  readonly nag?: boolean;
}

export interface BuiltApp {
  readonly app: App;
  readonly config: DeploymentConfig;
  readonly configPath: string;
  readonly recordPath: string;
  readonly foundation: FoundationStack;
  readonly network: NetworkStack;
  readonly releaseKeys: ReleaseKeysStack;
  readonly transparency: TransparencyStack;
  readonly gateway: GatewayStack;
  readonly enclaveWorkers: EnclaveWorkerStack;
  /** The independent relay, for its own operator's account: depends on no other stack. */
  readonly relay: RelayStack;
}

function parseMode(value: unknown): DeploymentMode {
  if (value === undefined || value === 'production') return 'production';
  if (value === 'local') return 'local';
  throw new InfrastructureError('CONFIG_INVALID', 'the mode context is "production" (default) or "local"');
}

/** Reads and checks the deployment config and its release manifests (paths relative to the config's folder). */
export function loadDeploymentConfig(configPath: string, mode: DeploymentMode): DeploymentConfig {
  const folder = dirname(configPath);
  return parseDeploymentConfig(readFileSync(configPath, 'utf8'), {
    mode,
    readManifest: (path) => readFileSync(resolve(folder, path), 'utf8'),
  });
}

export function buildApp(app: App, options: BuildOptions = {}): BuiltApp {
  const configPath = resolve(options.configPath ?? (app.node.tryGetContext('deployConfig') as string | undefined) ?? DEFAULT_CONFIG_PATH);
  const mode = options.mode ?? parseMode(app.node.tryGetContext('mode'));
  const config = loadDeploymentConfig(configPath, mode);

  // The CLI's own credentials publish the templates; CloudFormation runs as the role
  // given with `cdk deploy --role-arn` (the deployer), never as a bootstrap role with
  // administrator rights. No bootstrap-version parameter, so the deployer needs no SSM.
  const common = { config, analyticsReporting: false };
  const foundation = new FoundationStack(app, STACK_NAMES.foundation, { ...common, synthesizer: new CliCredentialsStackSynthesizer() });
  const network = new NetworkStack(app, STACK_NAMES.network, { ...common, synthesizer: new CliCredentialsStackSynthesizer() });
  const releaseKeys = new ReleaseKeysStack(app, STACK_NAMES.releaseKeys, { ...common, synthesizer: new CliCredentialsStackSynthesizer() });
  const transparency = new TransparencyStack(app, STACK_NAMES.transparency, { ...common, synthesizer: new CliCredentialsStackSynthesizer() });
  const gateway = new GatewayStack(app, STACK_NAMES.gateway, { ...common, synthesizer: new CliCredentialsStackSynthesizer() });
  const enclaveWorkers = new EnclaveWorkerStack(app, STACK_NAMES.enclaveWorkers, { ...common, synthesizer: new CliCredentialsStackSynthesizer() });
  // The relay operator deploys this one in its own account with its own credentials
  // (`cdk deploy PpRelay`, no --role-arn): it names nothing of ours but two URLs.
  const relay = new RelayStack(app, STACK_NAMES.relay, {
    relay: config.relay,
    gatewayUrl: config.relay.gatewayUrl,
    logUrl: config.relay.logUrl,
    analyticsReporting: false,
    synthesizer: new CliCredentialsStackSynthesizer(),
  });
  // The flow-log role and every role a key policy names must exist first.
  network.addStackDependency(foundation, 'the flow-log delivery role');
  releaseKeys.addStackDependency(foundation, 'key policies name the foundation roles');
  transparency.addStackDependency(foundation, 'the log writer role its policies name');
  gateway.addStackDependency(foundation, 'the functions run as the foundation roles');
  gateway.addStackDependency(network, 'the gateway Lambda imports the isolated subnets and its security group');
  gateway.addStackDependency(transparency, 'the log writer imports the log signing key secret');
  enclaveWorkers.addStackDependency(foundation, 'the worker instance profile');
  enclaveWorkers.addStackDependency(network, 'the workers import the isolated subnets and their security group');

  if (options.nag !== false) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }));
  }
  return { app, config, configPath, foundation, network, releaseKeys, transparency, gateway, enclaveWorkers, relay, recordPath: resolve(dirname(configPath), config.keys.releasedKeysRecord) };
}

export function readReleasedKeysRecord(path: string): ReleasedKeysRecord {
  return existsSync(path) ? parseReleasedKeysRecord(readFileSync(path, 'utf8')) : emptyRecord(STACK_NAMES.releaseKeys);
}

/** The keys stack's template as synthesized. */
export function releaseKeysTemplate(assembly: CloudAssembly, built: BuiltApp): TemplateLike {
  return assembly.getStackArtifact(built.releaseKeys.artifactId).template as TemplateLike;
}

/**
 * After synthesis: each key is exactly its frozen definition, and the set of keys is
 * exactly what the released-keys record lists as live. Throws an InfrastructureError.
 */
export function verifyAssembly(assembly: CloudAssembly, built: BuiltApp, record: ReleasedKeysRecord = readReleasedKeysRecord(built.recordPath)): void {
  const template = releaseKeysTemplate(assembly, built);
  const keys = built.releaseKeys.keyDescriptions;
  verifySynthesizedKeys(template, keys);
  checkAgainstRecord(record, entriesFromTemplate(template, keys), built.releaseKeys.stackName);
}
