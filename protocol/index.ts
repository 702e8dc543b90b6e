// The public API of protocol/: everything two parts of the system must agree on.
// Other folders import from here, never from the files behind it.

export { concat, equalBytes, fromHex, toHex } from './bytes';
export { cborDecode, cborEncode, cborEncodeIndefiniteMap } from './cbor';
export * from './errors';
export {
  AEAD_AES_128_GCM,
  AEAD_AES_256_GCM,
  AEAD_CHACHA20_POLY1305,
  KDF_HKDF_SHA256,
  KEM_P256_HKDF_SHA256,
  KEM_X25519_HKDF_SHA256,
  deriveKeyPair,
  generateKeyPair,
  isSupportedSuite,
  publicKeyFromPrivate,
  setupRecipient,
  setupSender,
  type DhFunction,
  type HpkeRecipient,
  type HpkeSender,
  type HpkeSuite,
  type RecipientKey,
} from './hpke';
export {
  MEDIA_TYPE_OHTTP_KEYS,
  MEDIA_TYPE_OHTTP_REQUEST,
  MEDIA_TYPE_OHTTP_RESPONSE,
  decapsulateRequest,
  peekRequestHeader,
  decodeKeyConfig,
  decodeKeyConfigList,
  encapsulateRequest,
  encapsulatedRequestLength,
  encapsulatedResponseLength,
  encodeKeyConfig,
  encodeKeyConfigList,
  type ClientContext,
  type GatewayKey,
  type KeyConfig,
  type ServerContext,
  type SymmetricAlgorithm,
} from './ohttp';
export {
  MEDIA_TYPE_BHTTP,
  decodeBhttpRequest,
  decodeBhttpResponse,
  encodeBhttpRequest,
  encodeBhttpResponse,
  type BhttpRequest,
  type BhttpResponse,
  type Field,
  type InformationalResponse,
} from './bhttp';
export { MAX_PADDED_LENGTH, PADDING_BUCKETS, bucketFor, isBucketLength, padToBucket } from './padding';
export {
  EMPTY_ROOT,
  HASH_SIZE,
  MerkleTree,
  consistencyProof,
  inclusionProof,
  leafHash,
  merkleRoot,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from './merkle';
export {
  cosignatureTimestamp,
  decodeBase64Strict,
  formatSignatureLine,
  generateCosignerKey,
  generateNoteKey,
  NOTE_KEY_TYPE_COSIGNATURE_V1,
  NOTE_KEY_TYPE_ED25519,
  parseCosignerKey,
  parseCosignerSignerKey,
  type Cosigner,
  type VerifiedNote,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  verifyNote,
  type Note,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
} from './note';
export {
  formatCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  verifyCheckpoint,
  type Checkpoint,
  type VerifiedCheckpoint,
} from './checkpoint';
export { AWS_NITRO_ROOT_G1_PEM, AWS_NITRO_ROOT_G1_SHA256 } from './attestation/aws-root';
export { clearChainCache } from './attestation/chain';
export { COSE_SIGN1_TAG, ES384_PROTECTED_HEADER, encodeCoseSign1, sigStructure } from './attestation/cose';
export { PAYLOAD_KEYS, type AttestationPayload } from './attestation/document';
export {
  CLOCK_SKEW_MS,
  DEFAULT_MAX_AGE_MS,
  authenticateAttestation,
  pcrExtend,
  type AuthenticatedAttestation,
  verifyAttestation,
  type Release,
  type VerifiedAttestation,
  type VerifyAttestationOptions,
} from './attestation/verify';
export { decodeDeterministic, encodeDeterministic, type DInput, type DValue } from './dcbor';
export { parseStrictJson, jsonEqual, StrictJsonError, type JsonValue } from './strict-json';
export { measure, pcr3ForRoleArn, pcr4ForInstanceId, type EnclaveBundle, type Measurement } from './formats/measure';
export {
  SESSION_KEY_SUITES,
  assertSessionKeyConfig,
  p256RawFromSpki,
  p256SpkiFromRaw,
  sessionKeyConfig,
  sessionKeyConfigBytes,
  sessionKeyId,
} from './formats/session-key';
export {
  DEFAULT_MAX_POLICY_AGE_MS,
  checkUserData,
  decodeUserData,
  encodeUserData,
  userDataFor,
  type ExpectedBinding,
  type UserData,
} from './formats/user-data';
export {
  KEY_BUNDLE_VERSION,
  MAX_BUNDLE_KEYS,
  MEDIA_TYPE_KEY_BUNDLE,
  bundleKeyConfigList,
  decodeKeyBundle,
  encodeKeyBundle,
  type KeyBundle,
  type KeyBundleEntry,
} from './formats/key-bundle';
export {
  LOG_ENTRY_TYPES,
  decodeLogEntry,
  describeLogEntry,
  encodeLogEntry,
  logEntryLeafHash,
  tokenKeyIdOf,
  type IssuerKeyEntry,
  type LogEntry,
  type ReleaseEntry,
  type RevocationEntry,
  type RevocationTarget,
  type SessionKeyEntry,
} from './formats/log-entries';
export {
  RELEASE_MANIFEST_VERSION,
  decodeReleaseManifest,
  encodeReleaseManifest,
  releaseEntryFromManifest,
  type ReleaseManifest,
} from './formats/release-manifest';
export {
  DEPLOYER_ACTIONS,
  FROZEN_ACTIONS,
  IMAGE_SHA384_KEY,
  MODEL_KEY_READ_ACTIONS,
  ROLE_NAMES,
  SESSION_KEY_READ_ACTIONS,
  attestedKeyPolicy,
  checkGrants,
  checkKeyMetadata,
  checkKeyPolicy,
  checkModelKeyPolicy,
  keyPolicyJson,
  modelKeyPolicy,
  partitionOf,
  roleArn,
  type KeyMetadataLike,
  type KeyPolicy,
  type ModelKeyPolicyParams,
  type PolicyStatement,
  type SessionKeyPolicyParams,
} from './key-policy';
export {
  CmsError,
  ID_AES256_CBC,
  openCiphertextForRecipient,
  parseCiphertextForRecipient,
  recipientKeyId,
  sealCiphertextForRecipient,
  type CiphertextForRecipientParts,
  type CmsErrorCode,
} from './cms';
export {
  CHECKPOINT_PATH,
  MAX_ENTRY_LENGTH,
  TILE_HEIGHT,
  TILE_WIDTH,
  TlogError,
  checkpointHistoryPath,
  decodeEntryBundle,
  encodeEntryBundle,
  entryBundlePath,
  splitTile,
  tileAt,
  tileHashes,
  tileIndexPath,
  tilePath,
  tilesForSize,
  type TileRef,
  type TlogErrorCode,
} from './tlog/tiles';
export {
  CONTENT_TYPE_TLOG_SIZE,
  MAX_PROOF_LINES,
  decodeAddCheckpoint,
  encodeAddCheckpoint,
  type AddCheckpointRequest,
} from './tlog/witness-protocol';
export { LOG_RULE_CODES, LogRuleError, LogRules, type LogRuleCode } from './tlog/rules';
export { checkTokenKey, encodeTokenKey } from './formats/issuer-key';
export { createLogger, type AllowlistLogger, type LogRecord } from './logging';
export { ModelError, openModel, sealModel } from './formats/model';
export {
  MEDIA_TYPE_ISSUER_DIRECTORY,
  MEDIA_TYPE_TOKEN_REQUEST,
  MEDIA_TYPE_TOKEN_RESPONSE,
  TOKEN_AUTHENTICATOR_LENGTH,
  TOKEN_LENGTH,
  TOKEN_REQUEST_LENGTH,
  TOKEN_TYPE_BLIND_RSA,
  TokenError,
  beginTokenIssuance,
  challengeDigest,
  deploymentChallenge,
  formatAuthorization,
  formatChallengeHeader,
  parseAuthorization,
  parseToken,
  parseTokenRequest,
  truncatedKeyId,
  verifyToken,
  type AcceptedIssuerKey,
  type ParsedToken,
  type TokenErrorCode,
  type TokenIssuance,
  type TokenRequest,
} from './privacy-pass';
export { LIMITS, TONES, type Chat, type ChatMessage, type ComposeRequest, type ComposeResult, type SummarizeResult, type Tone } from './features';
export { CHAT_SCHEMA, COMPOSE_REQUEST_SCHEMA, COMPOSE_RESULT_SCHEMA, SUMMARIZE_RESULT_SCHEMA, conforms, type Schema } from './feature-schema';
export { KMS_KEY_ARN, RELEASE_ID } from './formats/common';
