// docs/client-sdk.md's example: type-checked against the SDK and run against the local path.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { transformSync } from 'esbuild';
import * as sdk from '../../client';
import { SAMPLE_CHAT } from '../helpers/enclave';
import { clientConfig, usePrivatePath } from '../helpers/private-path';
import { SDK_COMPILER_OPTIONS } from '../../scripts/build-client';

jest.setTimeout(90_000);
const ROOT = join(__dirname, '..', '..');
const DOC = readFileSync(join(ROOT, 'docs', 'client-sdk.md'), 'utf8');
const EXAMPLE = /## Ten lines\n\n```ts\n([\s\S]*?)```/.exec(DOC)![1]!;
const world = usePrivatePath();

test('the example is at most ten lines of code', () => {
  expect(EXAMPLE.trim().split('\n').filter((l) => l.trim() !== '').length).toBeLessThanOrEqual(10);
});

test('the example type-checks against the SDK under strict settings', () => {
  const file = join(ROOT, 'docs-example.ts');
  const options: ts.CompilerOptions = {
    ...SDK_COMPILER_OPTIONS,
    noEmit: true,
    baseUrl: ROOT,
    paths: { '@private-processing/client': ['client/index.ts'] },
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version) => (name === file ? ts.createSourceFile(name, EXAMPLE, version) : getSourceFile(name, version));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  expect(diagnostics).toEqual([]);
});

test('the example runs against the local stack and returns a summary', async () => {
  const path = world();
  const { code } = transformSync(EXAMPLE, { loader: 'ts', format: 'cjs' });
  const module = { exports: {} as Record<string, unknown> };
  new Function('require', 'module', 'exports', code)((id: string) => (id === '@private-processing/client' ? sdk : require(id)), module, module.exports);
  const run = module.exports.summarizeWithPrivateProcessing as (c: sdk.PrivateProcessingConfig, chat: sdk.ChatInput, wait: () => Promise<void>) => Promise<string>;
  const tokensIssued = () => path.recorded.filter((r) => r.component === 'issuer' && r.response.status === 200).length;
  const before = tokensIssued();
  const summary = await run(
    clientConfig(path, { wallet: { batchSize: 2, intervalMs: 3_600_000, jitterMs: 5, capacity: 4 } }, 'dana'),
    { id: 'chat-docs', ...SAMPLE_CHAT },
    async () => {
      for (let i = 0; i < 400 && tokensIssued() < before + 2; i++) await new Promise((r) => setTimeout(r, 25));
    },
  );
  expect(summary).toMatch(/picnic/i);
});
