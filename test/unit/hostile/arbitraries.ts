/**
 * Generators of hostile input shared by the hostile suite. Bodies are generated as JSON *text*,
 * not as values, so that what `JSON.stringify` can never write still reaches the parsers: `-0`,
 * `1e999` (Infinity), 400-digit integers, lone-surrogate escapes, duplicate keys, `__proto__` keys.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';

/** One seed for the whole suite, so a run is repeatable; `HOSTILE_SEED=<n>` explores further. */
export const SEED = Number(process.env.HOSTILE_SEED ?? 20261123);

/**
 * Generated cases per property, per file. Each property counts what it really ran (see
 * `counted`), and each file checks that it ran all of its plan and at least its floor here: the
 * floors add up to the 10,000 generated cases the suite runs at least.
 */
export const MIN_CASES = { mappers: 6000, http: 4000 } as const;

/** Planned generated cases per property, per file. */
export const RUNS = {
  mappers: {
    rawBytes: 800,
    hostileJson: 2000,
    shapedBodies: 2500,
    fixtureMutations: 2500,
    invalidUtf8: 600,
    truncated: 600,
    sourceMappers: 1000,
    deepNesting: 100,
    yodleeFold: 500,
  },
  http: {
    anyRequest: 2500,
    hmacSigned: 1200,
    budJws: 400,
    refreshRequests: 600,
  },
} as const;

/** How many cases each property ran, printed at the end of each file. */
export class CaseCounter {
  readonly counts = new Map<string, number>();
  /** Wraps a predicate so each run is counted under `name`. */
  counted<A extends unknown[], R>(name: string, predicate: (...args: A) => R): (...args: A) => R {
    return (...args: A) => {
      this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
      return predicate(...args);
    };
  }
  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }
  report(file: string): string {
    const lines = [...this.counts].map(([name, n]) => `  ${name}: ${n}`);
    return `[hostile] ${file}: ${this.total} generated cases (seed ${SEED})\n${lines.join('\n')}`;
  }
}

/** Keys that reach `Object.prototype` when an object is indexed with them. */
export const DANGEROUS_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  'isPrototypeOf',
] as const;

/** Every field name the mappers and the ingest's key extraction read. */
export const FIELD_NAMES = [
  'data',
  'event',
  'customer_id',
  'task_id',
  'task_type',
  'status',
  'result',
  'reconnect_required',
  'has_new_transactions',
  'provider',
  'consent_id',
  'consent_ids',
  'consent_details',
  'id',
  'sub_tasks',
  'start_time',
  'updated_at',
  'info',
  'loginName',
  'providerAccount',
  'dataset',
  'additionalStatus',
  'updateEligibility',
  'lastUpdated',
  'lastUpdateAttempt',
  'providerId',
  'requestId',
] as const;

/** Values the mappers branch on, so generated bodies reach the deep branches. */
export const KNOWN_VALUES = [
  'open_banking.v2.refresh.completed',
  'open_banking.v2.refresh.provider.completed',
  'open_banking.consent.revoked',
  'open_banking.consent.reconfirmed',
  'open_banking.consent.reauthorised',
  'open_banking.',
  'REFRESH.PROCESS_COMPLETED',
  'REFRESH.INTERIM_PROGRESS',
  'Completed',
  'Failed',
  'completed',
  'success',
  'connection_revoked',
  'provider_not_found',
  'refresh',
  'connect',
  'SUCCESS',
  'FAILED',
  'PARTIAL_SUCCESS',
  'IN_PROGRESS',
  'USER_INPUT_REQUIRED',
  'DATA_RETRIEVAL_FAILED',
  'AVAILABLE_DATA_RETRIEVED',
  'INCORRECT_CREDENTIALS',
  'CONSENT_REVOKED',
  'ADDL_AUTHENTICATION_REQUIRED',
  'SITE_UNAVAILABLE',
  'SITE_NOT_SUPPORTED',
  'ALLOW_UPDATE_WITH_CREDENTIALS',
  'true',
  'false',
  ' TRUE ',
  'NaN',
  'Infinity',
  '-Infinity',
  '-0',
  '1e999',
  '',
  ' ',
  '2026-11-23T06:05:00Z',
  '2026-11-23T06:05:00.123+01:00',
  '+275760-09-13T00:00:00.000Z',
  '+275760-09-13T00:00:00.001Z',
  '-271821-04-20T00:00:00.000Z',
  '0000-00-00T00:00:00Z',
  '1',
  'Tue, 01 Jan 1970 00:00:00 GMT',
] as const;

const numberText = fc.oneof(
  fc.constantFrom(
    '-0',
    '0',
    '-0.0',
    '1e999',
    '-1e999',
    '1e308',
    '-1.7976931348623157e308',
    '5e-324',
    '9007199254740993',
    '-9007199254740993',
    '1' + '0'.repeat(400),
    '0.1',
    '-1',
    '1E+2',
  ),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
);

const stringText = fc.oneof(
  fc.constantFrom(...KNOWN_VALUES, ...DANGEROUS_KEYS, ...FIELD_NAMES).map((s) => JSON.stringify(s)),
  // lone surrogates and NUL as escapes: valid JSON, not valid Unicode
  fc.constantFrom('"\\ud800"', '"\\udfff\\ud800"', '"a\\u0000b"', '"\\u2028\\u2029"'),
  // fast-check's binary strings include lone surrogates; stringify escapes them
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => JSON.stringify(s)),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => JSON.stringify(s)),
);

/** A very long string (up to 100,000 characters): ids, codes and names of absurd length. */
const longStringText = fc
  .tuple(fc.integer({ min: 1000, max: 200_000 }), fc.constantFrom('x', 'é', '😀', '\\u0000'))
  .map(([n, c]) => `"${c.repeat(Math.ceil(n / c.length))}"`);

/** A JSON scalar as text. */
export const hostileScalarText: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: numberText, weight: 30 },
  { arbitrary: stringText, weight: 50 },
  { arbitrary: fc.constantFrom('true', 'false', 'null'), weight: 20 },
  { arbitrary: longStringText, weight: 1 },
);

/** A key: one the code reads, one that reaches the prototype, or anything. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...FIELD_NAMES), weight: 4 },
  { arbitrary: fc.constantFrom(...DANGEROUS_KEYS), weight: 2 },
  { arbitrary: fc.string({ maxLength: 12 }), weight: 1 },
);

/** Any JSON value as text: nested arrays and objects (duplicate keys allowed) over hostile leaves. */
export const hostileJsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { maxDepth: 5, depthSize: 'small' },
    { arbitrary: hostileScalarText, weight: 3 },
    {
      arbitrary: fc.array(tie('value'), { maxLength: 5 }).map((xs) => `[${xs.join(',')}]`),
      weight: 1,
    },
    {
      arbitrary: fc
        .array(fc.tuple(hostileKey, tie('value')), { maxLength: 6 })
        .map((kvs) => `{${kvs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
      weight: 2,
    },
  ),
})).value;

/** A field: omitted (undefined), a value the mapper expects, or a hostile one. */
function fieldOf(plausible: fc.Arbitrary<string>): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 1 },
    { arbitrary: plausible, weight: 3 },
    { arbitrary: hostileJsonText, weight: 2 },
  );
}

/** `{…}` from optional fields, plus, at times, dangerous extra keys. */
function objectText(
  fields: Record<string, fc.Arbitrary<string | undefined>>,
): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.record(fields),
      fc.array(fc.tuple(fc.constantFrom(...DANGEROUS_KEYS), hostileJsonText), { maxLength: 2 }),
    )
    .map(([record, extra]) => {
      const entries: string[] = [];
      for (const [k, v] of Object.entries(record)) {
        if (v !== undefined) entries.push(`${JSON.stringify(k)}:${v}`);
      }
      for (const [k, v] of extra) entries.push(`${JSON.stringify(k)}:${v}`);
      return `{${entries.join(',')}}`;
    });
}

const known = (...values: string[]) => fc.constantFrom(...values).map((v) => JSON.stringify(v));
const anyKnown = fc.constantFrom(...KNOWN_VALUES, ...DANGEROUS_KEYS).map((v) => JSON.stringify(v));
const id = fc.oneof(
  fc.constantFrom('c-1', 'cust-10', 't-1', '42').map((v) => JSON.stringify(v)),
  fc.integer({ min: 0, max: 1e9 }).map(String),
);
const bool = fc.constantFrom('true', 'false', '"true"', '"false"', '"TRUE"', '"yes"', '1', 'null');
const date = known(
  '2026-11-23T06:05:00Z',
  '2026-11-23T06:05:00.999-05:00',
  '+275760-09-13T00:00:00.000Z',
  'not a date',
);

const budTask = objectText({
  task_id: fieldOf(id),
  provider: fieldOf(anyKnown),
  status: fieldOf(known('Completed', 'Failed', 'completed', 'FAILED', 'constructor')),
  result: fieldOf(known('success', 'connection_revoked', 'provider_not_found', '__proto__')),
  reconnect_required: fieldOf(bool),
  has_new_transactions: fieldOf(bool),
  consent_ids: fieldOf(fc.array(id, { maxLength: 3 }).map((xs) => `[${xs.join(',')}]`)),
  consent_details: fieldOf(objectText({ id: fieldOf(id) })),
  consent_id: fieldOf(id),
  start_time: fieldOf(date),
});

/** Bodies shaped like the real ones (Bud V1, V2, consent; Yodlee), each field present, absent or hostile. */
export const shapedBodyText: fc.Arbitrary<{ source: 'bud' | 'yodlee'; text: string }> = fc.oneof(
  objectText({
    data: fieldOf(
      objectText({
        customer_id: fieldOf(id),
        task_id: fieldOf(id),
        task_type: fieldOf(known('refresh', 'connect', 'Refresh!', 'x'.repeat(60))),
        status: fieldOf(known('Completed', 'Failed', 'toString')),
        result: fieldOf(known('success', 'provider_failure', 'valueOf')),
        reconnect_required: fieldOf(bool),
        has_new_transactions: fieldOf(bool),
        provider: fieldOf(anyKnown),
        consent_id: fieldOf(id),
      }),
    ),
  }).map((text) => ({ source: 'bud' as const, text })),
  objectText({
    event: fieldOf(
      known(
        'open_banking.v2.refresh.completed',
        'open_banking.v2.refresh.provider.completed',
        'open_banking.consent.revoked',
        'open_banking.consent.reconfirmed',
        'open_banking.something.else',
        ...DANGEROUS_KEYS,
      ),
    ),
    customer_id: fieldOf(id),
    task_id: fieldOf(id),
    status: fieldOf(known('Completed', 'Failed')),
    result: fieldOf(known('success', 'connection_revoked')),
    reconnect_required: fieldOf(bool),
    has_new_transactions: fieldOf(bool),
    start_time: fieldOf(date),
    updated_at: fieldOf(date),
    provider: fieldOf(anyKnown),
    consent_id: fieldOf(id),
    sub_tasks: fieldOf(
      fc
        .array(fc.oneof(budTask, hostileJsonText), { maxLength: 4 })
        .map((xs) => `[${xs.join(',')}]`),
    ),
  }).map((text) => ({ source: 'bud' as const, text })),
  objectText({
    event: fieldOf(
      objectText({
        info: fieldOf(
          known('REFRESH.PROCESS_COMPLETED', 'REFRESH.INTERIM_PROGRESS', 'AUTO_REFRESH_UPDATES'),
        ),
        loginName: fieldOf(id),
        data: fieldOf(
          objectText({
            providerAccount: fieldOf(
              fc
                .array(
                  objectText({
                    id: fieldOf(id),
                    providerId: fieldOf(id),
                    requestId: fieldOf(id),
                    status: fieldOf(
                      known(
                        'SUCCESS',
                        'FAILED',
                        'PARTIAL_SUCCESS',
                        'IN_PROGRESS',
                        'hasOwnProperty',
                      ),
                    ),
                    dataset: fieldOf(
                      fc
                        .array(
                          objectText({
                            additionalStatus: fieldOf(anyKnown),
                            updateEligibility: fieldOf(
                              known('ALLOW_UPDATE', 'ALLOW_UPDATE_WITH_CREDENTIALS', 'constructor'),
                            ),
                            lastUpdated: fieldOf(date),
                            lastUpdateAttempt: fieldOf(date),
                          }),
                          { maxLength: 4 },
                        )
                        .map((xs) => `[${xs.join(',')}]`),
                    ),
                  }),
                  { maxLength: 4 },
                )
                .map((xs) => `[${xs.join(',')}]`),
            ),
          }),
        ),
      }),
    ),
  }).map((text) => ({ source: 'yodlee' as const, text })),
);

/** Byte sequences that are not UTF-8: stray continuation, overlong, truncated, surrogate, > U+10FFFF. */
export const INVALID_UTF8: readonly (readonly number[])[] = [
  [0xff],
  [0xfe],
  [0x80],
  [0xc0, 0x80],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0x80],
  [0xe2, 0x82],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
];

export interface WebhookFixture {
  readonly name: string;
  readonly source: string;
  /** The body as stored in the fixture, compact. */
  readonly bytes: Buffer;
  /** The parsed body (undefined when the fixture holds text that does not parse). */
  readonly body: unknown;
}

/** Every fixture under test/fixtures/webhooks. */
export function loadWebhookFixtures(): WebhookFixture[] {
  const dir = path.join(import.meta.dirname, '../../fixtures/webhooks');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const fixture = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as {
        source: string;
        body?: unknown;
        bodyText?: string;
      };
      const text = fixture.bodyText ?? JSON.stringify(fixture.body);
      return {
        name: f.slice(0, -'.json'.length),
        source: fixture.source,
        bytes: Buffer.from(text),
        body: fixture.bodyText === undefined ? fixture.body : undefined,
      };
    });
}

export type JsonPath = readonly (string | number)[];

/** Every path in a JSON value, the root included. */
export function pathsOf(value: unknown, prefix: JsonPath = []): JsonPath[] {
  const out: JsonPath[] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...prefix, i])));
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  }
  return out;
}

/** What to do at one path of a real body. */
export type Mutation =
  | { kind: 'replace'; text: string }
  | { kind: 'delete' }
  | { kind: 'sibling'; key: string; text: string }
  | { kind: 'wrap' }
  | { kind: 'stringify' };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: hostileJsonText.map((text) => ({ kind: 'replace' as const, text })), weight: 5 },
  { arbitrary: fc.constant({ kind: 'delete' as const }), weight: 1 },
  {
    arbitrary: fc
      .tuple(fc.constantFrom(...DANGEROUS_KEYS, ...FIELD_NAMES), hostileJsonText)
      .map(([key, text]) => ({ kind: 'sibling' as const, key, text })),
    weight: 2,
  },
  { arbitrary: fc.constant({ kind: 'wrap' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'stringify' as const }), weight: 1 },
);

/** Writes `value` as JSON text with `change` applied at `at` (raw text, so `-0` and `1e999` survive). */
export function renderMutated(value: unknown, at: JsonPath, change: Mutation): string {
  const render = (v: unknown, here: JsonPath): string => {
    const target = here.length === at.length && here.every((p, i) => p === at[i]);
    if (target) {
      switch (change.kind) {
        case 'replace':
          return change.text;
        case 'wrap':
          return `[${plain(v, here)}]`;
        case 'stringify':
          return JSON.stringify(plain(v, here));
        case 'delete':
          return 'null'; // only reached at the root or in arrays; object members are skipped below
        case 'sibling':
          return plain(v, here, change);
      }
    }
    return plain(v, here);
  };
  const plain = (v: unknown, here: JsonPath, extra?: { key: string; text: string }): string => {
    if (Array.isArray(v)) return `[${v.map((x, i) => render(x, [...here, i])).join(',')}]`;
    if (typeof v === 'object' && v !== null) {
      const entries = Object.entries(v)
        .filter(([k]) => {
          const child = [...here, k];
          const isTarget = child.length === at.length && child.every((p, i) => p === at[i]);
          return !(isTarget && change.kind === 'delete');
        })
        .map(([k, x]) => `${JSON.stringify(k)}:${render(x, [...here, k])}`);
      if (extra) entries.push(`${JSON.stringify(extra.key)}:${extra.text}`);
      return `{${entries.join(',')}}`;
    }
    return JSON.stringify(v);
  };
  return render(value, []);
}
