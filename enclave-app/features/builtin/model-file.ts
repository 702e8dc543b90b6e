// The model file as bytes, for the places that seal it or hash it (the local stack, the
// release script, tests and benchmarks). The enclave never reads it from disk: it
// receives it sealed from its parent and checks its hash before parsing.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const BUILTIN_MODEL_PATH = join(__dirname, 'model.json');

export function builtinModelBytes(): Uint8Array {
  return new Uint8Array(readFileSync(BUILTIN_MODEL_PATH));
}
