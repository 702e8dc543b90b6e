// `npm start` on this machine: the whole local stack, the scripted session, the tamper
// demonstration and who saw what; exit status 0.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

test('npm start runs the local stack end to end and exits 0', () => {
  const root = join(__dirname, '..', '..');
  const run = spawnSync(process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(root, 'local', 'start.ts')], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const lines = run.stdout;
  for (const expected of [
    /enclave: its own process \(pid \d+\), booted: PCR0 checked/,
    /release 2026\.11\.27-local \(emulated\): PCR0 [0-9a-f]{24}…, published by the release pipeline's publish step through the log writer, as the publisher role/,
    /before opt-in: summarize refused \(NOT_OPTED_IN\), 0 network calls/,
    /tokens: 4 fetched under issuer key [0-9a-f]{16}/,
    /summary: .*picnic/,
    /Advanced Chat Privacy: refused on the device \(CHAT_PRIVATE\)/,
    /enclave from modified code .*: KMS refused DeriveSharedSecret \(ACCESS_DENIED\)/,
    /bundle with an unlogged extra key: TamperAlert at step "bundle", code EXTRA_KEY; requests sent: 0/,
    /bundle for an unreleased measurement: TamperAlert at step "attestation", code PCR_NOT_RELEASED; requests sent: 0/,
    /relay: {3}the client's address/,
    /publication delay: 0 in this local configuration/,
    /All checks passed\./,
  ]) {
    expect(lines).toMatch(expected);
  }
}, 150_000);
