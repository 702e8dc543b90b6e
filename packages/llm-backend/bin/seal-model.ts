// seal-model: the model owner's tool. Seals a GGUF under the release's model data key
// (protocol/formats/model.ts: AES-256-GCM, version byte, IV, tag) and prints the model's
// SHA-256, which the release compiles into the enclave bundle.
//
//   npm run seal-model -- new-data-key <key-file>
//       32 random bytes (node:crypto) into a new 0600 file.
//   npm run seal-model -- seal <model.gguf> --data-key-file <key-file> [--out <sealed-file>]
//       the key file holds the 32-byte key raw, as 64 hex digits or as base64 (the
//       `Plaintext` of `aws kms generate-data-key`); writes <model.gguf>.sealed by default.
//
// Then wrap the data key with the release's model key (the owner may only Encrypt):
//   aws kms encrypt --key-id <model key ARN> --plaintext fileb://<key-file> \
//     --query CiphertextBlob --output text | base64 -d > model-data-key.enc
// and destroy the key file. Prints JSON only: {"modelSha256", "sealed", "bytes"}.

import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { sealModel } from '../../../protocol/formats/model';
import { assertGguf } from '../src/model-file';

export class UsageError extends Error {}

export function readDataKey(file: string): Uint8Array {
  const raw = readFileSync(file);
  if (raw.length === 32) return new Uint8Array(raw);
  const text = raw.toString('utf8').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) return new Uint8Array(Buffer.from(text, 'base64'));
  throw new UsageError('the data key file must hold 32 bytes: raw, 64 hex digits or base64');
}

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

export function main(argv: string[]): string {
  const [command, ...rest] = argv;
  if (command === 'new-data-key' && rest[0]) {
    const fd = openSync(rest[0], 'wx', 0o600);
    try {
      writeSync(fd, randomBytes(32));
    } finally {
      closeSync(fd);
    }
    return JSON.stringify({ dataKeyFile: rest[0] });
  }
  if (command === 'seal' && rest[0] && !rest[0].startsWith('--')) {
    const keyFile = arg(rest, 'data-key-file');
    if (!keyFile) throw new UsageError('--data-key-file is required');
    const out = arg(rest, 'out') ?? `${rest[0]}.sealed`;
    const model = new Uint8Array(readFileSync(rest[0]));
    assertGguf(model);
    const dataKey = readDataKey(keyFile);
    try {
      const sealed = sealModel(dataKey, model);
      writeFileSync(out, sealed, { mode: 0o644, flag: 'wx' });
      return JSON.stringify({ modelSha256: createHash('sha256').update(model).digest('hex'), sealed: out, bytes: sealed.length });
    } finally {
      dataKey.fill(0);
    }
  }
  throw new UsageError('usage: seal-model new-data-key <key-file> | seal-model seal <model.gguf> --data-key-file <key-file> [--out <file>]');
}

if (require.main === module) {
  try {
    process.stdout.write(`${main(process.argv.slice(2))}\n`);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? (err as { code?: string }).code ?? err.message : 'failed'}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  }
}
