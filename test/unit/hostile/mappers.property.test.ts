/**
 * Hostile input to the mappers (issue 8): whatever the raw topic holds, `mapRawWebhook` never
 * throws; it answers events that encode with the Avro RefreshEvent schema, or a rejection with a
 * documented code that the DLQ can carry. Same input, same event ids. No prototype pollution.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import fc from 'fast-check';
import type { KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetter } from '../../../src/normalize/dlq.js';
import { mapBud } from '../../../src/normalize/mappers/bud.js';
import { mapRawWebhook } from '../../../src/normalize/mappers/index.js';
import { mapYodlee } from '../../../src/normalize/mappers/yodlee.js';
import type { MapResult, RawWebhook, RejectionCode } from '../../../src/normalize/types.js';
import {
  CaseCounter,
  DANGEROUS_KEYS,
  INVALID_UTF8,
  MIN_CASES,
  RUNS,
  SEED,
  hostileJsonText,
  hostileKey,
  loadWebhookFixtures,
  mutation,
  pathsOf,
  renderMutated,
  shapedBodyText,
} from './arbitraries.js';
import { DEFAULT_TOPICS } from '../../../src/contract/topics.js';
import { HEADER } from '../../../src/contract/headers.js';

const REJECTION_CODES: ReadonlySet<RejectionCode> = new Set([
  'UNKNOWN_SOURCE',
  'INVALID_JSON',
  'UNKNOWN_SHAPE',
  'UNSUPPORTED_EVENT',
  'UNUSED_EVENT',
  'MISSING_FIELD',
  'INVALID_FIELD',
  'LIMIT_EXCEEDED',
]);
const EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const refreshEvent = avro.Type.forSchema(
  JSON.parse(
    readFileSync(path.join(import.meta.dirname, '../../../schemas/RefreshEvent.avsc'), 'utf8'),
  ) as avro.Schema,
);

const fixtures = loadWebhookFixtures();
const parsable = fixtures.filter((f) => f.body !== undefined);
const RECEIVED_AT = Date.parse('2026-11-23T10:00:00.000Z');
const counter = new CaseCounter();
const options = (numRuns: number) => ({ seed: SEED, numRuns });

function rawOf(source: string | undefined, value: Buffer): RawWebhook {
  return {
    source,
    value,
    receivedAt: RECEIVED_AT,
    ingestId: 'ingest-1',
    topic: DEFAULT_TOPICS.webhooksRaw,
    partition: 3,
    offset: 17,
  };
}

/** What the raw topic may carry in `ob-source`: ours, someone else's, none, or a prototype name. */
const anySource = fc.oneof(
  { arbitrary: fc.constantFrom('bud', 'yodlee'), weight: 6 },
  {
    arbitrary: fc.constantFrom(undefined, '', 'BUD', 'Yodlee', 'plaid', ' bud', ...DANGEROUS_KEYS),
    weight: 3,
  },
  { arbitrary: fc.string({ maxLength: 10 }), weight: 1 },
);

/**
 * The contract of a mapper's answer, checked on every generated case: a documented rejection a
 * dead letter can be built from, or Avro-valid events that carry the raw record's lineage; and a
 * re-delivery (other ingest id, offset, receipt time) maps to the same ids.
 */
function expectContract(raw: RawWebhook, result: MapResult): void {
  expect(typeof result.ok).toBe('boolean');
  if (!result.ok) {
    expect(REJECTION_CODES).toContain(result.code);
    expect(typeof result.message).toBe('string');
    expect(result.message.length).toBeGreaterThan(0);
    const input: KafkaMessage = {
      key: null,
      value: raw.value,
      headers: { [HEADER.source]: raw.source ?? '' },
      offset: String(raw.offset),
      timestamp: String(RECEIVED_AT),
      attributes: 0,
    };
    const letter = deadLetter(input, { topic: raw.topic, partition: raw.partition }, result);
    expect(letter.headers?.[HEADER.errorCode]).toBe(result.code);
    expect(letter.value).toBe(raw.value);
  } else {
    expect(Array.isArray(result.events)).toBe(true);
    for (const event of result.events) {
      const bad: string[] = [];
      if (!refreshEvent.isValid(event, { errorHook: (p) => bad.push(p.join('.')) })) {
        throw new Error(
          `not a valid RefreshEvent (${bad.join(', ')}): ${JSON.stringify(event).slice(0, 400)}`,
        );
      }
      refreshEvent.toBuffer(event);
      expect(event.source).toBe(raw.source === 'bud' ? 'BUD' : 'YODLEE');
      expect(event.customer_id.length).toBeGreaterThan(0);
      expect(event.event_id).toMatch(EVENT_ID);
      expect([event.received_at, event.ingest_id, event.raw_topic]).toEqual([
        raw.receivedAt,
        raw.ingestId,
        raw.topic,
      ]);
      expect([event.raw_partition, event.raw_offset]).toEqual([raw.partition, raw.offset]);
    }
  }
  const again = mapRawWebhook({
    ...raw,
    ingestId: 'ingest-2',
    offset: raw.offset + 1000,
    partition: raw.partition + 1,
    receivedAt: raw.receivedAt + 60_000,
  });
  if (result.ok && again.ok) {
    expect(again.events.map((e) => e.event_id)).toEqual(result.events.map((e) => e.event_id));
  } else {
    expect(again.ok ? 'events' : again.code).toBe(result.ok ? 'events' : result.code);
  }
}

function check(raw: RawWebhook): MapResult {
  const result = mapRawWebhook(raw);
  expectContract(raw, result);
  return result;
}

const prototypeBefore = {
  object: Object.getOwnPropertyNames(Object.prototype).sort(),
  array: Object.getOwnPropertyNames(Array.prototype).sort(),
};
function expectNoPollution() {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore.object);
  expect(Object.getOwnPropertyNames(Array.prototype).sort()).toEqual(prototypeBefore.array);
}

beforeAll(() => {
  expect(parsable.length).toBeGreaterThanOrEqual(30);
});
afterAll(() => {
  console.log(counter.report('mappers.property.test.ts'));
});

describe('mapRawWebhook on hostile raw records', () => {
  it('answers events or a documented rejection for arbitrary bytes under any ob-source', () => {
    fc.assert(
      fc.property(
        anySource,
        fc.uint8Array({ maxLength: 2048 }),
        counter.counted('arbitrary bytes', (source, bytes) => {
          check(rawOf(source, Buffer.from(bytes)));
        }),
      ),
      options(RUNS.mappers.rawBytes),
    );
  }, 120_000);

  it('answers events or a documented rejection for arbitrary JSON (huge numbers, -0, 1e999, lone surrogates, prototype keys)', () => {
    fc.assert(
      fc.property(
        anySource,
        hostileJsonText,
        counter.counted('hostile JSON', (source, text) => {
          check(rawOf(source, Buffer.from(text)));
        }),
      ),
      options(RUNS.mappers.hostileJson),
    );
  }, 120_000);

  it('maps bodies shaped like Bud V1/V2/consent and Yodlee, each field absent, plausible or hostile', () => {
    fc.assert(
      fc.property(
        shapedBodyText,
        counter.counted('shaped bodies', ({ source, text }) => {
          check(rawOf(source, Buffer.from(text)));
        }),
      ),
      options(RUNS.mappers.shapedBodies),
    );
  }, 120_000);

  it('survives every fixture mutated at any path: wrong type, deleted, prototype sibling, wrapped, stringified', () => {
    const cases = fc
      .constantFrom(...parsable)
      .chain((f) => fc.tuple(fc.constant(f), fc.constantFrom(...pathsOf(f.body)), mutation));
    fc.assert(
      fc.property(
        cases,
        counter.counted('fixture mutations', ([fixture, at, change]) => {
          const text = renderMutated(fixture.body, at, change);
          check(rawOf(fixture.source, Buffer.from(text)));
        }),
      ),
      options(RUNS.mappers.fixtureMutations),
    );
  }, 120_000);

  it('rejects a fixture with an invalid UTF-8 sequence anywhere as INVALID_JSON', () => {
    const cases = fc
      .constantFrom(...fixtures)
      .chain((f) =>
        fc.tuple(
          fc.constant(f),
          fc.integer({ min: 0, max: f.bytes.length }),
          fc.constantFrom(...INVALID_UTF8),
        ),
      );
    fc.assert(
      fc.property(
        cases,
        counter.counted('invalid UTF-8', ([fixture, at, sequence]) => {
          const value = Buffer.concat([
            fixture.bytes.subarray(0, at),
            Buffer.from(sequence),
            fixture.bytes.subarray(at),
          ]);
          expect(check(rawOf(fixture.source, value))).toMatchObject({
            ok: false,
            code: 'INVALID_JSON',
          });
        }),
      ),
      options(RUNS.mappers.invalidUtf8),
    );
  }, 120_000);

  it('rejects a truncated pretty-printed fixture as INVALID_JSON', () => {
    const cases = fc.constantFrom(...parsable).chain((f) => {
      const pretty = Buffer.from(JSON.stringify(f.body, null, 2));
      return fc.tuple(fc.constant(f.source), fc.constant(pretty), fc.nat(pretty.length - 1));
    });
    fc.assert(
      fc.property(
        cases,
        counter.counted('truncated (pretty)', ([source, bytes, cut]) => {
          expect(check(rawOf(source, bytes.subarray(0, cut)))).toMatchObject({
            ok: false,
            code: 'INVALID_JSON',
          });
        }),
      ),
      options(RUNS.mappers.truncated),
    );
  }, 120_000);

  it('rejects every strict prefix of every fixture as INVALID_JSON (exhaustive)', () => {
    let n = 0;
    for (const fixture of parsable) {
      for (let cut = 0; cut < fixture.bytes.length; cut++) {
        const result = mapRawWebhook(rawOf(fixture.source, fixture.bytes.subarray(0, cut)));
        if (result.ok || result.code !== 'INVALID_JSON') {
          throw new Error(`${fixture.name} cut at ${cut}: ${JSON.stringify(result).slice(0, 200)}`);
        }
        n++;
      }
    }
    console.log(`[hostile] every strict prefix of every fixture: ${n} cases (exhaustive)`);
    expect(n).toBeGreaterThan(5000);
  }, 60_000);

  it('answers deep nesting (up to 100,000 levels) without a stack overflow', () => {
    const nested = fc
      .tuple(
        fc.integer({ min: 1, max: 100_000 }),
        fc.constantFrom('array', 'data', 'event', 'providerAccount', 'customer_id', 'unbalanced'),
      )
      .map(([n, where]) => {
        const deep = '['.repeat(n) + ']'.repeat(n);
        switch (where) {
          case 'array':
            return deep;
          case 'data':
            return '{"data":'.repeat(n) + '{}' + '}'.repeat(n);
          case 'event':
            return `{"event":{"info":"REFRESH.PROCESS_COMPLETED","loginName":"u","data":{"providerAccount":[{"id":1,"dataset":${deep}}]}}}`;
          case 'providerAccount':
            return `{"event":{"info":"REFRESH.PROCESS_COMPLETED","loginName":"u","data":{"providerAccount":${deep}}}}`;
          case 'customer_id':
            return `{"data":{"customer_id":${deep},"status":"Completed"}}`;
          case 'unbalanced':
            return '{"data":'.repeat(n);
        }
      });
    fc.assert(
      fc.property(
        fc.constantFrom('bud', 'yodlee'),
        nested,
        counter.counted('deep nesting', (source, text) => {
          check(rawOf(source, Buffer.from(text)));
        }),
      ),
      options(RUNS.mappers.deepNesting),
    );
  }, 120_000);
});

describe('the source mappers on any parsed value', () => {
  const anyValue = fc.oneof(
    fc.jsonValue(),
    fc.anything({
      key: hostileKey,
      maxDepth: 4,
      withNullPrototype: true,
      withBoxedValues: true,
      withObjectString: true,
      withSparseArray: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withBigInt: true,
    }),
  );
  // the value placed where each mapper looks deepest, and at the top
  const placed = anyValue.chain((x) =>
    fc.constantFrom(
      { source: 'bud' as const, body: x },
      { source: 'bud' as const, body: { data: x } },
      { source: 'bud' as const, body: { data: { customer_id: 'c', status: x, result: x } } },
      {
        source: 'bud' as const,
        body: { event: 'open_banking.v2.refresh.completed', customer_id: 'c', sub_tasks: [x, x] },
      },
      {
        source: 'bud' as const,
        body: { event: 'open_banking.consent.revoked', customer_id: x, updated_at: x },
      },
      { source: 'yodlee' as const, body: x },
      { source: 'yodlee' as const, body: { event: x } },
      {
        source: 'yodlee' as const,
        body: { event: { info: 'REFRESH.PROCESS_COMPLETED', loginName: 'u', data: x } },
      },
      {
        source: 'yodlee' as const,
        body: {
          event: {
            info: 'REFRESH.INTERIM_PROGRESS',
            loginName: 'u',
            data: { providerAccount: [x, { id: 1, dataset: [x, x] }] },
          },
        },
      },
    ),
  );

  it('mapBud and mapYodlee never throw and answer the contract for any value, even non-JSON ones', () => {
    fc.assert(
      fc.property(
        placed,
        counter.counted('source mappers (any value)', ({ source, body }) => {
          const raw = rawOf(source, Buffer.from('{}'));
          const result = source === 'bud' ? mapBud(raw, body) : mapYodlee(raw, body);
          if (!result.ok) {
            expect(REJECTION_CODES).toContain(result.code);
            return;
          }
          for (const event of result.events) expect(refreshEvent.isValid(event)).toBe(true);
        }),
      ),
      options(RUNS.mappers.sourceMappers),
    );
  }, 120_000);
});

describe('prototype pollution', () => {
  it('no body can pollute Object.prototype: __proto__ and constructor.prototype at every path of every fixture', () => {
    const payloads = [
      { key: '__proto__', text: '{"polluted":"yes"}' },
      { key: 'constructor', text: '{"prototype":{"polluted":"yes"}}' },
      { key: 'prototype', text: '{"polluted":"yes"}' },
    ];
    let n = 0;
    for (const fixture of parsable) {
      for (const at of pathsOf(fixture.body)) {
        for (const { key, text } of payloads) {
          check(
            rawOf(
              fixture.source,
              Buffer.from(renderMutated(fixture.body, at, { kind: 'sibling', key, text })),
            ),
          );
          n++;
        }
      }
    }
    expect(n).toBeGreaterThan(1000);
    expectNoPollution();
  }, 60_000);

  it('left Object.prototype and Array.prototype as they were after every property above', () => {
    expectNoPollution();
  });
});

describe('the Yodlee dataset fold', () => {
  const datasetStatus = fc.oneof(
    fc.constantFrom(
      'AVAILABLE_DATA_RETRIEVED',
      'PARTIAL_DATA_RETRIEVED',
      'INCORRECT_CREDENTIALS',
      'CONSENT_EXPIRED',
      'ADDL_AUTHENTICATION_REQUIRED',
      'ACCOUNT_LOCKED',
      'SITE_UNAVAILABLE',
      'SITE_NOT_SUPPORTED',
      'LOGIN_IN_PROGRESS',
      'NOT_A_REAL_CODE',
    ),
    fc.constantFrom(...DANGEROUS_KEYS),
  );

  it('decides the same action whatever the order of the datasets (an unknown or prototype-named code never hides a known problem)', () => {
    fc.assert(
      fc.property(
        fc.array(datasetStatus, { minLength: 1, maxLength: 5 }),
        fc.constantFrom('SUCCESS', 'FAILED', 'PARTIAL_SUCCESS', 'IN_PROGRESS'),
        counter.counted('yodlee fold order', (statuses, status) => {
          const body = (order: string[]) =>
            JSON.stringify({
              event: {
                info: 'REFRESH.PROCESS_COMPLETED',
                loginName: 'u',
                data: {
                  providerAccount: [
                    { id: 1, status, dataset: order.map((s) => ({ additionalStatus: s })) },
                  ],
                },
              },
            });
          const decided = (order: string[]) => {
            const result = check(rawOf('yodlee', Buffer.from(body(order))));
            if (!result.ok) throw new Error(`rejected: ${result.code}`);
            const [e] = result.events;
            return [e?.phase, e?.outcome, e?.action_required, e?.reconnect_required];
          };
          expect(decided([...statuses].reverse())).toEqual(decided(statuses));
        }),
      ),
      options(RUNS.mappers.yodleeFold),
    );
  }, 120_000);
});

describe('regressions found by the properties above', () => {
  it('an ob-source named like an Object.prototype member ("valueOf", "__proto__", "constructor", "toString", "hasOwnProperty") is UNKNOWN_SOURCE, not a crash', () => {
    // shrunk counterexample: ["valueOf", "[]"]: the mapper table was indexed with the header
    for (const source of ['valueOf', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(mapRawWebhook(rawOf(source, Buffer.from('[]')))).toMatchObject({
        ok: false,
        code: 'UNKNOWN_SOURCE',
      });
    }
  });

  it('a Bud event named like an Object.prototype member ("toString", "hasOwnProperty") is UNSUPPORTED_EVENT, not an event Avro cannot encode', () => {
    // shrunk counterexample: {"event":"toString","customer_id":" ",…}; the fixture
    // bud-consent-revoked with event "hasOwnProperty" gave outcome/action undefined
    for (const event of ['toString', 'hasOwnProperty', 'constructor', '__proto__', 'valueOf']) {
      const body = JSON.stringify({ event, customer_id: 'cust-10', consent_id: 'consent-1' });
      expect(check(rawOf('bud', Buffer.from(body)))).toMatchObject({
        ok: false,
        code: 'UNSUPPORTED_EVENT',
      });
    }
  });

  it('a Yodlee additionalStatus named like an Object.prototype member is an unknown code and does not hide SITE_NOT_SUPPORTED after it', () => {
    // shrunk counterexample of the fold-order property: [["__proto__","SITE_NOT_SUPPORTED"],"SUCCESS"]
    const body = JSON.stringify({
      event: {
        info: 'REFRESH.PROCESS_COMPLETED',
        loginName: 'u',
        data: {
          providerAccount: [
            {
              id: 1,
              status: 'SUCCESS',
              dataset: [
                { additionalStatus: '__proto__' },
                { additionalStatus: 'SITE_NOT_SUPPORTED' },
              ],
            },
          ],
        },
      },
    });
    expect(check(rawOf('yodlee', Buffer.from(body)))).toMatchObject({
      ok: true,
      events: [{ action_required: 'UNSUPPORTED', result_code: 'SITE_NOT_SUPPORTED' }],
    });
  });

  it('a Yodlee additionalStatus named like an Object.prototype member does not hide INCORRECT_CREDENTIALS after it', () => {
    // the same defect on a failed account: ["toString", "INCORRECT_CREDENTIALS"] gave RETRY_LATER
    const body = JSON.stringify({
      event: {
        info: 'REFRESH.PROCESS_COMPLETED',
        loginName: 'u',
        data: {
          providerAccount: [
            {
              id: 1,
              status: 'FAILED',
              dataset: [
                { additionalStatus: 'toString' },
                { additionalStatus: 'INCORRECT_CREDENTIALS' },
              ],
            },
          ],
        },
      },
    });
    expect(check(rawOf('yodlee', Buffer.from(body)))).toMatchObject({
      ok: true,
      events: [
        {
          action_required: 'UPDATE_CREDENTIALS',
          reconnect_required: true,
          result_code: 'INCORRECT_CREDENTIALS',
        },
      ],
    });
  });
});

describe('the case budget', () => {
  it('ran every planned generated case of this file, and at least its floor of the suite’s 10,000', () => {
    expect(counter.total).toBe(Object.values(RUNS.mappers).reduce((a, b) => a + b, 0));
    expect(counter.total).toBeGreaterThanOrEqual(MIN_CASES.mappers);
  });
});
