// The published package's shape: exports map targets exist, typed entry, production
// build without local mode, and dependencies that are exactly runtime ones, pinned.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { generateNoteKey } from '../../protocol';
import { buildClientPackage, type BuiltPackage } from '../../scripts/build-client';

jest.setTimeout(120_000);
const ROOT = join(__dirname, '..', '..');
let built: BuiltPackage;
beforeAll(() => {
  built = buildClientPackage(join(ROOT, 'dist', `test-client-${process.pid}`));
});
afterAll(() => {
  rmSync(built.outDir, { recursive: true, force: true });
});

test('every exports target exists, with types first', () => {
  const entry = built.packageJson.exports['.']!;
  expect(Object.keys(entry)[0]).toBe('types');
  for (const target of Object.values(entry)) expect(existsSync(join(built.outDir, target))).toBe(true);
  const types = readFileSync(join(built.outDir, entry.types!), 'utf8');
  for (const name of ['PrivateProcessingClient', 'TamperAlert', 'NotOptedIn', 'ChatPrivate', 'Unavailable']) expect(types).toContain(name);
});

test('the CommonJS bundle exports the public surface, and local mode is compiled out', () => {
  const pkg = require(join(built.outDir, 'index.cjs')) as typeof import('../../client');
  expect(Object.keys(pkg).sort()).toEqual(['ChatPrivate', 'ClientError', 'DEFAULT_WALLET_SCHEDULE', 'NotOptedIn', 'PrivateProcessingClient', 'TamperAlert', 'Unavailable', 'VERIFICATION_STEPS', 'localModeAvailable']);
  expect(pkg.localModeAvailable()).toBe(false);
  const config = {
    relayUrls: ['https://relay.example'],
    issuerUrl: 'https://issuer.example/v1/token-request',
    issuerName: 'issuer.example',
    originName: 'gateway.example',
    log: { origin: 'log.example', logKey: generateNoteKey('log.example').verifierKey, witnessKeys: [], quorum: 1, publicationDelayMs: 0 },
    accountCredential: async () => 'jwt',
  };
  expect(() => new pkg.PrivateProcessingClient(config)).not.toThrow();
  expect(() => new pkg.PrivateProcessingClient({ ...config, local: { attestationRootPem: 'x' } })).toThrow('local mode is not available in a production build');
  const source = readFileSync(join(built.outDir, 'index.cjs'), 'utf8');
  expect(source).toContain('local mode is not available in a production build');
  expect(source).not.toMatch(/__PP_BUILD__/);
});

test('dependencies are runtime dependencies of the project at their pinned versions', () => {
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const deps = built.packageJson.dependencies;
  expect(deps['@cloudflare/privacypass-ts']).toBe('0.8.1');
  expect(deps.hpke).toBe(root.dependencies.hpke);
  for (const [name, version] of Object.entries(deps)) {
    expect(root.dependencies[name]).toBe(version);
    expect(root.devDependencies[name]).toBeUndefined();
  }
  expect(deps['@aws-sdk/client-kms']).toBeUndefined();
  expect(deps['@aws-sdk/client-dynamodb']).toBeUndefined();
});

test('the package installs `ppx` as a command: production trust only, --local refused, exit codes as documented', () => {
  expect(built.packageJson.bin).toEqual({ ppx: './ppx.cjs' });
  const bin = join(built.outDir, 'ppx.cjs');
  expect(statSync(bin).mode & 0o111).not.toBe(0);
  expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  const env = { PATH: process.env.PATH, HOME: process.env.HOME };
  const usage = spawnSync(bin, ['help'], { encoding: 'utf8', env, cwd: built.outDir });
  expect([usage.status, usage.stderr.trim()]).toEqual([1, 'ppx: USAGE usage: ppx <summarize|compose|verify|audit|witness> [--local] [--json] …']);
  const local = spawnSync(bin, ['verify', '--local'], { encoding: 'utf8', env, cwd: built.outDir });
  expect([local.status, local.stderr.trim()]).toEqual([1, 'ppx: USAGE --local is not available in this build (it would trust the local attestation emulator)']);
  const unpinned = spawnSync(bin, ['audit'], { encoding: 'utf8', env, cwd: built.outDir });
  expect([unpinned.status, unpinned.stderr.trim()]).toEqual([1, 'ppx: USAGE PPX_CONFIG is not set (the pinned configuration), or use --local']);
});
