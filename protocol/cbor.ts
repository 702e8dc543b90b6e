// CBOR through cbor-x, configured once for the formats of this project:
// maps decode to Map (integer keys stay integers); byte strings encode as plain
// major type 2 (no typed-array tag 64); Maps encode as plain maps (no tag 259);
// objects encode as maps of their fields in order. Integers past 2^32 must be
// passed as bigint to be encoded as integers (cbor-x writes large numbers as floats).

import { Decoder, Encoder, type Options } from 'cbor-x';
import { concat } from './bytes';

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
// `useTag259ForMaps` is honoured by cbor-x but missing from its type declarations.
const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  useTag259ForMaps: false,
  tagUint8Array: false,
} as Options & { useTag259ForMaps: boolean });

/** Decodes one CBOR item; throws (cbor-x's error) on malformed input or trailing bytes. */
export function cborDecode(bytes: Uint8Array): unknown {
  return decoder.decode(bytes);
}

export function cborEncode(value: unknown): Uint8Array {
  const out = encoder.encode(value);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** An indefinite-length map (0xbf … 0xff) of the given entries, in order. */
export function cborEncodeIndefiniteMap(entries: Iterable<readonly [unknown, unknown]>): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(0xbf)];
  for (const [key, value] of entries) parts.push(cborEncode(key), cborEncode(value));
  parts.push(Uint8Array.of(0xff));
  return concat(...parts);
}
