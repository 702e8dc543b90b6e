import fc from 'fast-check';
import { jsonEqual, parseStrictJson, StrictJsonError } from '../../protocol';

function codeOf(text: string): string | undefined {
  try {
    parseStrictJson(text);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(StrictJsonError);
    return (err as StrictJsonError).code;
  }
}

describe('strict JSON', () => {
  test('parses what JSON.parse parses, to equal values', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        expect(jsonEqual(parseStrictJson(text), JSON.parse(text))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  test('refuses duplicate keys at any depth', () => {
    expect(codeOf('{"a":1,"a":1}')).toBe('DUPLICATE_KEY');
    expect(codeOf('{"x":[{"b":1,"c":2,"b":3}]}')).toBe('DUPLICATE_KEY');
    // The same key through an escape is the same key.
    expect(codeOf('{"a":1,"\\u0061":2}')).toBe('DUPLICATE_KEY');
  });

  test('refuses what RFC 8259 does not allow, and lone surrogates and deep nesting', () => {
    for (const bad of ['', '{', '{"a":1,}', '[1,]', "{'a':1}", '01', '1.', '.5', '+1', 'NaN', 'tru', '"a\nb"', '"\\x41"', '"\\ud800"', '1 2', '[' .repeat(100) + ']'.repeat(100)]) {
      expect([bad, codeOf(bad)]).toEqual([bad, 'MALFORMED']);
    }
  });

  test('a "__proto__" key is an ordinary key and reaches no prototype', () => {
    const v = parseStrictJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBeNull();
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('jsonEqual ignores object key order, not array order', () => {
    expect(jsonEqual(parseStrictJson('{"a":1,"b":[1,2]}'), parseStrictJson('{"b":[1,2],"a":1}'))).toBe(true);
    expect(jsonEqual(parseStrictJson('[1,2]'), parseStrictJson('[2,1]'))).toBe(false);
    expect(jsonEqual(parseStrictJson('{"a":1}'), parseStrictJson('{"a":1,"b":null}'))).toBe(false);
    expect(jsonEqual(parseStrictJson('"1"'), parseStrictJson('1'))).toBe(false);
  });
});
