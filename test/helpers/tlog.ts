// A transparency log world for tests: a log writer, two witnesses, and the files
// it publishes, plus a way to fabricate any log (for the ways a log can lie).
import { generateKeyPairSync } from 'node:crypto';
import {
  CHECKPOINT_PATH,
  EMPTY_ROOT,
  MerkleTree,
  ROLE_NAMES,
  TILE_WIDTH,
  attestedKeyPolicy,
  checkpointHistoryPath,
  encodeEntryBundle,
  entryBundlePath,
  formatCheckpoint,
  formatSignatureLine,
  keyPolicyJson,
  logEntryLeafHash,
  parseCosignerSignerKey,
  parseSignerKey,
  sessionKeyConfigBytes,
  signNote,
  tokenKeyIdOf,
  type LogEntry,
} from '../../protocol';
import { MemoryStorage } from '../../lambdas/log-writer/storage';
import { SPKI } from './formats';

export { ACCOUNT, Clock, LOG_KEY, logWorld, ORIGIN, PCR0, REGION, releaseEntry, T0, WITNESS_KEYS, witnessFor } from '../../local/worlds/tlog';
import { ACCOUNT, LOG_KEY, ORIGIN, PCR0, REGION, T0, WITNESS_KEYS, type Clock } from '../../local/worlds/tlog';
import type { LogSyncConfig } from '../../client/log/sync';

/** A client's view of this log: pinned log key, the first two witnesses with quorum 2, no publication delay. */
export function syncConfig(storage: MemoryStorage, clock: Clock, extra: Partial<LogSyncConfig> = {}): LogSyncConfig {
  return {
    origin: ORIGIN,
    logKey: LOG_KEY.verifierKey,
    witnessKeys: WITNESS_KEYS.slice(0, 2).map((k) => k.verifierKey),
    quorum: 2,
    publicationDelayMs: 0,
    fetch: (path) => storage.read(path),
    now: clock.now,
    ...extra,
  };
}

let keyCounter = 0;
export function keyArn(): string {
  keyCounter++;
  return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${String(keyCounter).padStart(8, '0')}-0000-4000-8000-000000000000`;
}


export function describeKey(arn: string, change: Record<string, unknown> = {}): string {
  return JSON.stringify({
    KeyMetadata: {
      AWSAccountId: ACCOUNT,
      KeyId: arn.split('/')[1],
      Arn: arn,
      Enabled: true,
      KeyState: 'Enabled',
      KeyManager: 'CUSTOMER',
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'KEY_AGREEMENT',
      Origin: 'AWS_KMS',
      MultiRegion: false,
      ...change,
    },
  });
}

export function sessionKeyEntry(releaseId: string, arn = keyArn(), window = { notBefore: T0, notAfter: T0 + 7 * 86400 }, pcr0 = PCR0): LogEntry & { type: 'session_key' } {
  return {
    type: 'session_key',
    releaseId,
    kmsKeyArn: arn,
    keyConfig: sessionKeyConfigBytes(SPKI),
    keyPolicy: keyPolicyJson(attestedKeyPolicy({ pcr0, account: ACCOUNT, region: REGION, roles: ROLE_NAMES })),
    describeKey: describeKey(arn),
    ...window,
  };
}

export function tokenKey(modulusLength = 2048): Uint8Array {
  // @types/node 20 lacks the hashAlgorithm names of RSA-PSS key generation that Node accepts.
  const options = { modulusLength, hashAlgorithm: 'sha384', mgf1HashAlgorithm: 'sha384', saltLength: 48 } as unknown as import('node:crypto').RSAPSSKeyPairOptions<'der', 'der'>;
  const { publicKey } = generateKeyPairSync('rsa-pss', { ...options, publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } });
  return new Uint8Array(publicKey);
}

export function issuerKeyEntry(notBefore = T0, key = tokenKey()): LogEntry & { type: 'issuer_key' } {
  return { type: 'issuer_key', tokenKey: key, tokenKeyId: tokenKeyIdOf(key), notBefore, notAfter: notBefore + 30 * 86400 };
}

/**
 * Publishes a log of any raw entries into `storage`: bundles, a checkpoint signed with
 * the real log key and cosigned by the given witnesses at `cosignedAt`, and its history.
 * The log's own key signing whatever it likes is exactly what a lying log can do.
 */
export async function fabricateLog(raw: Uint8Array[], options: { cosigners?: number[]; cosignedAt: number; storage?: MemoryStorage }) {
  const storage = options.storage ?? new MemoryStorage();
  const tree = MerkleTree.fromLeafHashes(raw.map((r) => logEntryLeafHash(r)));
  for (let b = 0; b * TILE_WIDTH < raw.length; b++) {
    const chunk = raw.slice(b * TILE_WIDTH, (b + 1) * TILE_WIDTH);
    await storage.write(entryBundlePath(b, chunk.length), encodeEntryBundle(chunk));
  }
  const text = formatCheckpoint({ origin: ORIGIN, size: raw.length, rootHash: raw.length ? tree.root() : EMPTY_ROOT, extensions: [] });
  const signed = signNote(text, [parseSignerKey(LOG_KEY.signerKey)]);
  const lines = (options.cosigners ?? [0, 1]).map((i) => formatSignatureLine(parseCosignerSignerKey(WITNESS_KEYS[i]!.signerKey).cosign(text, options.cosignedAt)));
  const note = signed + lines.join('');
  await storage.write(CHECKPOINT_PATH, new TextEncoder().encode(note));
  if (raw.length) await storage.write(checkpointHistoryPath(raw.length), new TextEncoder().encode(note));
  return { storage, note };
}
