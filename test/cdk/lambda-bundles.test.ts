// The one test that bundles the Lambdas for real, through NodejsFunction as `cdk synth`
// does (local esbuild, no Docker): each bundle is ESM with the createRequire banner, holds
// no @cloud-copilot/iam-simulate, and imports without throwing in a fresh Node process given
// the environment its stack gives it (tokens resolved to plausible values), which is what
// Lambda does at a cold start: the entry reads and checks its settings at load.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../../bin/build-app';
import { BUNDLE_EXTERNALS, ESM_REQUIRE_BANNER } from '../../lib/lambda-bundle';
import { EXPORT_NAMES, FUNCTION_NAMES, RELAY_FUNCTION_NAME, STACK_NAMES } from '../../lib/names';
import { EXAMPLE_CONFIG } from '../helpers/cdk';

const { account, region } = EXAMPLE_CONFIG;
const outdir = mkdtempSync(join(tmpdir(), 'pp-cdk-bundles-'));

interface Bundle {
  readonly name: string;
  readonly path: string;
  readonly environment: Record<string, string>;
}
let bundles: Bundle[];

/** A plausible value for each token in a function's environment (as CloudFormation would resolve it). */
function resolveToken(value: unknown): string {
  if (typeof value === 'string') return value;
  const json = JSON.stringify(value);
  if (json.includes(EXPORT_NAMES.logSigningKeySecretArn)) return `arn:aws:secretsmanager:${region}:${account}:secret:pp/log-signing-key-AbCdEf`;
  if (json.includes('ApiEndpoint')) return `https://a1b2c3d4e5.execute-api.${region}.amazonaws.com/v1/entries`;
  if (/^\{"Ref":"IssuerKeys/.test(json)) return `arn:aws:secretsmanager:${region}:${account}:secret:pp/issuer-keys-AbCdEf`;
  throw new Error(`no stand-in for ${json}`);
}

beforeAll(() => {
  process.env.CDK_VALIDATION = 'false';
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [STACK_NAMES.gateway, STACK_NAMES.relay] } });
  const built = buildApp(app, { nag: false });
  const assembly = app.synth();
  bundles = [built.gateway, built.relay].flatMap((stack) => {
    const artifact = assembly.getStackArtifact(stack.artifactId);
    const assets = JSON.parse(readFileSync(join(outdir, `${stack.stackName}.assets.json`), 'utf8')).files as Record<string, { source: { path: string } }>;
    return Object.values(artifact.template.Resources as Record<string, any>)
      .filter((r) => r.Type === 'AWS::Lambda::Function')
      .map((r) => {
        const hash = r.Properties.Code.S3Key.replace(/\.zip$/, '');
        const environment = Object.fromEntries(Object.entries(r.Properties.Environment.Variables as Record<string, unknown>).map(([k, v]) => [k, resolveToken(v)]));
        return { name: r.Properties.FunctionName as string, path: join(outdir, assets[hash]!.source.path, 'index.mjs'), environment };
      });
  });
}, 120_000);

test('every function is bundled: one ESM file per function, starting with the createRequire banner', () => {
  expect(bundles.map((b) => b.name).sort()).toEqual([...Object.values(FUNCTION_NAMES), RELAY_FUNCTION_NAME].sort());
  for (const b of bundles) {
    expect([b.name, existsSync(b.path)]).toEqual([b.name, true]);
    expect(readFileSync(b.path, 'utf8').startsWith(`${ESM_REQUIRE_BANNER}\n`)).toBe(true);
  }
});

test('no bundle holds @cloud-copilot/iam-simulate (the local KMS emulator\'s), nor imports it', () => {
  for (const b of bundles) {
    const code = readFileSync(b.path, 'utf8');
    for (const external of BUNDLE_EXTERNALS.filter((e) => e.startsWith('@cloud-copilot'))) expect([b.name, code.includes(external)]).toEqual([b.name, false]);
    expect([b.name, /iam-simulate|simulationMode/.test(code)]).toEqual([b.name, false]);
  }
});

test('each bundle loads: import() of the handler module succeeds in a fresh Node process with the environment its stack gives it', () => {
  for (const b of bundles) {
    const env = { PATH: process.env.PATH ?? '', AWS_REGION: region, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...b.environment };
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(b.path)}); if (typeof m.handler !== 'function') process.exit(3); console.log('ok');`], {
      encoding: 'utf8',
      env,
      timeout: 60_000,
    });
    expect([b.name, run.status, run.stderr]).toEqual([b.name, 0, '']);
    expect(run.stdout.trim()).toBe('ok');
  }
}, 120_000);

test('a bundle without its settings fails at load (the entries fail closed)', () => {
  const gateway = bundles.find((b) => b.name === FUNCTION_NAMES.gateway)!;
  const env = { PATH: process.env.PATH ?? '', AWS_REGION: region, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...gateway.environment, PP_WORKER_GROUP: '' };
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(gateway.path)});`], { encoding: 'utf8', env, timeout: 60_000 });
  expect(run.status).not.toBe(0);
  expect(run.stderr).toContain('PP_WORKER_GROUP is not set');
});
