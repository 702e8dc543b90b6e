// The key-policy matrix of the keys the CDK app actually synthesizes: each key's
// KeyPolicy is read from the synthesized template, its intrinsics (Ref, Fn::GetAtt,
// Fn::Join, Fn::Sub) resolved to literals, and evaluated with @cloud-copilot/iam-simulate
// for the callers and actions of scripts/key-policy-matrix.ts, in the deployment's own
// account and region, with the key's own release measurement.
//
//   npx tsx scripts/cdk-key-policy-matrix.ts [--config <path>] [--mode local]   # prints markdown
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp, releaseKeysTemplate } from '../bin/build-app';
import type { DeploymentConfig, DeploymentMode } from '../lib/deployment-config';
import type { FrozenKeyKind } from '../lib/keys/frozen-key';
import { partitionOf, type KeyPolicy } from '../protocol';
import { callersFor, computeMatrix, keyArnFor, OTHER_ACCOUNT, renderMatrix, type Caller, type Matrix } from './key-policy-matrix';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Resources = Record<string, { Type?: string; Properties?: Record<string, Json> }>;

export interface IntrinsicContext {
  readonly account: string;
  readonly region: string;
  readonly resources: Resources;
}

/** Physical values the template can refer to: pseudo parameters and named roles. */
function ref(name: string, c: IntrinsicContext): string {
  const partition = partitionOf(c.region);
  const pseudo: Record<string, string> = {
    'AWS::AccountId': c.account,
    'AWS::Region': c.region,
    'AWS::Partition': partition,
    'AWS::URLSuffix': partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com',
  };
  if (name in pseudo) return pseudo[name]!;
  const resource = c.resources[name];
  if (resource?.Type === 'AWS::IAM::Role' && typeof resource.Properties?.RoleName === 'string') return resource.Properties.RoleName;
  throw new Error(`cannot resolve Ref ${name} to a literal`);
}

function getAtt(logicalId: string, attribute: string, c: IntrinsicContext): string {
  const resource = c.resources[logicalId];
  if (resource?.Type === 'AWS::IAM::Role' && attribute === 'Arn' && typeof resource.Properties?.RoleName === 'string') {
    return `arn:${partitionOf(c.region)}:iam::${c.account}:role/${resource.Properties.RoleName}`;
  }
  throw new Error(`cannot resolve Fn::GetAtt ${logicalId}.${attribute} to a literal`);
}

/** Replaces Ref, Fn::GetAtt, Fn::Join and Fn::Sub with literals; throws on anything it cannot resolve. */
export function resolveIntrinsics(value: Json, c: IntrinsicContext): Json {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, c));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const [k] = keys as [string];
    const arg = value[k]!;
    if (k === 'Ref' && typeof arg === 'string') return ref(arg, c);
    if (k === 'Fn::GetAtt') {
      const [logicalId, attribute] = (Array.isArray(arg) ? arg : String(arg).split('.')) as [string, string];
      return getAtt(logicalId, attribute, c);
    }
    if (k === 'Fn::Join' && Array.isArray(arg) && typeof arg[0] === 'string' && Array.isArray(arg[1])) {
      return arg[1].map((part) => resolveIntrinsics(part, c)).join(arg[0]);
    }
    if (k === 'Fn::Sub' && typeof arg === 'string') {
      return arg.replace(/\$\{([^}]+)\}/g, (_, name: string) => (name.includes('.') ? getAtt(name.split('.')[0]!, name.split('.')[1]!, c) : ref(name, c)));
    }
    if (k.startsWith('Fn::') || k === 'Ref') throw new Error(`cannot resolve ${k} to a literal`);
  }
  return Object.fromEntries(keys.map((k) => [k, resolveIntrinsics(value[k]!, c)]));
}

export interface SynthesizedKey {
  readonly logicalId: string;
  readonly kind: FrozenKeyKind;
  readonly releaseId: string;
  readonly generation: number | null;
  readonly pcr0: string;
  /** The KeyPolicy exactly as synthesized, intrinsics resolved. */
  readonly policy: KeyPolicy;
}

/** Synthesizes the app (no cdk-nag, no CloudFormation validation) and returns every key's resolved policy. */
export function synthesizedKeys(options: { configPath?: string; mode?: DeploymentMode } = {}): { config: DeploymentConfig; keys: SynthesizedKey[] } {
  const outdir = mkdtempSync(join(tmpdir(), 'pp-matrix-'));
  const validation = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
  try {
    // Only the keys matter here: no Lambda bundling.
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const built = buildApp(app, { ...options, nag: false });
    const template = releaseKeysTemplate(app.synth(), built) as { Resources?: Resources };
    const resources = template.Resources ?? {};
    const context = { account: built.config.account, region: built.config.region, resources };
    const keys = built.releaseKeys.keyDescriptions.map((k) => ({
      logicalId: k.logicalId,
      kind: k.kind,
      releaseId: k.releaseId,
      generation: k.generation,
      pcr0: k.pcr0,
      policy: resolveIntrinsics(resources[k.logicalId]?.Properties?.KeyPolicy ?? null, context) as unknown as KeyPolicy,
    }));
    return { config: built.config, keys };
  } finally {
    if (validation === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = validation;
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The callers for a key of this deployment: its account and region, its own release measurement, and another. */
export function callersForKey(config: DeploymentConfig, key: SynthesizedKey): Caller[] {
  const otherPcr0 = key.pcr0.startsWith('b2') ? 'c3'.repeat(48) : 'b2'.repeat(48);
  return callersFor({ account: config.account, region: config.region, releasedPcr0: key.pcr0, otherPcr0, otherAccount: config.account === OTHER_ACCOUNT ? '777788889999' : OTHER_ACCOUNT });
}

export function keyTitle(key: SynthesizedKey): string {
  return `${key.kind} key ${key.logicalId} (release ${key.releaseId}${key.generation !== null ? `, generation ${key.generation}` : ''})`;
}

/** One matrix per synthesized key, titled by keyTitle. */
export async function synthesizedMatrix(options: { configPath?: string; mode?: DeploymentMode } = {}): Promise<{ config: DeploymentConfig; keys: SynthesizedKey[]; matrix: Matrix<string> }> {
  const { config, keys } = synthesizedKeys(options);
  const matrix: Matrix<string> = {};
  for (const key of keys) {
    const one = await computeMatrix({ [keyTitle(key)]: key.policy }, callersForKey(config, key), keyArnFor(config.account, config.region));
    Object.assign(matrix, one);
  }
  return { config, keys, matrix };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const at = (name: string) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : undefined);
  const configPath = at('config');
  const mode = at('mode') as DeploymentMode | undefined;
  synthesizedMatrix({ ...(configPath ? { configPath } : {}), ...(mode ? { mode } : {}) }).then(({ matrix }) => {
    process.stdout.write('**allow**: allowed; deny: explicitly denied; ·: implicitly denied (iam-simulate, strict mode, on the synthesized policies).\n\n');
    process.stdout.write(renderMatrix(matrix));
  });
}
