// Requests to and responses from the Nitro Secure Module, encoded exactly as
// aws-nitro-enclaves-nsm-api does (serde_cbor, externally tagged enums): a struct
// variant is a one-entry map {Variant: {field: value, …}} with fields in declaration
// order, a unit variant is its name as a text string, `Error(code)` is
// {"Error": "<code>"}, `None` is null and byte fields are byte strings.

import { cborDecode, cborEncode } from '../../protocol';
import { NsmError } from './errors';

/** nsm-api `ErrorCode` (Success is never sent as an error). */
export const NSM_ERROR_CODES = [
  'InvalidArgument',
  'InvalidIndex',
  'InvalidResponse',
  'ReadOnlyIndex',
  'InvalidOperation',
  'BufferTooSmall',
  'InputTooLarge',
  'InternalError',
] as const;
export type NsmErrorCode = (typeof NSM_ERROR_CODES)[number];

export type NsmRequest =
  | { readonly kind: 'Attestation'; readonly userData: Uint8Array | null; readonly nonce: Uint8Array | null; readonly publicKey: Uint8Array | null }
  | { readonly kind: 'DescribePCR'; readonly index: number }
  | { readonly kind: 'GetRandom' };

export type NsmResponse =
  | { readonly kind: 'Attestation'; readonly document: Uint8Array }
  | { readonly kind: 'DescribePCR'; readonly lock: boolean; readonly data: Uint8Array }
  | { readonly kind: 'GetRandom'; readonly random: Uint8Array }
  | { readonly kind: 'Error'; readonly code: NsmErrorCode };

/** Request and response buffer sizes of the NSM driver. */
export const NSM_REQUEST_MAX_SIZE = 0x1000;
export const NSM_RESPONSE_MAX_SIZE = 0x3000;

function isU16(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffff;
}

export function encodeNsmRequest(request: NsmRequest): Uint8Array {
  switch (request.kind) {
    case 'Attestation':
      return cborEncode({
        Attestation: { user_data: request.userData, nonce: request.nonce, public_key: request.publicKey },
      });
    case 'DescribePCR':
      if (!isU16(request.index)) throw new NsmError('InvalidArgument');
      return cborEncode({ DescribePCR: { index: request.index } });
    case 'GetRandom':
      return cborEncode('GetRandom');
  }
}

export function encodeNsmResponse(response: NsmResponse): Uint8Array {
  switch (response.kind) {
    case 'Attestation':
      return cborEncode({ Attestation: { document: response.document } });
    case 'DescribePCR':
      return cborEncode({ DescribePCR: { lock: response.lock, data: response.data } });
    case 'GetRandom':
      return cborEncode({ GetRandom: { random: response.random } });
    case 'Error':
      return cborEncode({ Error: response.code });
  }
}

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
const isNullableBytes = (v: unknown): v is Uint8Array | null => v === null || isBytes(v);

/** The one entry of an externally tagged enum map, with its fields checked exactly. */
function variant(value: unknown): [string, unknown] {
  if (typeof value === 'string') return [value, undefined];
  if (!(value instanceof Map) || value.size !== 1) throw new NsmError('InvalidResponse');
  const [entry] = value.entries();
  const [name, body] = entry as [unknown, unknown];
  if (typeof name !== 'string') throw new NsmError('InvalidResponse');
  return [name, body];
}

function fields(body: unknown, names: readonly string[]): Map<string, unknown> {
  if (!(body instanceof Map) || body.size !== names.length || !names.every((n) => body.has(n))) {
    throw new NsmError('InvalidResponse');
  }
  return body as Map<string, unknown>;
}

function decode(bytes: Uint8Array): unknown {
  try {
    return cborDecode(bytes);
  } catch {
    throw new NsmError('InvalidResponse');
  }
}

/** Decodes what the NSM (or the emulator) answered. Anything unexpected is `InvalidResponse`. */
export function decodeNsmResponse(bytes: Uint8Array): NsmResponse {
  const [name, body] = variant(decode(bytes));
  switch (name) {
    case 'Attestation': {
      const f = fields(body, ['document']);
      const document = f.get('document');
      if (!isBytes(document)) break;
      return { kind: 'Attestation', document: Uint8Array.from(document) };
    }
    case 'DescribePCR': {
      const f = fields(body, ['lock', 'data']);
      const lock = f.get('lock');
      const data = f.get('data');
      if (typeof lock !== 'boolean' || !isBytes(data)) break;
      return { kind: 'DescribePCR', lock, data: Uint8Array.from(data) };
    }
    case 'GetRandom': {
      const random = fields(body, ['random']).get('random');
      if (!isBytes(random)) break;
      return { kind: 'GetRandom', random: Uint8Array.from(random) };
    }
    case 'Error':
      if (typeof body === 'string' && (NSM_ERROR_CODES as readonly string[]).includes(body)) {
        return { kind: 'Error', code: body as NsmErrorCode };
      }
      break;
  }
  throw new NsmError('InvalidResponse');
}

/** Decodes a request (the emulator's side). Anything unexpected is `InvalidArgument`. */
export function decodeNsmRequest(bytes: Uint8Array): NsmRequest {
  let value: unknown;
  try {
    value = cborDecode(bytes);
  } catch {
    throw new NsmError('InvalidArgument');
  }
  try {
    const [name, body] = variant(value);
    if (name === 'GetRandom' && body === undefined) return { kind: 'GetRandom' };
    if (name === 'DescribePCR') {
      const index = fields(body, ['index']).get('index');
      if (typeof index === 'number' && isU16(index)) return { kind: 'DescribePCR', index };
    }
    if (name === 'Attestation') {
      const f = fields(body, ['user_data', 'nonce', 'public_key']);
      const [userData, nonce, publicKey] = [f.get('user_data'), f.get('nonce'), f.get('public_key')];
      if (isNullableBytes(userData) && isNullableBytes(nonce) && isNullableBytes(publicKey)) {
        return { kind: 'Attestation', userData, nonce, publicKey };
      }
    }
  } catch {
    // fall through
  }
  throw new NsmError('InvalidArgument');
}
