// Deterministically encoded CBOR (RFC 8949 §4.2.1, "core deterministic encoding")
// for the project's own formats (user_data, key bundle, log entries): shortest
// integer and length forms, definite lengths only, map keys sorted by their
// encoded bytes. The decoder accepts exactly that encoding and nothing else:
// any other encoding of the same value, a duplicate key, a tag, a float or a
// trailing byte is refused, so every value has one byte string and hashes of
// those bytes (Merkle leaves, key bindings) are unambiguous.
//
// cbor-x (./cbor.ts) reads and writes the AWS formats; it cannot report duplicate
// keys or non-canonical forms, which is why this small codec exists.

import { concat } from './bytes';
import { FormatError, type FormatErrorCode } from './errors';

/** The values these formats use. Maps have text keys. */
export type DValue = number | string | Uint8Array | boolean | null | readonly DValue[] | ReadonlyMap<string, DValue>;
/** What the encoder takes: decoded values, or plain objects standing for maps. */
export type DInput = DValue | readonly DInput[] | ReadonlyMap<string, DInput> | { readonly [key: string]: DInput };

const MAX_DEPTH = 16;
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function fail(code: FormatErrorCode, message?: string): never {
  throw new FormatError(code, message);
}

// ---------------------------------------------------------------------------
// Encoding.

function head(major: number, value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) fail('INVALID_FIELD', 'integers must be non-negative and safe');
  const m = major << 5;
  if (value < 24) return Uint8Array.of(m | value);
  if (value < 0x100) return Uint8Array.of(m | 24, value);
  if (value < 0x10000) return Uint8Array.of(m | 25, value >> 8, value & 0xff);
  if (value < 0x100000000) return Uint8Array.of(m | 26, value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
  const out = new Uint8Array(9);
  out[0] = m | 27;
  let v = value;
  for (let i = 8; i >= 1; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function encodeDeterministic(value: DInput): Uint8Array {
  if (value === null) return Uint8Array.of(0xf6);
  if (value === true) return Uint8Array.of(0xf5);
  if (value === false) return Uint8Array.of(0xf4);
  if (typeof value === 'number') return head(0, value);
  if (typeof value === 'string') {
    const bytes = new TextEncoder().encode(value);
    return concat(head(3, bytes.length), bytes);
  }
  if (value instanceof Uint8Array) return concat(head(2, value.length), value);
  if (Array.isArray(value)) return concat(head(4, value.length), ...(value as readonly DInput[]).map((v) => encodeDeterministic(v)));
  const entries: [unknown, DInput][] =
    value instanceof Map ? [...(value as ReadonlyMap<string, DInput>).entries()] : Object.entries(value as { readonly [key: string]: DInput });
  const encoded = entries.map(([k, v]) => {
    if (typeof k !== 'string') fail('INVALID_FIELD', 'map keys must be text');
    return [encodeDeterministic(k as string), encodeDeterministic(v)] as const;
  });
  encoded.sort((a, b) => compareBytes(a[0], b[0]));
  for (let i = 1; i < encoded.length; i++) {
    if (compareBytes(encoded[i - 1]![0], encoded[i]![0]) === 0) fail('DUPLICATE_FIELD');
  }
  return concat(head(5, encoded.length), ...encoded.flatMap(([k, v]) => [k, v]));
}

// ---------------------------------------------------------------------------
// Decoding.

class Reader {
  offset = 0;
  constructor(readonly bytes: Uint8Array) {}

  take(n: number): Uint8Array {
    if (n > this.bytes.length - this.offset) fail('TRUNCATED');
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  byte(): number {
    return this.take(1)[0]!;
  }
}

function readHead(r: Reader): { major: number; value: number } {
  const first = r.byte();
  const major = first >> 5;
  const info = first & 0x1f;
  if (major === 7) return { major, value: info };
  if (info < 24) return { major, value: info };
  if (info === 31) fail('NOT_DETERMINISTIC', 'indefinite length');
  if (info > 27) fail('MALFORMED', 'reserved additional information');
  const width = 1 << (info - 24);
  const bytes = r.take(width);
  let value = 0;
  for (const b of bytes) value = value * 256 + b;
  if (!Number.isSafeInteger(value)) fail('INVALID_FIELD', 'integer too large');
  const minimum = [24, 0x100, 0x10000, 0x100000000][info - 24]!;
  if (value < minimum) fail('NOT_DETERMINISTIC', 'integer not in its shortest form');
  return { major, value };
}

function readItem(r: Reader, depth: number): DValue {
  if (depth > MAX_DEPTH) fail('MALFORMED', 'nested too deeply');
  const { major, value } = readHead(r);
  switch (major) {
    case 0:
      return value;
    case 2:
      return Uint8Array.from(r.take(value));
    case 3:
      try {
        return utf8Decoder.decode(r.take(value));
      } catch (err) {
        if (err instanceof FormatError) throw err;
        return fail('MALFORMED', 'text is not UTF-8');
      }
    case 4: {
      const items: DValue[] = [];
      for (let i = 0; i < value; i++) items.push(readItem(r, depth + 1));
      return items;
    }
    case 5: {
      const map = new Map<string, DValue>();
      let previous: Uint8Array | undefined;
      for (let i = 0; i < value; i++) {
        const keyStart = r.offset;
        const key = readItem(r, depth + 1);
        if (typeof key !== 'string') fail('MALFORMED', 'map keys must be text');
        const keyBytes = r.bytes.subarray(keyStart, r.offset);
        if (previous) {
          const order = compareBytes(previous, keyBytes);
          if (order === 0) fail('DUPLICATE_FIELD', 'duplicate map key');
          if (order > 0) fail('NOT_DETERMINISTIC', 'map keys out of order');
        }
        previous = keyBytes;
        map.set(key, readItem(r, depth + 1));
      }
      return map;
    }
    case 7:
      if (value === 20) return false;
      if (value === 21) return true;
      if (value === 22) return null;
      return fail('MALFORMED', 'unsupported simple value or float');
    default:
      return fail('MALFORMED', major === 6 ? 'tags are not allowed' : 'negative integers are not allowed');
  }
}

/** Decodes exactly one deterministically encoded item; anything else throws FormatError. */
export function decodeDeterministic(bytes: Uint8Array): DValue {
  const r = new Reader(bytes);
  const value = readItem(r, 0);
  if (r.offset !== bytes.length) fail('MALFORMED', 'trailing bytes');
  return value;
}

// ---------------------------------------------------------------------------
// Field access for strict decoders built on top.

/** A decoded map whose fields are read one by one; `done()` refuses any field not read. */
export class Fields {
  private readonly read = new Set<string>();

  constructor(
    private readonly map: ReadonlyMap<string, DValue>,
    private readonly what: string,
  ) {}

  static of(value: DValue, what: string): Fields {
    if (!(value instanceof Map)) fail('MALFORMED', `${what} is not a map`);
    return new Fields(value as ReadonlyMap<string, DValue>, what);
  }

  private get(name: string): DValue {
    if (!this.map.has(name)) fail('MISSING_FIELD', `${this.what}.${name} is missing`);
    this.read.add(name);
    return this.map.get(name)!;
  }

  /** A field of any type (for nested maps read with another Fields). */
  raw(name: string): DValue {
    return this.get(name);
  }

  has(name: string): boolean {
    return this.map.has(name);
  }

  uint(name: string): number {
    const v = this.get(name);
    if (typeof v !== 'number') fail('INVALID_FIELD', `${this.what}.${name} must be an unsigned integer`);
    return v;
  }

  text(name: string, pattern?: RegExp, maxLength = 2048): string {
    const v = this.get(name);
    if (typeof v !== 'string' || v.length > maxLength || (pattern && !pattern.test(v))) {
      fail('INVALID_FIELD', `${this.what}.${name} is not a valid text field`);
    }
    return v;
  }

  bytes(name: string, length?: number | { max: number }): Uint8Array {
    const v = this.get(name);
    if (!(v instanceof Uint8Array)) fail('INVALID_FIELD', `${this.what}.${name} must be a byte string`);
    if (typeof length === 'number' && v.length !== length) fail('INVALID_FIELD', `${this.what}.${name} must be ${length} bytes`);
    if (typeof length === 'object' && v.length > length.max) fail('INVALID_FIELD', `${this.what}.${name} is too long`);
    return v;
  }

  nullableText(name: string, pattern?: RegExp): string | null {
    const v = this.get(name);
    if (v === null) return null;
    if (typeof v !== 'string' || (pattern && !pattern.test(v))) fail('INVALID_FIELD', `${this.what}.${name} is not valid`);
    return v;
  }

  array(name: string, maxItems: number): readonly DValue[] {
    const v = this.get(name);
    if (!Array.isArray(v) || v.length > maxItems) fail('INVALID_FIELD', `${this.what}.${name} must be an array of at most ${maxItems}`);
    return v;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const v = this.get(name);
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) fail('INVALID_FIELD', `${this.what}.${name} is not one of the allowed values`);
    return v as T;
  }

  /** Every field must have been read: unknown fields are refused. */
  done(): void {
    for (const key of this.map.keys()) if (!this.read.has(key)) fail('UNKNOWN_FIELD', `${this.what} has a field that is not known`);
  }
}
