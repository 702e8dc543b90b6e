import fc from 'fast-check';
import {
  decodeBhttpRequest,
  decodeBhttpResponse,
  encodeBhttpRequest,
  encodeBhttpResponse,
  type BhttpRequest,
  type BhttpResponse,
  type Field,
} from '../../protocol/bhttp';
import { concat, toHex, utf8 } from '../../protocol/bytes';
import { BhttpError } from '../../protocol/errors';
import { MAX_PADDED_LENGTH, PADDING_BUCKETS, bucketFor, padToBucket } from '../../protocol/padding';
import { expectCode, hex, loadJson } from '../helpers/fixtures';

const EXAMPLES: { label: string; framing_indicator: number; hex: string }[] = loadJson('vectors/rfc9292-bhttp-examples.json').examples;
const example = (prefix: string) => EXAMPLES.find((e) => e.label.startsWith(prefix))!;
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

const S51_HEADERS: Field[] = [
  { name: 'user-agent', value: 'curl/7.16.3 libcurl/7.16.3 OpenSSL/0.9.7l zlib/1.2.3' },
  { name: 'host', value: 'www.example.com' },
  { name: 'accept-language', value: 'en, mi' },
];

describe('RFC 9292 §5 examples', () => {
  test('§5.1 known-length request decodes to the published message', () => {
    const r = decodeBhttpRequest(hex(example('RFC 9292 s5.1 request, known-length').hex));
    expect(r).toMatchObject({ method: 'GET', scheme: 'https', authority: '', path: '/hello.txt', headers: S51_HEADERS, trailers: [] });
    expect(r.content.length).toBe(0);
  });

  test('§5.1 indeterminate-length request with padding decodes to the same message', () => {
    const known = decodeBhttpRequest(hex(example('RFC 9292 s5.1 request, known-length').hex));
    const indeterminate = decodeBhttpRequest(hex(example('RFC 9292 s5.1 same request, indeterminate').hex));
    expect(indeterminate).toEqual(known);
  });

  test('§5.2 indeterminate-length response with 102 and 103 decodes to the published message', () => {
    const r = decodeBhttpResponse(hex(example('RFC 9292 s5.2').hex));
    expect(r.informational).toEqual([
      { status: 102, headers: [{ name: 'running', value: '"sleep 15"' }] },
      {
        status: 103,
        headers: [
          { name: 'link', value: '</style.css>; rel=preload; as=style' },
          { name: 'link', value: '</script.js>; rel=preload; as=script' },
        ],
      },
    ]);
    expect(r.status).toBe(200);
    expect(r.headers.map((f) => f.name)).toEqual([
      'date',
      'server',
      'last-modified',
      'etag',
      'accept-ranges',
      'content-length',
      'vary',
      'content-type',
    ]);
    expect(text(r.content)).toBe('Hello World! My content includes a trailing CRLF.\r\n');
    expect(r.trailers).toEqual([]);
  });

  test('known-length response with content and trailer', () => {
    const r = decodeBhttpResponse(hex(example('Known-length response with content+trailer').hex));
    expect(r.status).toBe(200);
    expect(text(r.content)).toBe('This content contains CRLF.\r\n');
    expect(r.trailers).toEqual([{ name: 'trailer', value: 'text' }]);
  });

  test.each(EXAMPLES.map((e) => [e.label, e] as const))('%s re-encodes to bytes that decode identically', (_l, e) => {
    const isRequest = e.framing_indicator % 2 === 0;
    const decoded = isRequest ? decodeBhttpRequest(hex(e.hex)) : decodeBhttpResponse(hex(e.hex));
    const again = isRequest
      ? decodeBhttpRequest(encodeBhttpRequest(decoded as BhttpRequest))
      : decodeBhttpResponse(encodeBhttpResponse(decoded as BhttpResponse));
    expect(again).toEqual(decoded);
  });

  test('the RFC 9458 Appendix A messages re-encode byte for byte when truncated', () => {
    const req = example('RFC 9458 A: GET');
    const res = example('RFC 9458 A: 200');
    expect(toHex(encodeBhttpRequest(decodeBhttpRequest(hex(req.hex)), { truncate: true }))).toBe(req.hex);
    expect(toHex(encodeBhttpResponse(decodeBhttpResponse(hex(res.hex)), { truncate: true }))).toBe(res.hex);
    // Without truncation every section is written, as bhttp-js does.
    expect(toHex(encodeBhttpRequest(decodeBhttpRequest(hex(req.hex))))).toBe(example('bhttp-js').hex);
  });

  test('the known-length §5.1 request re-encodes byte for byte', () => {
    const e = example('RFC 9292 s5.1 request, known-length');
    expect(toHex(encodeBhttpRequest(decodeBhttpRequest(hex(e.hex))))).toBe(e.hex);
  });
});

describe('truncation at every byte offset', () => {
  test.each(EXAMPLES.map((e) => [e.label, e] as const))('%s', (_l, e) => {
    const bytes = hex(e.hex);
    const isRequest = e.framing_indicator % 2 === 0;
    const decode = isRequest ? decodeBhttpRequest : decodeBhttpResponse;
    const full = decode(bytes) as BhttpRequest & BhttpResponse;
    let truncatedErrors = 0;
    for (let cut = 0; cut < bytes.length; cut++) {
      let decoded: (BhttpRequest & BhttpResponse) | undefined;
      try {
        decoded = decode(bytes.subarray(0, cut)) as BhttpRequest & BhttpResponse;
      } catch (err) {
        expect(err).toBeInstanceOf(BhttpError);
        expect((err as BhttpError).code).toBe('TRUNCATED');
        truncatedErrors++;
        continue;
      }
      // §3.8: a cut is valid only at a section boundary, where the missing sections are empty.
      for (const section of ['headers', 'trailers'] as const) {
        expect([[], full[section]]).toContainEqual(decoded[section]);
      }
      expect([0, full.content.length]).toContain(decoded.content.length);
    }
    expect(truncatedErrors).toBeGreaterThan(0);
  });
});

describe('bad input fails with the right code', () => {
  const request: BhttpRequest = {
    method: 'POST',
    scheme: 'https',
    authority: 'enclave.internal',
    path: '/v1/summarize',
    headers: [{ name: 'content-type', value: 'application/json' }],
    content: utf8('{"messages":[]}'),
    trailers: [],
  };
  const encoded = encodeBhttpRequest(request);

  test('unknown framing indicators are UNKNOWN_FRAMING, the other message type WRONG_MESSAGE_TYPE', async () => {
    await expectCode(() => decodeBhttpRequest(concat(Uint8Array.of(4), encoded.subarray(1))), BhttpError, 'UNKNOWN_FRAMING');
    await expectCode(() => decodeBhttpResponse(Uint8Array.of(0x40, 0x05)), BhttpError, 'UNKNOWN_FRAMING');
    await expectCode(() => decodeBhttpResponse(encoded), BhttpError, 'WRONG_MESSAGE_TYPE');
    await expectCode(() => decodeBhttpRequest(Uint8Array.of(1, 0x40, 200)), BhttpError, 'WRONG_MESSAGE_TYPE');
  });

  test('non-zero bytes after the message are NONZERO_PADDING', async () => {
    const padded = padToBucket(encoded);
    expect(decodeBhttpRequest(padded)).toEqual(request);
    const bad = Uint8Array.from(padded);
    bad[bad.length - 1] = 1;
    await expectCode(() => decodeBhttpRequest(bad), BhttpError, 'NONZERO_PADDING');
  });

  test('invalid field names and values are INVALID_FIELD, when encoding and decoding', async () => {
    for (const field of [
      { name: 'bad name', value: 'x' },
      { name: ':path', value: '/' },
      { name: '', value: 'x' },
      { name: 'x-split', value: 'a\r\nx-injected: 1' },
      { name: 'x-nul', value: 'a\0b' },
    ]) {
      await expectCode(() => encodeBhttpRequest({ ...request, headers: [field] }), BhttpError, 'INVALID_FIELD');
    }
    // Hand-build a section with a CRLF inside a value.
    const value = utf8('a\r\nb');
    const section = concat(Uint8Array.of(1), utf8('x'), Uint8Array.of(value.length), value);
    const message = concat(Uint8Array.of(1, 0x40, 200, section.length), section);
    await expectCode(() => decodeBhttpResponse(message), BhttpError, 'INVALID_FIELD');
    await expectCode(() => encodeBhttpRequest({ ...request, method: 'GE T' }), BhttpError, 'INVALID_FIELD');
    await expectCode(() => encodeBhttpRequest({ ...request, path: '/a b' }), BhttpError, 'INVALID_FIELD');
  });

  test('status codes outside their ranges are INVALID_STATUS', async () => {
    for (const status of [0, 99, 600, 1000]) {
      const bytes = concat(Uint8Array.of(1), Uint8Array.of(0x40 | (status >> 8), status & 0xff));
      await expectCode(() => decodeBhttpResponse(bytes), BhttpError, 'INVALID_STATUS');
    }
    const response: BhttpResponse = { informational: [], status: 200, headers: [], content: new Uint8Array(0), trailers: [] };
    await expectCode(() => encodeBhttpResponse({ ...response, status: 101 }), BhttpError, 'INVALID_STATUS');
    await expectCode(() => encodeBhttpResponse({ ...response, informational: [{ status: 200, headers: [] }] }), BhttpError, 'INVALID_STATUS');
  });

  test('an integer too large to be a length is MALFORMED', async () => {
    // An 8-byte varint of 2^62 - 1 where the method length belongs.
    await expectCode(() => decodeBhttpRequest(Uint8Array.of(0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)), BhttpError, 'MALFORMED');
  });

  test('a length that runs past the end is TRUNCATED; input over the cap is BODY_TOO_LARGE', async () => {
    // Content length claims 2^30 bytes.
    const huge = concat(encodeBhttpRequest({ ...request, content: new Uint8Array(0) }).subarray(0, -2), Uint8Array.of(0xc0, 0, 0, 0, 0x40, 0, 0, 0));
    await expectCode(() => decodeBhttpRequest(huge), BhttpError, 'TRUNCATED');
    await expectCode(() => decodeBhttpRequest(new Uint8Array(MAX_PADDED_LENGTH + 1)), BhttpError, 'BODY_TOO_LARGE');
    await expectCode(() => decodeBhttpRequest(padToBucket(encoded), { maxLength: 64 }), BhttpError, 'BODY_TOO_LARGE');
  });
});

describe('padding ladder', () => {
  test('each length pads to the smallest bucket that holds it', () => {
    expect(PADDING_BUCKETS).toEqual([1024, 4096, 16384, 65536, 262144, 1048576]);
    for (const bucket of PADDING_BUCKETS) {
      expect(bucketFor(bucket)).toBe(bucket);
      if (bucket < MAX_PADDED_LENGTH) expect(bucketFor(bucket + 1)).toBe(PADDING_BUCKETS[PADDING_BUCKETS.indexOf(bucket) + 1]);
    }
    expect(bucketFor(0)).toBe(1024);
    const padded = padToBucket(utf8('abc'));
    expect(padded.length).toBe(1024);
    expect(padded.subarray(3).every((b) => b === 0)).toBe(true);
  });

  test('past the largest bucket is BODY_TOO_LARGE', async () => {
    await expectCode(() => padToBucket(new Uint8Array(MAX_PADDED_LENGTH + 1)), BhttpError, 'BODY_TOO_LARGE');
  });
});

// Arbitrary valid messages: token names, visible-ASCII values.
const tokenChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_.!#$%&*+^`|~'.split(''));
const fieldArb = fc.record({
  name: fc.string({ unit: tokenChar, minLength: 1, maxLength: 12 }),
  value: fc.string({ unit: fc.constantFrom(...' \tabcXYZ09:;,/"=()'.split('')), maxLength: 30 }),
});
const controlArb = fc.string({ unit: fc.constantFrom(...'abc/?=&.:%-_~0123'.split('')), maxLength: 20 });
const requestArb: fc.Arbitrary<BhttpRequest> = fc.record({
  method: fc.string({ unit: tokenChar, minLength: 1, maxLength: 8 }),
  scheme: controlArb,
  authority: controlArb,
  path: controlArb,
  headers: fc.array(fieldArb, { maxLength: 5 }),
  content: fc.uint8Array({ maxLength: 300 }),
  trailers: fc.array(fieldArb, { maxLength: 2 }),
});
const responseArb: fc.Arbitrary<BhttpResponse> = fc.record({
  informational: fc.array(fc.record({ status: fc.integer({ min: 100, max: 199 }), headers: fc.array(fieldArb, { maxLength: 2 }) }), {
    maxLength: 2,
  }),
  status: fc.integer({ min: 200, max: 599 }),
  headers: fc.array(fieldArb, { maxLength: 5 }),
  content: fc.uint8Array({ maxLength: 300 }),
  trailers: fc.array(fieldArb, { maxLength: 2 }),
});

describe('properties', () => {
  test('requests round-trip, truncated or not, padded or not', () => {
    fc.assert(
      fc.property(requestArb, fc.boolean(), fc.boolean(), (request, truncate, pad) => {
        let bytes = encodeBhttpRequest(request, { truncate });
        if (pad) bytes = padToBucket(bytes);
        expect(decodeBhttpRequest(bytes)).toEqual(request);
      }),
      { numRuns: 300 },
    );
  });

  test('responses round-trip, truncated or not, padded or not', () => {
    fc.assert(
      fc.property(responseArb, fc.boolean(), fc.boolean(), (response, truncate, pad) => {
        let bytes = encodeBhttpResponse(response, { truncate });
        if (pad) bytes = padToBucket(bytes);
        expect(decodeBhttpResponse(bytes)).toEqual(response);
      }),
      { numRuns: 300 },
    );
  });

  test('random bytes make the decoders throw only BhttpError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        for (const decode of [decodeBhttpRequest, decodeBhttpResponse]) {
          try {
            decode(bytes);
          } catch (err) {
            expect(err).toBeInstanceOf(BhttpError);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('mutated valid messages make the decoders throw only BhttpError', () => {
    fc.assert(
      fc.property(requestArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (request, at, byte) => {
        const bytes = encodeBhttpRequest(request);
        bytes[at % bytes.length] = byte;
        try {
          decodeBhttpRequest(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(BhttpError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
