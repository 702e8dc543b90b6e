// The key bundle served at `GET /v1/keys` (through the relay; cached at most two
// minutes, the same bytes for every client in that window): for each live session
// key, its key configuration and one current attestation document of a worker of
// its release. Everything in it is a claim the client checks against its own copy
// of the log; the checkpoint is only a hint of where the log stands.

import { decodeDeterministic, encodeDeterministic, Fields } from '../dcbor';
import { FormatError } from '../errors';
import { encodeKeyConfigList } from '../ohttp';
import { MAX_DOCUMENT_LENGTH } from '../attestation/verify';
import { KMS_KEY_ARN, RELEASE_ID, isUnixSeconds } from './common';
import { assertSessionKeyConfig } from './session-key';

export const MEDIA_TYPE_KEY_BUNDLE = 'application/vnd.private-processing.key-bundle+cbor';
export const KEY_BUNDLE_VERSION = 1;
/** At most two session keys are live (during a roll-out); a little room for the log to lead. */
export const MAX_BUNDLE_KEYS = 4;
const MAX_CHECKPOINT_LENGTH = 16 * 1024;

export interface KeyBundleEntry {
  /** One RFC 9458 key configuration, exactly as logged. */
  readonly keyConfig: Uint8Array;
  readonly releaseId: string;
  readonly kmsKeyArn: string;
  /** A current attestation document of a worker of this key's release. */
  readonly attestation: Uint8Array;
}

export interface KeyBundle {
  readonly version: typeof KEY_BUNDLE_VERSION;
  /** Unix seconds when the gateway assembled the bundle. */
  readonly generatedAt: number;
  /** Sorted by key id, at most one entry per key id. */
  readonly keys: readonly KeyBundleEntry[];
  /** The latest signed checkpoint the gateway saw (a hint), or null. */
  readonly checkpoint: string | null;
}

function validate(bundle: KeyBundle): number[] {
  if (bundle.version !== KEY_BUNDLE_VERSION) throw new FormatError('UNSUPPORTED_VERSION');
  if (!isUnixSeconds(bundle.generatedAt)) throw new FormatError('INVALID_FIELD', 'invalid generated_at');
  if (bundle.keys.length === 0 || bundle.keys.length > MAX_BUNDLE_KEYS) throw new FormatError('INVALID_FIELD', 'a bundle has one to four keys');
  if (bundle.checkpoint !== null && bundle.checkpoint.length > MAX_CHECKPOINT_LENGTH) throw new FormatError('INVALID_FIELD', 'checkpoint too long');
  const ids = bundle.keys.map((k) => {
    if (!RELEASE_ID.test(k.releaseId)) throw new FormatError('INVALID_FIELD', 'invalid release id');
    if (!KMS_KEY_ARN.test(k.kmsKeyArn)) throw new FormatError('INVALID_FIELD', 'invalid KMS key ARN');
    if (k.attestation.length === 0 || k.attestation.length > MAX_DOCUMENT_LENGTH) throw new FormatError('INVALID_FIELD', 'invalid attestation');
    return assertSessionKeyConfig(k.keyConfig).keyId;
  });
  for (let i = 1; i < ids.length; i++) {
    if (ids[i - 1]! >= ids[i]!) throw new FormatError('INVALID_FIELD', 'keys must be sorted by key id, one per id');
  }
  return ids;
}

export function encodeKeyBundle(bundle: KeyBundle): Uint8Array {
  validate(bundle);
  return encodeDeterministic({
    v: bundle.version,
    generated_at: bundle.generatedAt,
    keys: bundle.keys.map((k) => ({
      key_config: k.keyConfig,
      release_id: k.releaseId,
      kms_key_arn: k.kmsKeyArn,
      attestation: k.attestation,
    })),
    checkpoint: bundle.checkpoint,
  });
}

export function decodeKeyBundle(bytes: Uint8Array): KeyBundle {
  const f = Fields.of(decodeDeterministic(bytes), 'key bundle');
  if (f.uint('v') !== KEY_BUNDLE_VERSION) throw new FormatError('UNSUPPORTED_VERSION');
  const generatedAt = f.uint('generated_at');
  const keys = f.array('keys', MAX_BUNDLE_KEYS).map((item) => {
    const k = Fields.of(item, 'key bundle entry');
    const entry: KeyBundleEntry = {
      keyConfig: k.bytes('key_config', { max: 256 }),
      releaseId: k.text('release_id', RELEASE_ID),
      kmsKeyArn: k.text('kms_key_arn', KMS_KEY_ARN),
      attestation: k.bytes('attestation', { max: MAX_DOCUMENT_LENGTH }),
    };
    k.done();
    return entry;
  });
  const checkpoint = f.nullableText('checkpoint');
  f.done();
  const bundle: KeyBundle = { version: KEY_BUNDLE_VERSION, generatedAt, keys, checkpoint };
  validate(bundle);
  return bundle;
}

/** The bundle's key configurations as `application/ohttp-keys`. */
export function bundleKeyConfigList(bundle: KeyBundle): Uint8Array {
  return encodeKeyConfigList(bundle.keys.map((k) => assertSessionKeyConfig(k.keyConfig)));
}
