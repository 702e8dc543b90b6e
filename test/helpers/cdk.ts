// Builds the CDK app from the committed example deployment (or a variant of it written
// to a temporary folder) and synthesizes it once, without CDK's CloudFormation
// validation (seconds per synth), without bundling the Lambdas (test/cdk/lambda-bundles
// bundles them for real) and, unless asked, without cdk-nag.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, DEFAULT_CONFIG_PATH, type BuildOptions, type BuiltApp } from '../../bin/build-app';
import { encodeReleaseManifest, decodeReleaseManifest, type ReleaseManifest } from '../../protocol';

process.env.CDK_VALIDATION = 'false';

export const EXAMPLE_CONFIG_PATH = DEFAULT_CONFIG_PATH;
export const EXAMPLE_CONFIG = JSON.parse(readFileSync(EXAMPLE_CONFIG_PATH, 'utf8')) as ExampleConfigJson;
export const EXAMPLE_MANIFEST_PATH = join(dirname(EXAMPLE_CONFIG_PATH), EXAMPLE_CONFIG.releases[0]!.manifest);
export const EXAMPLE_MANIFEST = decodeReleaseManifest(readFileSync(EXAMPLE_MANIFEST_PATH, 'utf8'));
export const EXAMPLE_RECORD_PATH = join(dirname(EXAMPLE_CONFIG_PATH), EXAMPLE_CONFIG.keys.releasedKeysRecord);

/** The config file's JSON shape, loosely typed so tests can break it. */
export interface ExampleConfigJson {
  account: string;
  region: string;
  availabilityZones: string[];
  network: Record<string, unknown>;
  trustedPrincipals: { publisher: string[]; modelOwner: string[] };
  keys: { sessionKeyRotationDays: number; pendingWindowDays: number; releasedKeysRecord: string };
  releases: { manifest: string; modelKey: string; sessionKeys: { generation: number; notBefore: string; state: string }[] }[];
  relay: Record<string, any>;
  gateway: Record<string, any>;
  transparency: Record<string, any> & { witnesses: { url: string; verifierKey: string }[] };
  workers: Record<string, any>;
  [key: string]: unknown;
}

/** The CDK context that skips NodejsFunction bundling in every stack (the asset is a placeholder). */
export const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] } as const;

export interface Synthesized {
  readonly built: BuiltApp;
  readonly assembly: ReturnType<App['synth']>;
  readonly foundation: Template;
  readonly network: Template;
  readonly releaseKeys: Template;
  readonly transparency: Template;
  readonly gateway: Template;
  readonly enclaveWorkers: Template;
  readonly relay: Template;
  /** The raw template JSON of each stack. */
  readonly json: { foundation: any; network: any; releaseKeys: any; transparency: any; gateway: any; enclaveWorkers: any; relay: any };
}

export function synthesize(options: BuildOptions & { context?: Record<string, unknown> } = {}): Synthesized {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'pp-cdk-test-')), context: { ...NO_BUNDLING, ...options.context } });
  const built = buildApp(app, { nag: false, ...options });
  const assembly = app.synth();
  // Template.fromStack reuses this synthesis (the app caches its assembly).
  const foundation = Template.fromStack(built.foundation);
  const network = Template.fromStack(built.network);
  const releaseKeys = Template.fromStack(built.releaseKeys);
  const transparency = Template.fromStack(built.transparency);
  const gateway = Template.fromStack(built.gateway);
  const enclaveWorkers = Template.fromStack(built.enclaveWorkers);
  const relay = Template.fromStack(built.relay);
  const json = {
    foundation: foundation.toJSON(),
    network: network.toJSON(),
    releaseKeys: releaseKeys.toJSON(),
    transparency: transparency.toJSON(),
    gateway: gateway.toJSON(),
    enclaveWorkers: enclaveWorkers.toJSON(),
    relay: relay.toJSON(),
  };
  return { built, assembly, json, foundation, network, releaseKeys, transparency, gateway, enclaveWorkers, relay };
}

/**
 * Writes a deployment folder (config, manifests, record) to a temporary directory: the
 * example config changed by `edit`, plus any extra manifests. Returns the config path.
 */
export function writeDeployment(edit: (config: ExampleConfigJson) => void, extra: { manifests?: ReleaseManifest[]; record?: string } = {}): string {
  const folder = mkdtempSync(join(tmpdir(), 'pp-deploy-'));
  mkdirSync(join(folder, 'releases'));
  copyFileSync(EXAMPLE_MANIFEST_PATH, join(folder, EXAMPLE_CONFIG.releases[0]!.manifest));
  for (const m of extra.manifests ?? []) writeFileSync(join(folder, 'releases', `${m.releaseId}.json`), encodeReleaseManifest(m));
  if (extra.record !== undefined) writeFileSync(join(folder, EXAMPLE_CONFIG.keys.releasedKeysRecord), extra.record);
  const config = structuredClone(EXAMPLE_CONFIG);
  edit(config);
  const path = join(folder, 'config.json');
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/** A second release like the example, with its own id and PCR0. */
export function anotherRelease(releaseId: string, pcr0: string, kind: ReleaseManifest['kind'] = 'nitro'): ReleaseManifest {
  return { ...EXAMPLE_MANIFEST, releaseId, kind, measurements: { ...EXAMPLE_MANIFEST.measurements, pcr0 } };
}

/** Resources of one type in a template JSON, by logical id. */
export function resourcesOfType(template: any, type: string): Record<string, any> {
  return Object.fromEntries(Object.entries(template.Resources as Record<string, any>).filter(([, r]) => r.Type === type));
}

/** The only resource of a type (fails the test if there are more or none). */
export function onlyResourceOfType(template: any, type: string): any {
  const found = Object.values(resourcesOfType(template, type));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0];
}

export const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * A template for a snapshot: Lambda code locations (asset hashes, which depend on where the
 * repository is checked out when bundling is skipped) replaced by a placeholder.
 */
export function snapshotOf(template: any): any {
  const copy = structuredClone(template);
  for (const r of Object.values(copy.Resources as Record<string, any>)) {
    if (r.Type === 'AWS::Lambda::Function' && r.Properties?.Code?.S3Key) r.Properties.Code.S3Key = '<asset>.zip';
  }
  return copy;
}
