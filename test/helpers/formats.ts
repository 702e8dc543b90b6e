// Fixed inputs for the shared formats' golden vectors (test/fixtures/formats/golden.json).
import {
  concat,
  decodeDeterministic,
  encodeDeterministic,
  type DValue,
  attestedKeyPolicy,
  keyPolicyJson,
  modelKeyPolicy,
  p256SpkiFromRaw,
  ROLE_NAMES,
  sessionKeyConfigBytes,
  tokenKeyIdOf,
  userDataFor,
  type EnclaveBundle,
  type KeyBundle,
  type LogEntry,
  type ReleaseManifest,
} from '../../protocol';
import { hex, loadJson } from './fixtures';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const PCR0 = 'ab'.repeat(48);
export const KMS_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
export const RELEASE_ID = '2026.11.27-1a2b3c4';
export const T0 = 1_764_201_600; // 2025-11-27T00:00:00Z

/** The public key of RFC 9180 A.3.1 (pkRm), as the SPKI KMS GetPublicKey would return. */
export const SPKI = p256SpkiFromRaw(hex(loadJson('vectors/rfc9180-a3-p256-sha256-aes128gcm-base.json').pkRm));
export const KEY_CONFIG = sessionKeyConfigBytes(SPKI);
export const SESSION_POLICY = keyPolicyJson(attestedKeyPolicy({ pcr0: PCR0, account: ACCOUNT, region: REGION, roles: ROLE_NAMES }));
export const MODEL_POLICY = keyPolicyJson(modelKeyPolicy({ pcr0: PCR0, account: ACCOUNT, region: REGION, roles: ROLE_NAMES }));
export const DESCRIBE_KEY = JSON.stringify({
  KeyMetadata: {
    AWSAccountId: ACCOUNT,
    KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
    Arn: KMS_KEY_ARN,
    CreationDate: 1764201600,
    Enabled: true,
    KeyState: 'Enabled',
    KeyManager: 'CUSTOMER',
    KeySpec: 'ECC_NIST_P256',
    KeyUsage: 'KEY_AGREEMENT',
    Origin: 'AWS_KMS',
    MultiRegion: false,
    KeyAgreementAlgorithms: ['ECDH'],
  },
});

export const USER_DATA = userDataFor({
  keyConfig: KEY_CONFIG,
  kmsKeyArn: KMS_KEY_ARN,
  keyPolicy: SESSION_POLICY,
  releaseId: RELEASE_ID,
  policyCheckedAt: T0,
  notAfter: T0 + 600,
});

export const KEY_BUNDLE: KeyBundle = {
  version: 1,
  generatedAt: T0 + 60,
  keys: [{ keyConfig: KEY_CONFIG, releaseId: RELEASE_ID, kmsKeyArn: KMS_KEY_ARN, attestation: new TextEncoder().encode('attestation document') }],
  checkpoint: 'log.private-processing.example\n7\nq83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng=\n\n\u2014 log.private-processing.example AAAAAA==\n',
};

const TOKEN_KEY = new Uint8Array(294).fill(0x42);

export const LOG_ENTRIES: Record<string, LogEntry> = {
  release: {
    type: 'release',
    releaseId: RELEASE_ID,
    kind: 'emulated',
    pcr0: hex(PCR0),
    pcr1: hex('cd'.repeat(48)),
    pcr2: hex('ef'.repeat(48)),
    imageSha384: hex('01'.repeat(48)),
    modelSha256: hex('02'.repeat(32)),
    sourceCommit: '0123456789abcdef0123456789abcdef01234567',
    buildRecipe: 'npm run release',
    notBefore: T0,
    notAfter: T0 + 90 * 86400,
  },
  session_key: {
    type: 'session_key',
    releaseId: RELEASE_ID,
    kmsKeyArn: KMS_KEY_ARN,
    keyConfig: KEY_CONFIG,
    keyPolicy: SESSION_POLICY,
    describeKey: DESCRIBE_KEY,
    notBefore: T0,
    notAfter: T0 + 7 * 86400,
  },
  issuer_key: { type: 'issuer_key', tokenKey: TOKEN_KEY, tokenKeyId: tokenKeyIdOf(TOKEN_KEY), notBefore: T0, notAfter: T0 + 30 * 86400 },
  revocation_release: { type: 'revocation', target: { type: 'release', releaseId: RELEASE_ID }, reason: 'superseded', effectiveAt: T0 + 86400 },
  revocation_session_key: { type: 'revocation', target: { type: 'session_key', kmsKeyArn: KMS_KEY_ARN }, reason: 'rotated', effectiveAt: T0 + 86400 },
  revocation_issuer_key: { type: 'revocation', target: { type: 'issuer_key', tokenKeyId: tokenKeyIdOf(TOKEN_KEY) }, reason: 'compromised', effectiveAt: T0 + 86400 },
};

export const MANIFEST: ReleaseManifest = {
  version: 1,
  releaseId: RELEASE_ID,
  kind: 'emulated',
  measurements: { pcr0: PCR0, pcr1: 'cd'.repeat(48), pcr2: 'ef'.repeat(48) },
  imageSha384: '01'.repeat(48),
  modelSha256: '02'.repeat(32),
  sourceCommit: '0123456789abcdef0123456789abcdef01234567',
  buildRecipe: 'npm run release',
  createdAt: T0,
};

export const BUNDLE: EnclaveBundle = {
  platform: 'emulated-nitro/node-20',
  files: new Map([
    ['enclave/main.js', new TextEncoder().encode('console.log("enclave")\n')],
    ['enclave/constants.json', new TextEncoder().encode('{"modelSha256":"0202"}\n')],
  ]),
};

/**
 * The deterministic encoding of `bytes`'s top-level map with field `name` written
 * twice, side by side (so only the duplicate, not the order, is wrong).
 */
export function withDuplicateField(bytes: Uint8Array, name: string): Uint8Array {
  const map = decodeDeterministic(bytes) as ReadonlyMap<string, DValue>;
  const parts: Uint8Array[] = [];
  const keys = [...map.keys()];
  const header = encodeDeterministic(new Array(keys.length + 1).fill(0)).subarray(0, 1);
  parts.push(Uint8Array.of((header[0]! & 0x1f) | 0xa0));
  for (const key of keys) {
    const entry = concat(encodeDeterministic(key), encodeDeterministic(map.get(key)!));
    parts.push(entry);
    if (key === name) parts.push(entry);
  }
  return concat(...parts);
}
