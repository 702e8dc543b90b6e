// A strict JSON parser (RFC 8259) for documents whose exact meaning is security
// relevant: KMS key policies and release manifests. Unlike JSON.parse it refuses
// duplicate object keys (two parsers could otherwise read different policies from
// the same bytes), lone surrogates, and nesting past a fixed depth. Objects come
// back with a null prototype, so no key can reach Object.prototype.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export class StrictJsonError extends Error {
  constructor(
    readonly code: 'MALFORMED' | 'DUPLICATE_KEY',
    message: string,
  ) {
    super(message);
  }
  override get name(): string {
    return 'StrictJsonError';
  }
}

const MAX_DEPTH = 64;

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  fail(message: string): never {
    throw new StrictJsonError('MALFORMED', `${message} at offset ${this.i}`);
  }

  ws(): void {
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else break;
    }
  }

  parseDocument(): JsonValue {
    this.ws();
    const value = this.value(0);
    this.ws();
    if (this.i !== this.s.length) this.fail('trailing characters');
    return value;
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail('nested too deeply');
    const c = this.s[this.i];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [word, val] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return val;
      }
    }
    return this.fail('unexpected character');
  }

  object(depth: number): JsonValue {
    this.i++; // {
    const out: { [key: string]: JsonValue } = Object.create(null);
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('expected a key');
      const key = this.string();
      if (Object.prototype.hasOwnProperty.call(out, key)) throw new StrictJsonError('DUPLICATE_KEY', 'duplicate object key');
      this.ws();
      if (this.s[this.i] !== ':') this.fail('expected a colon');
      this.i++;
      this.ws();
      out[key] = this.value(depth + 1);
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return out;
      if (c !== ',') this.fail('expected a comma or a closing brace');
    }
  }

  array(depth: number): JsonValue {
    this.i++; // [
    const out: JsonValue[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') this.fail('expected a comma or a closing bracket');
    }
  }

  string(): string {
    this.i++; // opening quote
    let out = '';
    for (;;) {
      if (this.i >= this.s.length) this.fail('unterminated string');
      const c = this.s.charCodeAt(this.i++);
      if (c === 0x22) break;
      if (c < 0x20) this.fail('control character in a string');
      if (c === 0x5c) {
        const e = this.s[this.i++];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in simple) out += simple[e];
        else if (e === 'u') {
          const hex = this.s.slice(this.i, this.i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('invalid \\u escape');
          this.i += 4;
          out += String.fromCharCode(parseInt(hex, 16));
        } else this.fail('invalid escape');
      } else out += String.fromCharCode(c);
    }
    if (!out.isWellFormed()) this.fail('lone surrogate in a string');
    return out;
  }

  number(): number {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.s.slice(this.i));
    if (!m) this.fail('invalid number');
    this.i += m[0].length;
    const n = Number(m[0]);
    if (!Number.isFinite(n)) this.fail('number out of range');
    return n;
  }
}

export function parseStrictJson(text: string): JsonValue {
  return new Parser(text).parseDocument();
}

/** Deep equality of parsed JSON: object key order is irrelevant, array order is not. */
export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null) return false;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]!));
  if (typeof a !== 'object' || Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k]!, (b as Record<string, JsonValue>)[k]!));
}
