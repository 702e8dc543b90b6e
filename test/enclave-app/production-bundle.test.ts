// The KMS endpoint override exists only in a local build (DESIGN.md §5): bundled as
// the release bundles it (__PP_BUILD__ = "production"), the enclave's KMS client
// contains no override code; bundled for local use, it does.
import { build } from 'esbuild';
import { join } from 'node:path';
import { LOCAL_ENDPOINT_MARKER } from '../../enclave-app/kms/local-endpoint';
import { kmsEndpoint } from '../../enclave-app/kms/endpoint';
import { KmsClientError } from '../../enclave-app/kms/errors';
import { expectCode } from '../helpers/fixtures';

const ENTRY = join(__dirname, '..', '..', 'enclave-app', 'kms', 'client.ts');

async function bundle(mode: 'production' | 'local'): Promise<string> {
  const out = await build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    packages: 'external',
    minifySyntax: true,
    define: { __PP_BUILD__: JSON.stringify(mode) },
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

test('the production bundle has no KMS endpoint override; the local bundle has it', async () => {
  const production = await bundle('production');
  const local = await bundle('local');
  expect(local).toContain(LOCAL_ENDPOINT_MARKER);
  expect(production).not.toContain(LOCAL_ENDPOINT_MARKER);
  expect(production).not.toContain('localKmsEndpoint');
  expect(production).not.toContain('127.0.0.1');
  // What remains is the fixed endpoint and the refusal.
  expect(production).toContain('amazonaws.com');
  expect(production).toContain('a production build has no KMS endpoint override');
}, 30_000);

test('the endpoint is kms.<region>.amazonaws.com; an override must be loopback http (local builds)', async () => {
  expect(kmsEndpoint('eu-west-1')).toBe('https://kms.eu-west-1.amazonaws.com');
  expect(kmsEndpoint('eu-west-1', 'http://127.0.0.1:4566')).toBe('http://127.0.0.1:4566');
  await expectCode(() => kmsEndpoint('eu-west-1', 'https://kms.evil.example'), KmsClientError, 'ENDPOINT_FORBIDDEN');
  await expectCode(() => kmsEndpoint('eu-west-1', 'http://10.0.0.1:80'), KmsClientError, 'ENDPOINT_FORBIDDEN');
  await expectCode(() => kmsEndpoint('eu-west-1/../x'), KmsClientError, 'ENDPOINT_FORBIDDEN');
});
