// From sealed bytes to a loaded model, in this order and no other:
//
//   1. decrypt (AES-256-GCM, protocol/formats/model.ts) and hash: openModel refuses
//      with HASH_MISMATCH unless SHA-256 of the plaintext is the compiled-in value;
//      bytes the enclave already opened are hashed again here (verifyModel);
//   2. only then the first parse: the GGUF magic and version (NOT_GGUF);
//   3. the plaintext goes to a file the loader can open (llama.cpp loads from a path):
//      an anonymous file (O_TMPFILE: no name in any directory, 0600, freed when its one
//      descriptor closes) on tmpfs (/dev/shm) when there is one, else a 0600 file in a
//      fresh 0700 directory, deleted with its directory right after the load;
//   4. the loader (node-llama-cpp, or a test's spy) reads it, without mmap, so nothing
//      keeps the file alive after step 3 ends.

import { closeSync, constants, existsSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { equalBytes, fromHex } from '../../../protocol/bytes';
import { ModelError, openModel } from '../../../protocol/formats/model';
import { LlmBackendError } from './errors';

const HEX64 = /^[0-9a-f]{64}$/;

function checkExpected(expectedSha256Hex: string): void {
  if (typeof expectedSha256Hex !== 'string' || !HEX64.test(expectedSha256Hex)) throw new LlmBackendError('BAD_EXPECTED_HASH');
}

/** Decrypts a sealed model and checks its hash (ModelError MALFORMED / DECRYPT_FAILED / HASH_MISMATCH). */
export function openSealedModel(dataKey: Uint8Array, sealed: Uint8Array, expectedSha256Hex: string): Uint8Array {
  checkExpected(expectedSha256Hex);
  return openModel(dataKey, sealed, expectedSha256Hex);
}

/** Refuses bytes whose SHA-256 is not the expected one (ModelError HASH_MISMATCH); reads nothing else of them. */
export function verifyModel(model: Uint8Array, expectedSha256Hex: string): void {
  checkExpected(expectedSha256Hex);
  const digest = new Uint8Array(createHash('sha256').update(model).digest());
  if (!equalBytes(digest, fromHex(expectedSha256Hex))) throw new ModelError('HASH_MISMATCH');
}

/** The first parse of a hash-checked model: GGUF magic and a version llama.cpp reads (2 or 3). */
export function assertGguf(model: Uint8Array): void {
  if (model.length < 24 || model[0] !== 0x47 || model[1] !== 0x47 || model[2] !== 0x55 || model[3] !== 0x46) throw new LlmBackendError('NOT_GGUF');
  const version = model[4]! | (model[5]! << 8) | (model[6]! << 16) | (model[7]! << 24);
  if (version !== 2 && version !== 3) throw new LlmBackendError('NOT_GGUF');
}

export type ModelFileStrategy = 'anonymous' | 'named';

export interface ModelFileOptions {
  /** Where the file lives: tmpfs by default (/dev/shm), else the OS temp directory. */
  readonly dir?: string;
  /** 'anonymous' (O_TMPFILE, Linux) by default, falling back to 'named' where unsupported. */
  readonly strategy?: ModelFileStrategy;
  /** Observes where the model was placed (tests; never the bytes). */
  readonly onPlaced?: (placed: { strategy: ModelFileStrategy; path: string }) => void;
}

export function defaultModelDir(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

// Linux x86-64/arm64: __O_TMPFILE | O_DIRECTORY. Node does not export O_TMPFILE.
const O_TMPFILE = 0o20000000 | (constants.O_DIRECTORY ?? 0o200000);

function writeAll(fd: number, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, Math.min(bytes.length - written, 64 * 1024 * 1024));
}

function openAnonymous(dir: string): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return openSync(dir, O_TMPFILE | constants.O_RDWR, 0o600);
  } catch {
    return undefined; // no O_TMPFILE on this filesystem or kernel: use a named file
  }
}

/**
 * Places `model` in a file only `use` sees, runs it, and removes the file however `use`
 * ends. `use` must not keep the file open or mapped past its promise.
 */
export async function withModelFile<T>(model: Uint8Array, use: (path: string) => Promise<T>, options: ModelFileOptions = {}): Promise<T> {
  const dir = options.dir ?? defaultModelDir();
  const fd = options.strategy === 'named' ? undefined : openAnonymous(dir);
  if (fd !== undefined) {
    try {
      try {
        writeAll(fd, model);
      } catch {
        throw new LlmBackendError('MODEL_FILE_FAILED');
      }
      const path = `/proc/self/fd/${fd}`;
      options.onPlaced?.({ strategy: 'anonymous', path });
      return await use(path);
    } finally {
      closeSync(fd);
    }
  }
  let folder: string;
  try {
    folder = mkdtempSync(join(dir, 'pp-model-')); // 0700
  } catch {
    throw new LlmBackendError('MODEL_FILE_FAILED');
  }
  const path = join(folder, 'model.gguf');
  try {
    try {
      const named = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
      try {
        writeAll(named, model);
      } finally {
        closeSync(named);
      }
    } catch {
      throw new LlmBackendError('MODEL_FILE_FAILED');
    }
    options.onPlaced?.({ strategy: 'named', path });
    return await use(path);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
