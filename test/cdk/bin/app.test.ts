// bin/app.ts as `cdk synth` runs it (a separate process, the CLI's environment), with no
// AWS credentials, no network and no Docker: it writes every stack's template, needs no
// context lookup, and refuses a bad deployment with its code and no stack trace. Bundling
// is skipped here (test/cdk/lambda-bundles.test.ts bundles the Lambdas for real).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STACK_NAMES } from '../../../lib/names';
import { anotherRelease, writeDeployment } from '../../helpers/cdk';

const ROOT = join(__dirname, '..', '..', '..');

function runApp(context: Record<string, unknown> = {}) {
  context = { 'aws:cdk:bundling-stacks': [], ...context };
  const outdir = mkdtempSync(join(tmpdir(), 'pp-cdk-app-'));
  // No AWS_* variable at all: no credentials, no profile, no region from the environment.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('CDK_')));
  const result = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'bin', 'app.ts')], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_VALIDATION: 'false', AWS_EC2_METADATA_DISABLED: 'true' },
  });
  return { ...result, outdir };
}

test('synthesizes every stack with no credentials and no context lookup (cdk-nag applied, no findings)', () => {
  const run = runApp();
  expect(run.stderr).not.toMatch(/Error|refused/);
  expect(run.status).toBe(0);
  for (const name of Object.values(STACK_NAMES)) expect(existsSync(join(run.outdir, `${name}.template.json`))).toBe(true);
  const manifest = JSON.parse(readFileSync(join(run.outdir, 'manifest.json'), 'utf8'));
  expect(manifest.missing).toBeUndefined();
  // The CLI passes this role to CloudFormation with --role-arn; no bootstrap role or version check is baked in.
  for (const name of Object.values(STACK_NAMES)) {
    const template = JSON.parse(readFileSync(join(run.outdir, `${name}.template.json`), 'utf8'));
    expect(template.Parameters?.BootstrapVersion).toBeUndefined();
    expect(template.Rules).toBeUndefined();
    expect(manifest.artifacts[name].properties.assumeRoleArn).toBeUndefined();
  }
}, 60_000);

test('a refusal exits 1 with its code and a fixed message, no stack trace', () => {
  const emulated = anotherRelease('2026.12.04-local', 'ab'.repeat(48), 'emulated');
  const configPath = writeDeployment((c) => (c.releases[0]!.manifest = 'releases/2026.12.04-local.json'), { manifests: [emulated] });
  const run = runApp({ deployConfig: configPath });
  expect(run.status).toBe(1);
  expect(run.stderr).toMatch(/^cdk app refused: EMULATED_RELEASE_OUTSIDE_LOCAL_MODE: /);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}, 60_000);
