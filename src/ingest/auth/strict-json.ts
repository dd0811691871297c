/**
 * A JSON number, kept as its text: two numbers are equal when their exact decimal values are,
 * so `1`, `1.0` and `1e0` match, while two integers past 2^53 that a double would round to one
 * value do not.
 */
export class JsonNumber {
  constructor(readonly text: string) {}

  /** The number as JavaScript reads it. */
  get value(): number {
    return Number(this.text);
  }

  /** Sign, significant digits and exponent: one spelling per decimal value. */
  get canonical(): string {
    const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?)(\d+))?$/.exec(this.text);
    if (!m) return this.text;
    const [, sign = '', int = '', frac = '', expSign = '', expDigits = '0'] = m;
    const digits = (int + frac).replace(/^0+/, '');
    if (!digits) return '0';
    const significant = digits.replace(/0+$/, '');
    const exp = expDigits.replace(/^0+/, '');
    // an exponent too long to add to exactly stays as written: such numbers then only match
    // their own spelling (stricter, never looser)
    if (exp.length > 15) return this.text;
    const exponent =
      (expSign === '-' ? -1 : 1) * Number(exp || '0') -
      frac.length +
      (digits.length - significant.length);
    return `${sign}${significant}e${exponent}`;
  }
}

/** A parsed JSON value; objects are maps, so no key (`__proto__` included) is special. */
export type JsonValue =
  null | boolean | string | JsonNumber | readonly JsonValue[] | ReadonlyMap<string, JsonValue>;

export type StrictJsonResult =
  | { readonly ok: true; readonly value: JsonValue }
  | { readonly ok: false; readonly reason: 'invalid' | 'duplicate-key' | 'too-deep' };

/** Deeper than any webhook body; bounds the recursion of parsing and comparing. */
const MAX_DEPTH = 256;

/** Why a text is refused; thrown inside the reader and turned into a result by parseStrictJson. */
class Refusal extends Error {
  constructor(readonly reason: 'invalid' | 'duplicate-key' | 'too-deep') {
    super(reason);
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * Parses JSON refusing what parsers disagree on: a key repeated in one object (JSON.parse keeps
 * the last, others the first), so that a value compared here is the value every reader sees.
 */
export function parseStrictJson(text: string): StrictJsonResult {
  try {
    // the grammar is JSON.parse's own; what follows only builds the value
    JSON.parse(text);
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  try {
    return { ok: true, value: new StrictReader(text).readDocument() };
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, reason: err.reason };
    throw err;
  }
}

/**
 * Builds the value of a text JSON.parse accepted, one position `i` at a time: refuses a key
 * repeated in one object and nesting deeper than MAX_DEPTH; anything else unexpected is invalid.
 */
class StrictReader {
  private i = 0;

  constructor(private readonly text: string) {}

  /** The one value the whole text holds, surrounded by nothing but white space. */
  readDocument(): JsonValue {
    const value = this.readValue(0);
    this.skipSpace();
    if (this.i !== this.text.length) this.fail();
    return value;
  }

  private fail(): never {
    throw new Refusal('invalid');
  }

  private skipSpace() {
    while (this.i < this.text.length && ' \t\n\r'.includes(this.text.charAt(this.i))) this.i++;
  }

  private expect(char: string) {
    this.skipSpace();
    if (this.text.charAt(this.i) !== char) this.fail();
    this.i++;
  }

  /** The string starting at the opening quote under `i`, decoded by JSON.parse. */
  private readString(): string {
    const text = this.text;
    let j = this.i + 1;
    while (j < text.length && text.charAt(j) !== '"') j += text.charAt(j) === '\\' ? 2 : 1;
    const decoded: unknown = JSON.parse(text.slice(this.i, j + 1));
    this.i = j + 1;
    return typeof decoded === 'string' ? decoded : this.fail();
  }

  /** A value of any kind, at `depth` containers deep. */
  private readValue(depth: number): JsonValue {
    if (depth > MAX_DEPTH) throw new Refusal('too-deep');
    this.skipSpace();
    const char = this.text.charAt(this.i);
    if (char === '{') return this.readObject(depth);
    if (char === '[') return this.readArray(depth);
    if (char === '"') return this.readString();
    return this.readScalar();
  }

  /** The object whose `{` is under `i`: refused if one of its keys is repeated. */
  private readObject(depth: number): ReadonlyMap<string, JsonValue> {
    const text = this.text;
    this.i++;
    const map = new Map<string, JsonValue>();
    this.skipSpace();
    if (text.charAt(this.i) === '}') {
      this.i++;
      return map;
    }
    for (;;) {
      this.skipSpace();
      if (text.charAt(this.i) !== '"') this.fail();
      const key = this.readString();
      if (map.has(key)) throw new Refusal('duplicate-key');
      this.expect(':');
      map.set(key, this.readValue(depth + 1));
      this.skipSpace();
      const next = text.charAt(this.i++);
      if (next === '}') return map;
      if (next !== ',') this.fail();
    }
  }

  /** The array whose `[` is under `i`. */
  private readArray(depth: number): readonly JsonValue[] {
    const text = this.text;
    this.i++;
    const list: JsonValue[] = [];
    this.skipSpace();
    if (text.charAt(this.i) === ']') {
      this.i++;
      return list;
    }
    for (;;) {
      list.push(this.readValue(depth + 1));
      this.skipSpace();
      const next = text.charAt(this.i++);
      if (next === ']') return list;
      if (next !== ',') this.fail();
    }
  }

  /** `true`, `false`, `null` or a number (kept as its text). */
  private readScalar(): boolean | null | JsonNumber {
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.text.startsWith(word, this.i)) {
        this.i += word.length;
        return value;
      }
    }
    NUMBER.lastIndex = this.i;
    const number = NUMBER.exec(this.text);
    if (!number) return this.fail();
    this.i += number[0].length;
    return new JsonNumber(number[0]);
  }
}

/** Whether a parsed value is a JSON object. */
export function isJsonObject(value: JsonValue): value is ReadonlyMap<string, JsonValue> {
  return value instanceof Map;
}

/** Deep equality of two parsed values: key order is ignored, numbers compare by value. */
export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === null || typeof a !== 'object') return a === b;
  if (b === null || typeof b !== 'object') return false;
  if (a instanceof JsonNumber) return b instanceof JsonNumber && a.canonical === b.canonical;
  if (b instanceof JsonNumber) return false;
  if (isJsonObject(a)) {
    if (!isJsonObject(b) || a.size !== b.size) return false;
    for (const [key, value] of a) {
      const other = b.get(key);
      if (other === undefined || !jsonEqual(value, other)) return false;
    }
    return true;
  }
  if (isJsonObject(b)) return false;
  const list: readonly JsonValue[] = a;
  const others: readonly JsonValue[] = b;
  if (list.length !== others.length) return false;
  for (let k = 0; k < list.length; k++) {
    const value = list[k];
    const other = others[k];
    if (value === undefined || other === undefined || !jsonEqual(value, other)) return false;
  }
  return true;
}
