// `npm start -- --serve`: the stack stays up on the given ports, writes its endpoints and
// local trust anchor, prints an account credential, and a client configured from those
// alone gets a verified summary. SIGTERM stops it with status 0.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrivateProcessingClient } from '../../client';
import { EXIT, ppx } from '../../client/cli/ppx';
import { SAMPLE_CHAT } from '../helpers/enclave';
import { waitForTokens } from '../helpers/private-path';

jest.setTimeout(120_000);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

test('serve mode: endpoints.json, a credential, and a working stack until SIGTERM', async () => {
  const root = join(__dirname, '..', '..');
  const dir = mkdtempSync(join(tmpdir(), 'pp-serve-'));
  const ports = { PP_RELAY_PORT: await freePort(), PP_GATEWAY_PORT: await freePort(), PP_ISSUER_PORT: await freePort(), PP_LOG_PORT: await freePort(), PP_LOG_WRITER_PORT: await freePort() };
  const child = spawn(process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(root, 'local', 'start.ts'), '--serve'], {
    cwd: root,
    env: { ...process.env, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), PP_LOCAL_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    for (let i = 0; i < 600 && !stdout.includes('serving; Ctrl-C stops'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(stdout).toContain('LOCAL TRUST');
    expect(stdout).toContain(`relay http://127.0.0.1:${ports.PP_RELAY_PORT}`);
    const credential = /account credential for the local issuer \(valid 1 hour\): (\S+)/.exec(stdout)![1]!;
    const endpointsPath = join(dir, 'endpoints.json');
    expect(statSync(endpointsPath).mode & 0o777).toBe(0o600);
    const endpoints = JSON.parse(readFileSync(endpointsPath, 'utf8'));
    expect(endpoints.relayUrls).toEqual([`http://127.0.0.1:${ports.PP_RELAY_PORT}`]);

    const client = new PrivateProcessingClient({
      relayUrls: endpoints.relayUrls,
      issuerUrl: endpoints.issuerUrl,
      issuerName: endpoints.issuerName,
      originName: endpoints.originName,
      log: endpoints.log,
      accountCredential: async () => credential,
      local: { attestationRootPem: endpoints.attestationRootPem },
      wallet: { batchSize: 2, intervalMs: 3_600_000, jitterMs: 5, capacity: 2 },
    });
    client.optIn();
    await waitForTokens(client, 2);
    const summary = await client.summarize({ id: 'serve', ...SAMPLE_CHAT });
    expect(summary.summary).toMatch(/picnic/i);
    client.optOut();

    // ppx against the served stack, configured by endpoints.json and the printed credential alone.
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env: { PP_LOCAL_DIR: dir, PPX_ACCOUNT_TOKEN: credential }, cwd: root };
    expect(await ppx(['verify', '--local'], io)).toBe(EXIT.OK);
    expect(out.join('\n')).toMatch(/^binding +user_data binds key config/m);
    const chatPath = join(dir, 'chat.json');
    writeFileSync(chatPath, JSON.stringify({ id: 'serve-ppx', ...SAMPLE_CHAT }));
    expect(await ppx(['summarize', chatPath, '--local', '--json'], io)).toBe(EXIT.OK);
    expect(JSON.parse(out.at(-1)!).summary).toMatch(/picnic/i);
    expect(err.every((l) => l.includes('LOCAL TRUST'))).toBe(true);
    expect(statSync(join(dir, 'operator.json')).mode & 0o777).toBe(0o600);

    // A release built by `npm run release` and published into the served stack; the log shows it.
    const releaseDir = mkdtempSync(join(tmpdir(), 'pp-release-'));
    const release = (args: string[]) => spawnSync(process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(root, 'scripts', 'release.ts'), ...args], { cwd: root, env: { ...process.env, PP_LOCAL_DIR: dir }, encoding: 'utf8' });
    const built = release(['build', '--release-id', '2026.11.27-published', '--region', 'eu-west-1', '--out', releaseDir]);
    expect([built.status, built.stderr]).toEqual([0, '']);
    const manifest = join(releaseDir, '2026.11.27-published', 'manifest.json');
    const published = release(['publish', '--manifest', manifest, '--local']);
    expect(published.status).toBe(0);
    expect(published.stderr).toContain('LOCAL');
    expect(published.stdout).toMatch(/^published emulated release 2026\.11\.27-published: log index 3; session key arn:aws:kms:eu-west-1:111122223333:key\/[0-9a-f-]{36}: log index 4$/m);
    out.length = 0;
    err.length = 0;
    expect([await ppx(['audit', '--local', '--json'], io), err.filter((l) => !l.includes('LOCAL TRUST'))]).toEqual([EXIT.OK, []]);
    const audit = JSON.parse(out.at(-1)!);
    expect([audit.size, audit.problems, audit.counts.release, audit.counts.session_key]).toEqual([5, [], 2, 2]);
    expect(audit.releases[1]).toEqual({ index: 3, releaseId: '2026.11.27-published', kind: 'emulated', pcr0: JSON.parse(readFileSync(manifest, 'utf8')).measurements.pcr0 });
    // Publishing the same release again is refused by the log writer, with its code.
    const again = release(['publish', '--manifest', manifest, '--local']);
    expect([again.status, again.stderr]).toEqual([1, expect.stringMatching(/^release: the log writer refused the entry: RELEASE_EXISTS$/m)]);
    // Revoking it is one more entry; the audit still finds every rule kept.
    const revoked = release(['revoke', '--release', '2026.11.27-published', '--reason', 'test revocation', '--local']);
    expect([revoked.status, revoked.stdout]).toEqual([0, expect.stringMatching(/^revoked release 2026\.11\.27-published from .*: log index 5$/m)]);
    out.length = 0;
    expect(await ppx(['audit', '--local', '--json'], io)).toBe(EXIT.OK);
    const after = JSON.parse(out.at(-1)!);
    expect([after.size, after.counts.revocation, after.problems, after.live.releases]).toEqual([6, 1, [], ['2026.11.27-local']]);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
});
