import { decode as cborxDecode } from 'cbor-x';
import fc from 'fast-check';
import {
  ModelError,
  openModel,
  sealModel,
  AttestationError,
  FormatError,
  assertSessionKeyConfig,
  bundleKeyConfigList,
  checkUserData,
  decodeDeterministic,
  decodeKeyBundle,
  decodeKeyConfigList,
  decodeLogEntry,
  decodeReleaseManifest,
  decodeUserData,
  encodeDeterministic,
  encodeKeyBundle,
  encodeKeyConfig,
  encodeLogEntry,
  encodeReleaseManifest,
  encodeUserData,
  logEntryLeafHash,
  measure,
  releaseEntryFromManifest,
  sessionKeyConfig,
  sessionKeyId,
  toHex,
  tokenKeyIdOf,
  type DInput,
  type DValue,
  type LogEntry,
} from '../../protocol';
import { createHash } from 'node:crypto';
import { expectCode, flipped, hex, loadJson } from '../helpers/fixtures';
import * as F from '../helpers/formats';

const G = loadJson('formats/golden.json');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof FormatError) return err.code;
    throw err;
  }
}

/** Every strict prefix of `bytes` must fail with TRUNCATED. */
function expectEveryTruncationRefused(bytes: Uint8Array, decode: (b: Uint8Array) => unknown): void {
  const wrong: string[] = [];
  for (let cut = 0; cut < bytes.length; cut++) {
    const code = codeOf(() => decode(bytes.subarray(0, cut)));
    if (code !== 'TRUNCATED') wrong.push(`${cut}: ${code ?? 'accepted'}`);
  }
  expect(wrong).toEqual([]);
}

describe('deterministic CBOR', () => {
  // RFC 8949 Appendix A examples within this profile (non-negative integers, strings, arrays, maps, simple values).
  const RFC8949_A: [DInput, string][] = [
    [0, '00'],
    [23, '17'],
    [24, '1818'],
    [100, '1864'],
    [1000, '1903e8'],
    [1000000, '1a000f4240'],
    [1000000000000, '1b000000e8d4a51000'],
    [false, 'f4'],
    [true, 'f5'],
    [null, 'f6'],
    [new Uint8Array(0), '40'],
    [hex('01020304'), '4401020304'],
    ['', '60'],
    ['a', '6161'],
    ['IETF', '6449455446'],
    ['"\\', '62225c'],
    ['\u00fc', '62c3bc'],
    ['\u6c34', '63e6b0b4'],
    [[], '80'],
    [[1, 2, 3], '83010203'],
    [[1, [2, 3], [4, 5]], '8301820203820405'],
    [{}, 'a0'],
    [{ a: 1, b: [2, 3] }, 'a26161016162820203'],
    [['a', { b: 'c' }], '826161a161626163'],
    [{ a: 'A', b: 'B', c: 'C', d: 'D', e: 'E' }, 'a56161614161626142616361436164614461656145'],
  ];

  test.each(RFC8949_A)('RFC 8949 A: %p encodes to %s and decodes back', (value, expected) => {
    expect(toHex(encodeDeterministic(value))).toBe(expected);
    const decoded = decodeDeterministic(hex(expected));
    expect(toHex(encodeDeterministic(decoded))).toBe(expected);
  });

  test('map keys are sorted by their encoded bytes, shorter first', () => {
    expect(toHex(encodeDeterministic({ bb: 1, a: 2, c: 3 }))).toBe('a3616102616303626262' + '01');
  });

  test.each([
    ['1800', 'NOT_DETERMINISTIC', 'an integer not in its shortest form'],
    ['190017', 'NOT_DETERMINISTIC', 'a two-byte form of a one-byte integer'],
    ['5f4101ff', 'NOT_DETERMINISTIC', 'an indefinite-length byte string'],
    ['9f01ff', 'NOT_DETERMINISTIC', 'an indefinite-length array'],
    ['bf616101ff', 'NOT_DETERMINISTIC', 'an indefinite-length map'],
    ['a2616201616101', 'NOT_DETERMINISTIC', 'map keys out of order'],
    ['a2616101616102', 'DUPLICATE_FIELD', 'a duplicate key'],
    ['a1016161', 'MALFORMED', 'a non-text key'],
    ['c11a514b67b0', 'MALFORMED', 'a tag'],
    ['f93c00', 'MALFORMED', 'a float'],
    ['20', 'MALFORMED', 'a negative integer'],
    ['f7', 'MALFORMED', 'undefined'],
    ['0000', 'MALFORMED', 'trailing bytes'],
    ['62c328', 'MALFORMED', 'text that is not UTF-8'],
    ['1c', 'MALFORMED', 'reserved additional information'],
    ['1b0020000000000000', 'INVALID_FIELD', 'an integer past 2^53'],
    ['5a00010000', 'TRUNCATED', 'a length past the end'],
  ])('%s is %s (%s)', async (input, code) => {
    await expectCode(() => decodeDeterministic(hex(input)), FormatError, code);
  });

  test('an independent decoder (cbor-x) reads our encodings as the same values', () => {
    const decoded = cborxDecode(Buffer.from(hex(G.user_data))) as Record<string, unknown>;
    expect(decoded.release_id).toBe(F.RELEASE_ID);
    expect(decoded.policy_checked_at).toBe(F.T0);
    for (const [name, v] of Object.entries<{ bytes: string }>(G.log_entries)) {
      const x = cborxDecode(Buffer.from(hex(v.bytes))) as Record<string, unknown>;
      expect([name, x.type]).toEqual([name, name.startsWith('revocation') ? 'revocation' : name]);
    }
  });

  const dvalue: fc.Arbitrary<DValue> = fc.letrec<{ v: DValue }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      fc.nat(),
      fc.maxSafeNat(),
      fc.string(),
      fc.uint8Array({ maxLength: 20 }),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('v'), { maxLength: 4 }),
      fc.dictionary(fc.string({ maxLength: 6 }), tie('v'), { maxKeys: 4 }).map((o) => new Map(Object.entries(o))),
    ),
  })).v;

  test('values round-trip, and re-encoding the decoded value gives the same bytes', () => {
    fc.assert(
      fc.property(dvalue, (v) => {
        const bytes = encodeDeterministic(v);
        expect(toHex(encodeDeterministic(decodeDeterministic(bytes)))).toBe(toHex(bytes));
      }),
      { numRuns: 500 },
    );
  });

  test('random bytes make the decoder throw only FormatError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), (bytes) => {
        try {
          decodeDeterministic(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(FormatError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('session key configuration and key id', () => {
  test('golden: key id is the first byte of SHA-256 of the SPKI; the one suite', () => {
    expect(toHex(F.SPKI)).toBe(G.session_key.spki);
    expect(sessionKeyId(F.SPKI)).toBe(createHash('sha256').update(F.SPKI).digest()[0]);
    expect(sessionKeyId(F.SPKI)).toBe(G.session_key.key_id);
    expect(toHex(F.KEY_CONFIG)).toBe(G.session_key.key_config);
    expect(assertSessionKeyConfig(F.KEY_CONFIG).symmetricAlgorithms).toEqual([{ kdfId: 1, aeadId: 1 }]);
  });

  test('another suite, another key id, another KEM or trailing bytes are refused', async () => {
    const config = sessionKeyConfig(F.SPKI);
    await expectCode(() => assertSessionKeyConfig(encodeKeyConfig({ ...config, keyId: (config.keyId + 1) % 256 })), FormatError, 'INVALID_FIELD');
    await expectCode(
      () => assertSessionKeyConfig(encodeKeyConfig({ ...config, symmetricAlgorithms: [{ kdfId: 1, aeadId: 1 }, { kdfId: 1, aeadId: 2 }] })),
      FormatError,
      'INVALID_FIELD',
    );
    await expectCode(() => assertSessionKeyConfig(encodeKeyConfig({ ...config, symmetricAlgorithms: [{ kdfId: 1, aeadId: 2 }] })), FormatError, 'INVALID_FIELD');
    await expectCode(
      () => assertSessionKeyConfig(encodeKeyConfig({ keyId: 1, kemId: 0x20, publicKey: new Uint8Array(32).fill(9), symmetricAlgorithms: [{ kdfId: 1, aeadId: 1 }] })),
      FormatError,
      'INVALID_FIELD',
    );
    await expectCode(() => assertSessionKeyConfig(new Uint8Array([...F.KEY_CONFIG, 0])), FormatError, 'INVALID_FIELD');
  });
});

describe('user_data', () => {
  const now = new Date((F.T0 + 60) * 1000);
  const expected = { keyConfig: F.KEY_CONFIG, kmsKeyArn: F.KMS_KEY_ARN, keyPolicy: F.SESSION_POLICY, releaseId: F.RELEASE_ID, now };

  test('golden bytes, and they decode to the same value', () => {
    const bytes = encodeUserData(F.USER_DATA);
    expect(toHex(bytes)).toBe(G.user_data);
    expect(decodeUserData(bytes)).toEqual(F.USER_DATA);
  });

  test('every truncation is TRUNCATED', () => expectEveryTruncationRefused(hex(G.user_data), decodeUserData));

  test('unknown, duplicate and missing fields, and wrong types, each with their code', async () => {
    const base = {
      key_config_sha256: F.USER_DATA.keyConfigSha256,
      kms_key_arn: F.KMS_KEY_ARN,
      key_policy_sha256: F.USER_DATA.keyPolicySha256,
      release_id: F.RELEASE_ID,
      policy_checked_at: F.T0,
      not_after: F.T0 + 600,
    };
    await expectCode(() => decodeUserData(encodeDeterministic({ ...base, extra: 1 })), FormatError, 'UNKNOWN_FIELD');
    const { release_id: _r, ...missing } = base;
    await expectCode(() => decodeUserData(encodeDeterministic(missing)), FormatError, 'MISSING_FIELD');
    await expectCode(() => decodeUserData(encodeDeterministic({ ...base, not_after: 'soon' })), FormatError, 'INVALID_FIELD');
    await expectCode(() => decodeUserData(encodeDeterministic({ ...base, key_config_sha256: new Uint8Array(31) })), FormatError, 'INVALID_FIELD');
    await expectCode(() => decodeUserData(encodeDeterministic({ ...base, kms_key_arn: F.KMS_KEY_ARN.replace('key/', 'key/mrk-') })), FormatError, 'INVALID_FIELD');
    await expectCode(() => decodeUserData(encodeDeterministic({ ...base, not_after: F.T0 })), FormatError, 'INVALID_FIELD');
    // A duplicate field, hand-built (our encoder refuses to write one).
    for (const field of ['release_id', 'not_after', 'key_config_sha256']) {
      await expectCode(() => decodeUserData(F.withDuplicateField(hex(G.user_data), field)), FormatError, 'DUPLICATE_FIELD');
    }
  });

  test('checkUserData accepts the exact binding', () => {
    expect(checkUserData(hex(G.user_data), expected)).toEqual(F.USER_DATA);
  });

  test.each([
    ['another key config', { keyConfig: flipped(F.KEY_CONFIG, 10) }],
    ['another KMS key', { kmsKeyArn: F.KMS_KEY_ARN.replace('1234abcd', '9234abcd') }],
    ['another policy document', { keyPolicy: F.SESSION_POLICY.replace('pp-deployer', 'pp-deployer2') }],
    ['another release', { releaseId: '2026.11.28-aaaaaaa' }],
  ])('%s is KEY_NOT_BOUND', async (_label, change) => {
    await expectCode(() => checkUserData(hex(G.user_data), { ...expected, ...change }), AttestationError, 'KEY_NOT_BOUND');
  });

  test('no user_data, or bytes that do not decode, is KEY_NOT_BOUND', async () => {
    await expectCode(() => checkUserData(null, expected), AttestationError, 'KEY_NOT_BOUND');
    await expectCode(() => checkUserData(hex(G.user_data).subarray(1), expected), AttestationError, 'KEY_NOT_BOUND');
  });

  test('an old or future policy check, or a time past not_after, is STALE', async () => {
    const at = (s: number) => ({ ...expected, now: new Date(s * 1000) });
    await expectCode(() => checkUserData(F.USER_DATA, at(F.T0 + 601)), AttestationError, 'STALE'); // past not_after
    await expectCode(() => checkUserData(F.USER_DATA, { ...at(F.T0 + 300), maxPolicyAgeMs: 120_000 }), AttestationError, 'STALE');
    await expectCode(() => checkUserData(F.USER_DATA, at(F.T0 - 120)), AttestationError, 'STALE');
    checkUserData(F.USER_DATA, at(F.T0 + 600));
  });
});

describe('key bundle', () => {
  test('golden bytes round-trip; the key configs form an ohttp-keys list', () => {
    const bytes = encodeKeyBundle(F.KEY_BUNDLE);
    expect(toHex(bytes)).toBe(G.key_bundle);
    expect(decodeKeyBundle(bytes)).toEqual(F.KEY_BUNDLE);
    expect(decodeKeyConfigList(bundleKeyConfigList(F.KEY_BUNDLE)).map((c) => c.keyId)).toEqual([G.session_key.key_id]);
  });

  test('every truncation is TRUNCATED', () => expectEveryTruncationRefused(hex(G.key_bundle), decodeKeyBundle));

  test('bad bundles are refused with their codes', async () => {
    const entry = F.KEY_BUNDLE.keys[0]!;
    await expectCode(() => encodeKeyBundle({ ...F.KEY_BUNDLE, keys: [] }), FormatError, 'INVALID_FIELD');
    await expectCode(() => encodeKeyBundle({ ...F.KEY_BUNDLE, keys: [entry, entry] }), FormatError, 'INVALID_FIELD');
    await expectCode(() => encodeKeyBundle({ ...F.KEY_BUNDLE, keys: Array(5).fill(entry) }), FormatError, 'INVALID_FIELD');
    await expectCode(() => encodeKeyBundle({ ...F.KEY_BUNDLE, keys: [{ ...entry, keyConfig: flipped(entry.keyConfig, 0) }] }), FormatError, 'INVALID_FIELD');
    await expectCode(() => encodeKeyBundle({ ...F.KEY_BUNDLE, keys: [{ ...entry, attestation: new Uint8Array(0) }] }), FormatError, 'INVALID_FIELD');
    const raw = { v: 1, generated_at: F.T0, keys: [{ key_config: entry.keyConfig, release_id: entry.releaseId, kms_key_arn: entry.kmsKeyArn, attestation: entry.attestation }], checkpoint: null };
    expect(decodeKeyBundle(encodeDeterministic(raw)).keys).toHaveLength(1);
    await expectCode(() => decodeKeyBundle(encodeDeterministic({ ...raw, v: 2 })), FormatError, 'UNSUPPORTED_VERSION');
    await expectCode(() => decodeKeyBundle(encodeDeterministic({ ...raw, proofs: [] })), FormatError, 'UNKNOWN_FIELD');
    await expectCode(() => decodeKeyBundle(encodeDeterministic({ ...raw, keys: [{ ...raw.keys[0]!, extra: 0 }] })), FormatError, 'UNKNOWN_FIELD');
    await expectCode(() => decodeKeyBundle(F.withDuplicateField(hex(G.key_bundle), 'keys')), FormatError, 'DUPLICATE_FIELD');
    const { checkpoint: _c, ...noCheckpoint } = raw;
    await expectCode(() => decodeKeyBundle(encodeDeterministic(noCheckpoint)), FormatError, 'MISSING_FIELD');
  });
});

describe('log entries', () => {
  const names = Object.keys(F.LOG_ENTRIES);

  test.each(names)('%s: golden bytes and leaf hash; decodes to the same entry', (name) => {
    const entry = F.LOG_ENTRIES[name]!;
    const bytes = encodeLogEntry(entry);
    expect(toHex(bytes)).toBe(G.log_entries[name].bytes);
    expect(toHex(logEntryLeafHash(entry))).toBe(G.log_entries[name].leaf_hash);
    // The leaf hash is RFC 9162's over exactly these bytes.
    expect(toHex(logEntryLeafHash(bytes))).toBe(toHex(createHash('sha256').update(Uint8Array.of(0)).update(bytes).digest()));
    expect(decodeLogEntry(bytes)).toEqual(entry);
  });

  test.each(names)('%s: every truncation is TRUNCATED', (name) => expectEveryTruncationRefused(hex(G.log_entries[name].bytes), decodeLogEntry));

  test('invalid entries are refused with their codes', async () => {
    const r = F.LOG_ENTRIES.release as Extract<LogEntry, { type: 'release' }>;
    const bad: [LogEntry, string][] = [
      [{ ...r, notAfter: r.notBefore }, 'INVALID_FIELD'],
      [{ ...r, pcr0: new Uint8Array(48) }, 'INVALID_FIELD'],
      [{ ...r, pcr1: new Uint8Array(32) }, 'INVALID_FIELD'],
      [{ ...r, sourceCommit: 'main' }, 'INVALID_FIELD'],
      [{ ...r, kind: 'debug' as 'nitro' }, 'INVALID_FIELD'],
      [{ ...(F.LOG_ENTRIES.issuer_key as Extract<LogEntry, { type: 'issuer_key' }>), tokenKeyId: new Uint8Array(32) }, 'INVALID_FIELD'],
      [{ ...(F.LOG_ENTRIES.session_key as Extract<LogEntry, { type: 'session_key' }>), keyConfig: flipped(F.KEY_CONFIG, 0) }, 'INVALID_FIELD'],
      [{ ...(F.LOG_ENTRIES.session_key as Extract<LogEntry, { type: 'session_key' }>), keyPolicy: '' }, 'INVALID_FIELD'],
    ];
    for (const [entry, code] of bad) await expectCode(() => encodeLogEntry(entry), FormatError, code);
    const raw = cborxDecode(Buffer.from(hex(G.log_entries.release.bytes))) as Record<string, DValue>;
    await expectCode(() => decodeLogEntry(encodeDeterministic({ ...raw, type: 'witness' })), FormatError, 'INVALID_FIELD');
    await expectCode(() => decodeLogEntry(encodeDeterministic({ ...raw, v: 2 })), FormatError, 'UNSUPPORTED_VERSION');
    await expectCode(() => decodeLogEntry(encodeDeterministic({ ...raw, note: 'x' })), FormatError, 'UNKNOWN_FIELD');
    for (const [name, field] of [['release', 'pcr0'], ['session_key', 'key_policy'], ['issuer_key', 'token_key'], ['revocation_release', 'target']]) {
      await expectCode(() => decodeLogEntry(F.withDuplicateField(hex(G.log_entries[name!].bytes), field!)), FormatError, 'DUPLICATE_FIELD');
    }
    const { model_sha256: _m, ...missing } = raw;
    await expectCode(() => decodeLogEntry(encodeDeterministic(missing)), FormatError, 'MISSING_FIELD');
    const issuer = cborxDecode(Buffer.from(hex(G.log_entries.issuer_key.bytes))) as Record<string, DValue>;
    await expectCode(() => decodeLogEntry(encodeDeterministic({ ...issuer, token_key_id: tokenKeyIdOf(new Uint8Array(3)) })), FormatError, 'INVALID_FIELD');
  });

  test('random entries of every type round-trip', () => {
    const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
    const window = fc.tuple(fc.integer({ min: 0, max: 2e9 }), fc.integer({ min: 1, max: 1e8 })).map(([nb, d]) => ({ notBefore: nb, notAfter: nb + d }));
    const release = fc.record({
      pcr0: bytes(48).filter((b) => b.some((x) => x !== 0)),
      pcr1: bytes(48),
      pcr2: bytes(48),
      imageSha384: bytes(48),
      modelSha256: bytes(32),
      kind: fc.constantFrom('nitro' as const, 'emulated' as const),
      buildRecipe: fc.string({ minLength: 1, maxLength: 50 }),
      window,
    });
    fc.assert(
      fc.property(release, ({ window: w, ...rest }) => {
        const entry: LogEntry = { ...(F.LOG_ENTRIES.release as Extract<LogEntry, { type: 'release' }>), ...rest, ...w };
        expect(decodeLogEntry(encodeLogEntry(entry))).toEqual(entry);
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 600 }), window, fc.string({ minLength: 1, maxLength: 40 }), (tokenKey, w, reason) => {
        const issuer: LogEntry = { type: 'issuer_key', tokenKey, tokenKeyId: tokenKeyIdOf(tokenKey), ...w };
        expect(decodeLogEntry(encodeLogEntry(issuer))).toEqual(issuer);
        const revocation: LogEntry = { type: 'revocation', target: { type: 'issuer_key', tokenKeyId: tokenKeyIdOf(tokenKey) }, reason, effectiveAt: w.notBefore };
        expect(decodeLogEntry(encodeLogEntry(revocation))).toEqual(revocation);
      }),
      { numRuns: 200 },
    );
  });
});

describe('every format round-trips random values', () => {
  const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
  const releaseId = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,20}$/);
  const arn = fc.uuid({ version: 4 }).map((u) => F.KMS_KEY_ARN.replace(/key\/.*/, `key/${u}`));
  const times = fc.tuple(fc.integer({ min: 0, max: 4e9 }), fc.integer({ min: 1, max: 1e6 }));

  test('user_data', () => {
    fc.assert(
      fc.property(bytes(32), bytes(32), arn, releaseId, times, (kc, kp, kmsKeyArn, rid, [t, d]) => {
        const u = { keyConfigSha256: kc, kmsKeyArn, keyPolicySha256: kp, releaseId: rid, policyCheckedAt: t, notAfter: t + d };
        expect(decodeUserData(encodeUserData(u))).toEqual(u);
      }),
      { numRuns: 300 },
    );
  });

  test('key bundle', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2000 }), arn, releaseId, fc.nat(4e9), fc.option(fc.string({ maxLength: 200 })), (att, kmsKeyArn, rid, at, cp) => {
        const bundle = { version: 1 as const, generatedAt: at, keys: [{ keyConfig: F.KEY_CONFIG, releaseId: rid, kmsKeyArn, attestation: att }], checkpoint: cp };
        expect(decodeKeyBundle(encodeKeyBundle(bundle))).toEqual(bundle);
      }),
      { numRuns: 200 },
    );
  });

  test('session-key log entries', () => {
    fc.assert(
      fc.property(arn, releaseId, fc.string({ minLength: 1, maxLength: 300 }), fc.string({ minLength: 1, maxLength: 300 }), times, (kmsKeyArn, rid, policy, describe, [t, d]) => {
        const entry: LogEntry = { type: 'session_key', releaseId: rid, kmsKeyArn, keyConfig: F.KEY_CONFIG, keyPolicy: policy, describeKey: describe, notBefore: t, notAfter: t + d };
        expect(decodeLogEntry(encodeLogEntry(entry))).toEqual(entry);
      }),
      { numRuns: 200 },
    );
  });

  test('release manifest', () => {
    const hex48 = bytes(48).map(toHex);
    fc.assert(
      fc.property(releaseId, fc.constantFrom('nitro' as const, 'emulated' as const), hex48, hex48, hex48, hex48, bytes(32).map(toHex), fc.string({ minLength: 1, maxLength: 80 }), fc.nat(4e9), (rid, kind, p0, p1, p2, img, model, recipe, at) => {
        fc.pre(!/^0+$/.test(p0));
        const m = { ...F.MANIFEST, releaseId: rid, kind, measurements: { pcr0: p0, pcr1: p1, pcr2: p2 }, imageSha384: img, modelSha256: model, buildRecipe: recipe, createdAt: at };
        expect(decodeReleaseManifest(encodeReleaseManifest(m))).toEqual(m);
      }),
      { numRuns: 200 },
    );
  });
});

describe('release manifest', () => {
  test('golden text round-trips', () => {
    expect(encodeReleaseManifest(F.MANIFEST)).toBe(G.release_manifest);
    expect(decodeReleaseManifest(G.release_manifest)).toEqual(F.MANIFEST);
  });

  test('every truncation of the text is refused', () => {
    const text: string = G.release_manifest;
    for (let cut = 0; cut < text.length - 1; cut++) expect(codeOf(() => decodeReleaseManifest(text.slice(0, cut)))).toBeDefined();
  });

  test('strict parsing: duplicate, unknown and missing fields, bad values, other versions', async () => {
    const text: string = G.release_manifest;
    await expectCode(() => decodeReleaseManifest(text.replace('"kind": "emulated",', '"kind": "emulated",\n  "kind": "nitro",')), FormatError, 'DUPLICATE_FIELD');
    await expectCode(() => decodeReleaseManifest(text.replace('"kind": "emulated",', '"kind": "emulated",\n  "debug": true,')), FormatError, 'UNKNOWN_FIELD');
    await expectCode(() => decodeReleaseManifest(text.replace(/\s*"build_recipe": "[^"]*",/, '')), FormatError, 'MISSING_FIELD');
    await expectCode(() => decodeReleaseManifest(text.replace(F.PCR0, F.PCR0.toUpperCase())), FormatError, 'INVALID_FIELD');
    await expectCode(() => decodeReleaseManifest(text.replace(F.PCR0, '0'.repeat(96))), FormatError, 'INVALID_FIELD');
    await expectCode(() => decodeReleaseManifest(text.replace('"emulated"', '"debug"')), FormatError, 'INVALID_FIELD');
    await expectCode(() => decodeReleaseManifest(text.replace('"version": 1', '"version": 2')), FormatError, 'UNSUPPORTED_VERSION');
    await expectCode(() => decodeReleaseManifest('{"version": 1,}'), FormatError, 'MALFORMED');
    await expectCode(() => decodeReleaseManifest(`${text}{}`), FormatError, 'MALFORMED');
  });

  test('the release log entry carries the manifest’s measurements', () => {
    const entry = releaseEntryFromManifest(F.MANIFEST, { notBefore: F.T0, notAfter: F.T0 + 90 * 86400 });
    expect(toHex(encodeLogEntry(entry))).toBe(G.log_entries.release.bytes);
  });
});

describe('measure', () => {
  test('golden measurement of a fixed bundle', () => {
    expect(measure(F.BUNDLE)).toEqual(G.measure);
  });

  test('what changes which register', () => {
    const base = measure(F.BUNDLE);
    const withFile = (path: string, content: string) =>
      measure({ ...F.BUNDLE, files: new Map([...F.BUNDLE.files, [path, new TextEncoder().encode(content)]]) });
    const changedCode = withFile('enclave/main.js', 'console.log("changed")\n');
    expect(changedCode.pcr0).not.toBe(base.pcr0);
    expect(changedCode.pcr2).not.toBe(base.pcr2);
    expect(changedCode.pcr1).toBe(base.pcr1);
    const changedConstant = withFile('enclave/constants.json', '{"modelSha256":"0303"}\n');
    expect(changedConstant.pcr0).not.toBe(base.pcr0);
    const extraFile = withFile('enclave/extra.js', '');
    expect(extraFile.pcr0).not.toBe(base.pcr0);
    const renamed = measure({ ...F.BUNDLE, files: new Map([...F.BUNDLE.files].map(([p, c]) => [p.replace('main', 'index'), c])) });
    expect(renamed.pcr0).not.toBe(base.pcr0);
    const platform = measure({ ...F.BUNDLE, platform: 'emulated-nitro/node-22' });
    expect(platform.pcr1).not.toBe(base.pcr1);
    expect(platform.pcr2).toBe(base.pcr2);
    // Insertion order of the files does not matter.
    expect(measure({ ...F.BUNDLE, files: new Map([...F.BUNDLE.files].reverse()) })).toEqual(base);
  });

  test('invalid bundles are refused', async () => {
    for (const path of ['', '/abs.js', 'a/../b.js', './a.js', 'a//b.js', 'a/', 'sp ace.js']) {
      await expectCode(() => measure({ platform: 'p', files: new Map([[path, new Uint8Array(1)]]) }), FormatError, 'INVALID_FIELD');
    }
    await expectCode(() => measure({ platform: 'p', files: new Map() }), FormatError, 'INVALID_FIELD');
    await expectCode(() => measure({ platform: '', files: new Map([['a.js', new Uint8Array(1)]]) }), FormatError, 'INVALID_FIELD');
  });
});

describe('the sealed model file', () => {
  const key = new Uint8Array(32).fill(7);
  const model = new TextEncoder().encode('{"model":"weights"}');
  const sha = createHash('sha256').update(model).digest('hex');

  test('opens under its data key when the plaintext hashes to the compiled-in value', () => {
    expect(openModel(key, sealModel(key, model), sha)).toEqual(model);
  });

  test('each way it can be wrong has its code, and no plaintext comes back', async () => {
    const sealed = sealModel(key, model);
    await expectCode(() => openModel(new Uint8Array(32).fill(8), sealed, sha), ModelError, 'DECRYPT_FAILED');
    await expectCode(() => openModel(key, flipped(sealed, sealed.length - 20), sha), ModelError, 'DECRYPT_FAILED');
    await expectCode(() => openModel(key, sealed, 'ab'.repeat(32)), ModelError, 'HASH_MISMATCH');
    await expectCode(() => openModel(key, sealed.subarray(0, 20), sha), ModelError, 'MALFORMED');
    await expectCode(() => openModel(key, Uint8Array.of(2, ...sealed.subarray(1)), sha), ModelError, 'MALFORMED');
    await expectCode(() => sealModel(new Uint8Array(16), model), ModelError, 'MALFORMED');
  });
});
