// Dependencies point one way (DESIGN.md §3): protocol/ depends on nothing of ours;
// runtime code (client/, lambdas/, enclave-app/) imports only protocol/ and itself;
// infrastructure never imports runtime code; nothing imports test/ or bench/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = join(__dirname, '..');

function sources(folder: string): string[] {
  const dir = join(ROOT, folder);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const path = join(dir, e);
    if (statSync(path).isDirectory()) return sources(relative(ROOT, path));
    return path.endsWith('.ts') ? [path] : [];
  });
}

function ourImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|require\(|import\()\s*'(\.[^']*)'/g)].map((m) => m[1]!);
  return specs.map((s) => relative(ROOT, resolve(dirname(file), s)).split('/')[0]!);
}

const ALLOWED: Record<string, string[]> = {
  protocol: ['protocol'],
  client: ['client', 'protocol'],
  lambdas: ['lambdas', 'protocol'],
  'enclave-app': ['enclave-app', 'protocol'],
  lib: ['lib', 'protocol'],
  bin: ['bin', 'lib', 'protocol'],
};

test.each(Object.entries(ALLOWED))('%s/ imports only %j', (folder, allowed) => {
  const offending: string[] = [];
  for (const file of sources(folder)) {
    for (const target of ourImports(file)) if (!allowed.includes(target)) offending.push(`${relative(ROOT, file)} → ${target}/`);
  }
  expect(offending).toEqual([]);
});

test('nothing outside test/ imports test/ or bench/', () => {
  const offending: string[] = [];
  for (const folder of ['protocol', 'client', 'lambdas', 'enclave-app', 'lib', 'bin', 'local', 'scripts']) {
    for (const file of sources(folder)) {
      for (const target of ourImports(file)) if (target === 'test' || target === 'bench') offending.push(relative(ROOT, file));
    }
  }
  expect(offending).toEqual([]);
});

// The LLM backend is an opt-in package with its own dependencies (packages/llm-backend):
// the root install, type-check and test run never pull it in.
describe('packages/llm-backend stays out of the root project', () => {
  test('it exists with its own package.json and lockfile, and depends on node-llama-cpp there', () => {
    const own = JSON.parse(readFileSync(join(ROOT, 'packages/llm-backend/package.json'), 'utf8'));
    expect(own.dependencies['node-llama-cpp']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(JSON.parse(readFileSync(join(ROOT, 'packages/llm-backend/package-lock.json'), 'utf8')).packages['node_modules/node-llama-cpp']).toBeDefined();
  });

  test('the root package.json and lockfile do not mention node-llama-cpp', () => {
    expect(readFileSync(join(ROOT, 'package.json'), 'utf8')).not.toContain('node-llama-cpp');
    expect(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')).not.toContain('node-llama-cpp');
  });

  test('the root tsconfig and jest do not reach into packages/', () => {
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8'));
    expect(tsconfig.include.some((p: string) => p.startsWith('packages'))).toBe(false);
    const jest = require(join(ROOT, 'jest.config.js'));
    expect(jest.roots).toEqual(['<rootDir>/test']);
  });
});
