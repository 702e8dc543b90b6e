// Binary HTTP messages, RFC 9292: known-length (framing 0 and 1) and
// indeterminate-length (framing 2 and 3) requests and responses, truncation
// (§3.8) and zero padding. Encoders write known-length messages; decoders read
// both framings and accept only zero bytes after the message.

import { ByteReader, concat } from './bytes';
import { BhttpError, type BhttpErrorCode } from './errors';
import { MAX_PADDED_LENGTH } from './padding';

/** RFC 9292 §3.3 framing indicators. */
export const FRAMING_KNOWN_LENGTH_REQUEST = 0;
export const FRAMING_KNOWN_LENGTH_RESPONSE = 1;
export const FRAMING_INDETERMINATE_REQUEST = 2;
export const FRAMING_INDETERMINATE_RESPONSE = 3;

export const MEDIA_TYPE_BHTTP = 'message/bhttp';

export interface Field {
  readonly name: string;
  readonly value: string;
}

export interface BhttpRequest {
  readonly method: string;
  readonly scheme: string;
  readonly authority: string;
  readonly path: string;
  readonly headers: readonly Field[];
  readonly content: Uint8Array;
  readonly trailers: readonly Field[];
}

export interface InformationalResponse {
  readonly status: number;
  readonly headers: readonly Field[];
}

export interface BhttpResponse {
  readonly informational: readonly InformationalResponse[];
  readonly status: number;
  readonly headers: readonly Field[];
  readonly content: Uint8Array;
  readonly trailers: readonly Field[];
}

export interface EncodeOptions {
  /**
   * Omit empty trailing sections (RFC 9292 §3.8), as RFC 9458 Appendix A does.
   * Default false: every section is written, which is what padding needs.
   */
  truncate?: boolean;
}

export interface DecodeOptions {
  /** Largest input accepted, padding included (default 1 MiB). */
  maxLength?: number;
}

function fail(code: BhttpErrorCode): never {
  throw new BhttpError(code);
}

// ---------------------------------------------------------------------------
// Variable-length integers (RFC 9000 §16), as RFC 9292 §3 uses them.

const MAX_VARINT = 2 ** 53 - 1; // larger values cannot be lengths of anything we hold

function encodeVarint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) fail('MALFORMED');
  if (value < 0x40) return Uint8Array.of(value);
  if (value < 0x4000) return Uint8Array.of(0x40 | (value >> 8), value & 0xff);
  if (value < 0x40000000) {
    return Uint8Array.of(0x80 | (value >>> 24), (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
  }
  const out = new Uint8Array(8);
  let v = value;
  for (let i = 7; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  out[0]! |= 0xc0;
  return out;
}

function readVarint(reader: ByteReader): number {
  const first = reader.u8();
  const length = 1 << (first >> 6);
  let value = first & 0x3f;
  for (let i = 1; i < length; i++) value = value * 256 + reader.u8();
  if (value > MAX_VARINT) fail('MALFORMED');
  return value;
}

// ---------------------------------------------------------------------------
// Field and control-data validation (RFC 9110 §5.1, §5.5).

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible octets, space and tab; no CR, LF or NUL (RFC 9110 §5.5).
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
// Control data: no controls, spaces or DEL, so a request cannot be split when replayed.
const CONTROL = /^[\x21-\x7e\x80-\xff]*$/;

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function latin1Bytes(text: string, valid: RegExp): Uint8Array {
  if (!valid.test(text)) fail('INVALID_FIELD');
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  return concat(encodeVarint(bytes.length), bytes);
}

function readLengthPrefixed(reader: ByteReader): Uint8Array {
  return reader.take(readVarint(reader));
}

function encodeFieldSection(fields: readonly Field[]): Uint8Array {
  const lines: Uint8Array[] = [];
  for (const f of fields) {
    lines.push(lengthPrefixed(latin1Bytes(f.name.toLowerCase(), TOKEN)), lengthPrefixed(latin1Bytes(f.value, FIELD_VALUE)));
  }
  return lengthPrefixed(concat(...lines));
}

function checkedField(name: Uint8Array, value: Uint8Array): Field {
  const field = { name: latin1(name), value: latin1(value) };
  if (!TOKEN.test(field.name) || !FIELD_VALUE.test(field.value)) fail('INVALID_FIELD');
  return field;
}

function readKnownFieldSection(reader: ByteReader): Field[] {
  const section = new ByteReader(readLengthPrefixed(reader), () => fail('TRUNCATED'));
  const fields: Field[] = [];
  while (!section.atEnd()) {
    const name = readLengthPrefixed(section);
    fields.push(checkedField(name, readLengthPrefixed(section)));
  }
  return fields;
}

function readIndeterminateFieldSection(reader: ByteReader): Field[] {
  const fields: Field[] = [];
  for (;;) {
    const nameLength = readVarint(reader);
    if (nameLength === 0) return fields; // Content Terminator
    const name = reader.take(nameLength);
    fields.push(checkedField(name, readLengthPrefixed(reader)));
  }
}

function readIndeterminateContent(reader: ByteReader): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const length = readVarint(reader);
    if (length === 0) return concat(...chunks);
    chunks.push(reader.take(length));
  }
}

/** Sections after the control data; any may be cut off at a section boundary (§3.8). */
function readSections(reader: ByteReader, indeterminate: boolean) {
  const empty = { headers: [] as Field[], content: new Uint8Array(0), trailers: [] as Field[] };
  if (reader.atEnd()) return empty;
  const headers = indeterminate ? readIndeterminateFieldSection(reader) : readKnownFieldSection(reader);
  if (reader.atEnd()) return { ...empty, headers };
  const content = Uint8Array.from(indeterminate ? readIndeterminateContent(reader) : readLengthPrefixed(reader));
  if (reader.atEnd()) return { ...empty, headers, content };
  const trailers = indeterminate ? readIndeterminateFieldSection(reader) : readKnownFieldSection(reader);
  return { headers, content, trailers };
}

function checkPadding(reader: ByteReader): void {
  const padding = reader.rest();
  for (let i = 0; i < padding.length; i++) if (padding[i] !== 0) fail('NONZERO_PADDING');
}

function startReading(bytes: Uint8Array, options: DecodeOptions): ByteReader {
  if (bytes.length > (options.maxLength ?? MAX_PADDED_LENGTH)) fail('BODY_TOO_LARGE');
  return new ByteReader(bytes, () => fail('TRUNCATED'));
}

/** Drops empty sections from the end, as §3.8 allows. */
function truncated(sections: Uint8Array[], emptyFrom: boolean[]): Uint8Array[] {
  let end = sections.length;
  while (end > 0 && emptyFrom[end - 1]) end--;
  return sections.slice(0, end);
}

function sectionsOf(message: { headers: readonly Field[]; content: Uint8Array; trailers: readonly Field[] }, truncate: boolean) {
  const sections = [encodeFieldSection(message.headers), lengthPrefixed(message.content), encodeFieldSection(message.trailers)];
  if (!truncate) return sections;
  return truncated(sections, [message.headers.length === 0, message.content.length === 0, message.trailers.length === 0]);
}

// ---------------------------------------------------------------------------
// Requests.

export function encodeBhttpRequest(request: BhttpRequest, options: EncodeOptions = {}): Uint8Array {
  if (!TOKEN.test(request.method)) fail('INVALID_FIELD');
  const control = [request.method, request.scheme, request.authority, request.path].map((part) =>
    lengthPrefixed(latin1Bytes(part, CONTROL)),
  );
  // Truncation may only drop whole trailing sections after the control data.
  const tail = sectionsOf(request, options.truncate ?? false);
  return concat(encodeVarint(FRAMING_KNOWN_LENGTH_REQUEST), ...control, ...tail);
}

export function decodeBhttpRequest(bytes: Uint8Array, options: DecodeOptions = {}): BhttpRequest {
  const reader = startReading(bytes, options);
  const framing = readVarint(reader);
  if (framing === FRAMING_KNOWN_LENGTH_RESPONSE || framing === FRAMING_INDETERMINATE_RESPONSE) fail('WRONG_MESSAGE_TYPE');
  if (framing !== FRAMING_KNOWN_LENGTH_REQUEST && framing !== FRAMING_INDETERMINATE_REQUEST) fail('UNKNOWN_FRAMING');
  const [method, scheme, authority, path] = [0, 1, 2, 3].map(() => latin1(readLengthPrefixed(reader))) as [
    string,
    string,
    string,
    string,
  ];
  if (!TOKEN.test(method) || ![scheme, authority, path].every((p) => CONTROL.test(p))) fail('INVALID_FIELD');
  const sections = readSections(reader, framing === FRAMING_INDETERMINATE_REQUEST);
  checkPadding(reader);
  return { method, scheme, authority, path, ...sections };
}

// ---------------------------------------------------------------------------
// Responses.

function checkStatus(status: number, informational: boolean): void {
  const ok = informational ? status >= 100 && status <= 199 : status >= 200 && status <= 599;
  if (!Number.isInteger(status) || !ok) fail('INVALID_STATUS');
}

export function encodeBhttpResponse(response: BhttpResponse, options: EncodeOptions = {}): Uint8Array {
  const parts: Uint8Array[] = [encodeVarint(FRAMING_KNOWN_LENGTH_RESPONSE)];
  for (const info of response.informational) {
    checkStatus(info.status, true);
    parts.push(encodeVarint(info.status), encodeFieldSection(info.headers));
  }
  checkStatus(response.status, false);
  parts.push(encodeVarint(response.status), ...sectionsOf(response, options.truncate ?? false));
  return concat(...parts);
}

export function decodeBhttpResponse(bytes: Uint8Array, options: DecodeOptions = {}): BhttpResponse {
  const reader = startReading(bytes, options);
  const framing = readVarint(reader);
  if (framing === FRAMING_KNOWN_LENGTH_REQUEST || framing === FRAMING_INDETERMINATE_REQUEST) fail('WRONG_MESSAGE_TYPE');
  if (framing !== FRAMING_KNOWN_LENGTH_RESPONSE && framing !== FRAMING_INDETERMINATE_RESPONSE) fail('UNKNOWN_FRAMING');
  const indeterminate = framing === FRAMING_INDETERMINATE_RESPONSE;
  const informational: InformationalResponse[] = [];
  for (;;) {
    const status = readVarint(reader);
    if (status >= 100 && status <= 199) {
      const headers = indeterminate ? readIndeterminateFieldSection(reader) : readKnownFieldSection(reader);
      informational.push({ status, headers });
      continue;
    }
    checkStatus(status, false);
    const sections = readSections(reader, indeterminate);
    checkPadding(reader);
    return { informational, status, ...sections };
  }
}
