// `npm run smoke:aws` is opt-in and needs a sandbox account: without credentials it must
// stop at its first step, say what it needs, and create nothing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMOKE_EXIT, SMOKE_STEPS, smoke } from '../../scripts/smoke-aws';

const ROOT = join(__dirname, '..', '..');

/** An environment with no way to find AWS credentials: no variables, an empty home, no instance metadata. */
function noCredentials(): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), 'pp-nocreds-'));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: join(home, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials') };
  return env;
}

test('without credentials it stops at step 1, says what it needs, and exits 2', () => {
  const run = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'scripts', 'smoke-aws.ts'), '--account', '123456789012', '--region', 'eu-west-1'], { cwd: ROOT, env: noCredentials(), encoding: 'utf8', timeout: 60_000 });
  expect(run.status).toBe(SMOKE_EXIT.NO_CREDENTIALS);
  expect(run.stdout).toBe('');
  expect(run.stderr).toContain('smoke:aws: no AWS credentials found');
  expect(run.stderr).toContain('administrator of the SANDBOX account 123456789012 in eu-west-1');
  expect(run.stderr).toContain('stopped at step 1 (who); nothing was created');
}, 90_000);

test('--plan lists the steps; a missing or malformed account or region is a usage error', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
  expect(await smoke(['--plan'], io)).toBe(SMOKE_EXIT.OK);
  expect(out).toHaveLength(SMOKE_STEPS.length);
  expect(out[0]).toMatch(/^1\. who +sts:GetCallerIdentity/);
  expect(out.at(-1)).toMatch(/^8\. teardown /);
  for (const args of [[], ['--account', '1234', '--region', 'eu-west-1'], ['--account', '123456789012', '--region', 'Europe']]) {
    err.length = 0;
    expect(await smoke(args, io)).toBe(SMOKE_EXIT.USAGE);
    expect(err[0]).toMatch(/^smoke:aws: usage: /);
  }
});
