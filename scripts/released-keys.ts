// Checks or updates the committed record of released keys (bin/released-keys.ts).
//
//   npx tsx scripts/released-keys.ts                 # check: exit 1 unless synthesis matches the record
//   npx tsx scripts/released-keys.ts --write         # append new keys, mark keys no longer synthesized retired
//   options: --config <path> (default deploy/config.json), --mode local
//
// --write never rewrites an entry: a key whose policy or properties would change, or a
// retired key synthesized again, is refused with the same error as `cdk synth`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp, readReleasedKeysRecord, releaseKeysTemplate } from '../bin/build-app';
import { checkAgainstRecord, encodeReleasedKeysRecord, entriesFromTemplate, updatedRecord, type ReleasedKeysRecord } from '../bin/released-keys';
import type { DeploymentMode } from '../lib/deployment-config';
import { verifySynthesizedKeys } from '../lib/keys/verify';
import { ProtocolError } from '../protocol';

export interface ReleasedKeysRun {
  readonly recordPath: string;
  readonly before: ReleasedKeysRecord;
  readonly after: ReleasedKeysRecord;
}

/** Synthesizes the deployment (without cdk-nag) and returns the record as it is and as it would be. */
export function synthesizeRecord(options: { configPath?: string; mode?: DeploymentMode } = {}): ReleasedKeysRun {
  const outdir = mkdtempSync(join(tmpdir(), 'pp-released-keys-'));
  try {
    // Only the keys matter here: no Lambda bundling.
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const built = buildApp(app, { ...options, nag: false });
    const template = releaseKeysTemplate(app.synth(), built);
    const keys = built.releaseKeys.keyDescriptions;
    verifySynthesizedKeys(template, keys);
    const before = readReleasedKeysRecord(built.recordPath);
    const after = updatedRecord(before, entriesFromTemplate(template, keys), built.releaseKeys.stackName);
    return { recordPath: built.recordPath, before, after };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

function main(args: string[]): number {
  const mode = arg(args, 'mode');
  const run = synthesizeRecord({ ...(arg(args, 'config') ? { configPath: arg(args, 'config') } : {}), ...(mode ? { mode: mode as DeploymentMode } : {}) });
  const added = run.after.keys.filter((k) => !run.before.keys.some((b) => b.logicalId === k.logicalId));
  const retired = run.after.keys.filter((k) => k.state === 'retired' && run.before.keys.some((b) => b.logicalId === k.logicalId && b.state === 'live'));
  for (const k of added) process.stdout.write(`+ ${k.logicalId} (${k.kind} key, release ${k.releaseId}${k.generation ? `, generation ${k.generation}` : ''})\n`);
  for (const k of retired) process.stdout.write(`- ${k.logicalId} retired: CloudFormation will schedule its deletion\n`);
  if (args.includes('--write')) {
    writeFileSync(run.recordPath, encodeReleasedKeysRecord(run.after));
    process.stdout.write(`${run.recordPath}: ${added.length} added, ${retired.length} retired\n`);
    return 0;
  }
  checkAgainstRecord(run.before, run.after.keys.filter((k) => k.state === 'live'), run.after.stack);
  process.stdout.write(`${run.recordPath}: synthesis matches the record (${run.after.keys.filter((k) => k.state === 'live').length} live keys)\n`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    process.stderr.write(`${err.code}: ${err.message}\n`);
    process.exitCode = 1;
  }
}
