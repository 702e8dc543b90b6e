// The local stack's enclave "image": the enclave app's and protocol's source files,
// measured with the shared `measure`. Changing any of them changes the emulated PCR0,
// so KMS (the key policy) and clients refuse the changed enclave. The release pipeline
// measures the esbuild bundle instead.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { measure, type EnclaveBundle, type Measurement } from '../protocol';

export const LOCAL_PLATFORM = 'emulated-nitro/node-20/local';
const ROOT = join(__dirname, '..');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : name.endsWith('.ts') || name.endsWith('.c') ? [path] : [];
  });
}

export function localEnclaveBundle(root = ROOT): EnclaveBundle {
  const all = ['enclave-app', 'protocol'].flatMap((d) => files(join(root, d)));
  return { platform: LOCAL_PLATFORM, files: new Map(all.map((p) => [relative(root, p).split('\\').join('/'), new Uint8Array(readFileSync(p))])) };
}

export function measureLocalEnclave(root = ROOT): Measurement {
  return measure(localEnclaveBundle(root));
}
