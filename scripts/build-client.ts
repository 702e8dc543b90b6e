// `npm run build:client`: the client SDK as a package in dist/client: ES module and
// CommonJS bundles of client/ and protocol/ (npm dependencies left external), built with
// __PP_BUILD__ = "production" so local mode (trusting the attestation emulator) is
// compiled out; type declarations; and a package.json with an `exports` map.

import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import ts from 'typescript';

const ROOT = join(__dirname, '..');

/** What an app compiling against the SDK is assumed to use (the project's own settings). */
export const SDK_COMPILER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  skipLibCheck: true,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2024.d.ts'],
  module: ts.ModuleKind.Preserve,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  types: ['node'],
  esModuleInterop: true,
  resolveJsonModule: true,
};

export interface BuiltPackage {
  readonly outDir: string;
  readonly packageJson: { name: string; version: string; exports: Record<string, Record<string, string>>; bin: Record<string, string>; dependencies: Record<string, string> };
}

export function buildClientPackage(outDir = join(ROOT, 'dist', 'client')): BuiltPackage {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; license: string; engines: Record<string, string>; dependencies: Record<string, string> };

  const used = new Set<string>();
  const outputs = [
    ['esm', 'index.mjs', join(ROOT, 'client', 'index.ts')],
    ['cjs', 'index.cjs', join(ROOT, 'client', 'index.ts')],
    // The `ppx` command (package `bin`): production trust only, `--local` compiled out.
    ['cjs', 'ppx.cjs', join(ROOT, 'client', 'cli', 'ppx.ts')],
  ] as const;
  for (const [format, file, entry] of outputs) {
    const result = buildSync({
      entryPoints: [entry],
      outfile: join(outDir, file),
      bundle: true,
      platform: 'node',
      target: 'node20',
      format,
      packages: 'external',
      define: { __PP_BUILD__: '"production"' },
      ...(file === 'ppx.cjs' ? { banner: { js: '#!/usr/bin/env node' } } : {}),
      metafile: true,
      logLevel: 'silent',
    });
    if (file === 'ppx.cjs') chmodSync(join(outDir, file), 0o755);
    for (const output of Object.values(result.metafile!.outputs)) {
      for (const imported of output.imports) if (imported.external && !imported.path.startsWith('node:')) used.add(imported.path.split('/').slice(0, imported.path.startsWith('@') ? 2 : 1).join('/'));
    }
  }

  const options: ts.CompilerOptions = { ...SDK_COMPILER_OPTIONS, declaration: true, emitDeclarationOnly: true, outDir: join(outDir, 'types'), rootDir: ROOT };
  const emitted = ts.createProgram([join(ROOT, 'client', 'index.ts')], options).emit();
  const errors = emitted.diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) throw new Error(`declarations: ${errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('; ')}`);

  const dependencies: Record<string, string> = {};
  for (const name of [...used].sort()) {
    const version = root.dependencies[name];
    if (!version) throw new Error(`the client bundle imports ${name}, which is not a runtime dependency`);
    dependencies[name] = version;
  }
  const packageJson = {
    name: '@private-processing/client',
    version: root.version,
    description: 'Private Processing client SDK: verified, anonymous, end-to-end encrypted cloud AI features for a messenger.',
    license: root.license,
    engines: root.engines,
    main: './index.cjs',
    module: './index.mjs',
    types: './types/client/index.d.ts',
    exports: { '.': { types: './types/client/index.d.ts', import: './index.mjs', require: './index.cjs' } },
    bin: { ppx: './ppx.cjs' },
    sideEffects: false,
    dependencies,
  };
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
  return { outDir, packageJson };
}

if (require.main === module) {
  const { outDir, packageJson } = buildClientPackage();
  process.stdout.write(`${packageJson.name}@${packageJson.version} → ${outDir}\n`);
}
