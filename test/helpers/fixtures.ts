// Loads the test vectors copied into test/fixtures/ (provenance: test/fixtures/README.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex } from '../../protocol/bytes';

export const FIXTURES = join(__dirname, '..', 'fixtures');

export function loadJson<T = any>(relativePath: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, relativePath), 'utf8')) as T;
}

export const hex = fromHex;

/** Asserts that `fn` rejects or throws an error of `errorClass` with `code`. */
export async function expectCode(
  fn: () => unknown,
  errorClass: abstract new (...args: any[]) => Error,
  code: string,
): Promise<void> {
  let thrown: unknown;
  try {
    await fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(errorClass);
  expect((thrown as { code?: string }).code).toBe(code);
}

/** A copy of `bytes` with bit `bit` of byte `index` flipped. */
export function flipped(bytes: Uint8Array, index: number, bit = 0): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[index] = copy[index]! ^ (1 << bit);
  return copy;
}
