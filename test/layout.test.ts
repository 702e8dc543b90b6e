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
