/**
 * Plaid, the third source (issue 19): every example of Plaid's own Item and Transactions webhook
 * schemas (reference/plaid/webhooks.yaml) is a fixture, mapped through `mapRawWebhook` with a
 * directory that knows its Item and compared with its expected canonical output; the Item lookup
 * comes after the webhook's kind is known; unknown error codes are carried; hostile bodies are
 * refused with a documented code, never a throw. The directory is asked with the ingest's
 * lower-case source, `plaid`. A Plaid event id includes the ingest id (mapPlaid): the same raw
 * record keeps its id, another delivery of the same body is another event.
 *
 * The Plaid fixtures live in `plaid/` below test/fixtures/webhooks and test/fixtures/expected: the
 * suites that read those folders flat map without a directory, where every sound Plaid webhook is
 * UNREGISTERED_CONNECTION.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import avro from 'avsc';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { Expected } from '../../support/fixtures.js';
import { LINEAGE, expectMapped, rawWith } from '../../support/fixtures.js';
import { mapRawWebhook } from '../../../src/normalize/mappers/index.js';
import { PLAID_ERROR_CODES } from '../../../src/normalize/mappers/plaid-codes.js';
import { backwardProblem } from '../../../src/ops/schemas.js';
import type {
  ConnectionDirectory,
  MapResult,
  RawWebhook,
  RefreshEvent,
  RejectionCode,
} from '../../../src/normalize/types.js';
import { EMPTY_DIRECTORY } from '../../../src/normalize/types.js';
import {
  DANGEROUS_KEYS,
  SEED,
  hostileJsonText,
  mutation,
  pathsOf,
  renderMutated,
} from '../hostile/arbitraries.js';

const fixtures = path.join(import.meta.dirname, '../../fixtures');
const webhooksDir = path.join(fixtures, 'webhooks/plaid');
const expectedDir = path.join(fixtures, 'expected/plaid');
const names = readdirSync(webhooksDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort();

interface Fixture {
  source: string;
  note: string;
  body: unknown;
}

const fixture = (name: string) =>
  JSON.parse(readFileSync(path.join(webhooksDir, `${name}.json`), 'utf8')) as Fixture;
const expectation = (name: string) =>
  JSON.parse(readFileSync(path.join(expectedDir, `${name}.json`), 'utf8')) as Expected;

/** Plaid's example Items (webhooks.yaml), registered to two customers of the client. */
const ITEM_1 = 'wz666MBjYWTp2PDzzggYhM6oWWmBb';
const ITEM_2 = 'gAXlMgVEw5uEGoQnnXZ6tn9E7Mn3LBc4PJVKZ';
const OWNERS = new Map([
  [ITEM_1, 'customer-plaid-1'],
  [ITEM_2, 'customer-plaid-2'],
]);

/** A directory over `owners` that records what it was asked. */
function directory(owners: ReadonlyMap<string, string> = OWNERS) {
  const asked: [string, string][] = [];
  const dir: ConnectionDirectory = {
    customerOf(source, connectionId) {
      asked.push([source, connectionId]);
      return owners.get(connectionId);
    },
  };
  return { dir, asked };
}

const RECEIVED_AT = LINEAGE.receivedAt;
const rawOf = (body: unknown, overrides: Partial<RawWebhook> = {}): RawWebhook =>
  rawWith('plaid', typeof body === 'string' ? body : JSON.stringify(body), overrides);
const map = (body: unknown, dir: ConnectionDirectory = directory().dir): MapResult =>
  mapRawWebhook(rawOf(body), dir);
const codeOf = (r: MapResult) => (r.ok ? 'events' : r.code);
function eventOf(r: MapResult): RefreshEvent {
  if (!r.ok) throw new Error(`rejected: ${r.code} ${r.message}`);
  expect(r.events).toHaveLength(1);
  return r.events[0] as RefreshEvent;
}

const schemaText = readFileSync(
  path.join(import.meta.dirname, '../../../schemas/RefreshEvent.avsc'),
  'utf8',
);
const refreshEvent = avro.Type.forSchema(JSON.parse(schemaText) as avro.Schema);
const EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('mapping every Plaid fixture to its expected canonical output', () => {
  it('has fixtures, each with an expectation', () => {
    expect(names.length).toBeGreaterThanOrEqual(20);
    const expectations = new Set(readdirSync(expectedDir).map((f) => f.slice(0, -5)));
    expect(names.filter((n) => !expectations.has(n))).toEqual([]);
    for (const n of names) expect(fixture(n).source).toBe('plaid');
  });

  it.each(names)('%s', (name) => {
    expectMapped(map(fixture(name).body), expectation(name));
  });
});

describe("Plaid's own examples (reference/plaid/webhooks.yaml)", () => {
  // the shared reference beside the checkout when there is one, else the copy kept with the fixtures
  const shared = path.join(import.meta.dirname, '../../../../shared/reference/plaid/webhooks.yaml');
  const kept = path.join(webhooksDir, 'reference-webhooks.yaml');
  const specText = readFileSync(existsSync(shared) ? shared : kept, 'utf8');
  const spec = parseYaml(specText) as {
    webhooks: string[];
    schemas: Record<string, { 'x-examples'?: Record<string, unknown> }>;
  };
  const examples = spec.webhooks.flatMap((name) =>
    Object.entries(spec.schemas[name]?.['x-examples'] ?? {}).map(([example, body]) => ({
      id: `${name} / ${example}`,
      body,
    })),
  );

  it('kept copy (prettier-formatted) says what the shared reference says, when it is beside the checkout', () => {
    if (existsSync(shared))
      expect(parseYaml(readFileSync(kept, 'utf8'))).toEqual(
        parseYaml(readFileSync(shared, 'utf8')),
      );
    else expect(existsSync(kept)).toBe(true);
  });

  it('lists the 13 Item and Transactions webhooks, each with an example', () => {
    expect(spec.webhooks).toHaveLength(13);
    expect(examples).toHaveLength(13);
  });

  it.each(examples)('$id has a verbatim fixture with its expected output', ({ body }) => {
    const match = names.find((n) => isDeepStrictEqual(fixture(n).body, body));
    expect(match).toBeDefined();
    expect(match?.startsWith('plaid-api-')).toBe(true);
  });

  it('every other fixture is labelled: another Plaid example, or an edge case', () => {
    for (const n of names.filter((x) => !x.startsWith('plaid-api-'))) {
      const note = fixture(n).note;
      expect(
        note.startsWith('EDGE CASE (not one of Plaid') || note.startsWith("Plaid's own example"),
      ).toBe(true);
    }
  });
});

describe('event ids', () => {
  const mappable = names.filter((n) => 'events' in expectation(n));

  // Plaid's bodies carry no delivery id and repeat themselves (every SYNC_UPDATES_AVAILABLE of an
  // Item, every ITEM_LOGIN_REQUIRED): the ingest id, one per delivery, is part of the event id
  // (mapPlaid). Unlike Bud's and Yodlee's (mappers.test.ts), a Plaid re-delivery is a new event.
  it.each(mappable)(
    '%s: the same raw record (same ingest id; other offset, partition, receipt time, whitespace) keeps the id',
    (name) => {
      const body = fixture(name).body;
      const first = eventOf(map(body));
      const again = eventOf(
        mapRawWebhook(
          rawOf(JSON.stringify(body, null, 2), {
            offset: 99,
            partition: 0,
            receivedAt: RECEIVED_AT + 5000,
          }),
          directory().dir,
        ),
      );
      expect(again.ingest_id).toBe('ingest-1');
      expect(again.event_id).toBe(first.event_id);
    },
  );

  it.each(mappable)(
    '%s: another delivery of the same body (another ingest id) is another event, with another id',
    (name) => {
      const body = fixture(name).body;
      const first = eventOf(map(body));
      const delivered = (ingestId: string) =>
        eventOf(mapRawWebhook(rawOf(body, { ingestId }), directory().dir));
      const second = delivered('ingest-2');
      expect(second.event_id).toMatch(EVENT_ID);
      expect(second.event_id).not.toBe(first.event_id);
      // everything else the event says is the same
      expect({ ...second, event_id: first.event_id, ingest_id: 'ingest-1' }).toEqual(first);
      // and each delivery keeps its own id
      expect(delivered('ingest-2').event_id).toBe(second.event_id);
    },
  );

  it('are unique across the fixtures', () => {
    const ids = mappable.map((n) => eventOf(map(fixture(n).body)).event_id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('tell apart what Plaid tells apart: counts, pull progress, accounts, expiry, environment', () => {
    const id = (name: string, over: Record<string, unknown>) =>
      eventOf(map({ ...(fixture(name).body as object), ...over })).event_id;
    const sync = 'plaid-api-sync-updates-available-example';
    expect(id(sync, { historical_update_complete: true })).not.toBe(id(sync, {}));
    expect(id(sync, { environment: 'sandbox' })).not.toBe(id(sync, {}));
    const update = 'plaid-api-default-update-example';
    expect(id(update, { new_transactions: 4 })).not.toBe(id(update, {}));
    const revoked = 'plaid-api-user-account-revoked-example';
    expect(id(revoked, { account_id: 'other' })).not.toBe(id(revoked, {}));
    const expiring = 'plaid-api-pending-expiration-example';
    expect(id(expiring, { consent_expiration_time: '2020-01-16T13:25:17.766Z' })).not.toBe(
      id(expiring, {}),
    );
    // the same webhook of an Item registered to another customer is another customer's event
    const other = directory(new Map([[ITEM_1, 'someone-else']])).dir;
    expect(eventOf(map(fixture(sync).body, other)).event_id).not.toBe(id(sync, {}));
  });
});

describe('the connection directory', () => {
  const sync = () => fixture('plaid-api-sync-updates-available-example').body as object;

  it('is asked for the Item under the lower-case source "plaid" (as the ingest route names it); its customer keys the event', () => {
    const { dir, asked } = directory();
    expect(eventOf(map(sync(), dir)).customer_id).toBe('customer-plaid-1');
    expect(asked).toEqual([['plaid', ITEM_1]]);
    // a directory that knows the Item under "PLAID" only does not know it
    const upper: ConnectionDirectory = {
      customerOf: (source, item) => (source === 'PLAID' ? OWNERS.get(item) : undefined),
    };
    expect(map(sync(), upper)).toMatchObject({ ok: false, code: 'UNREGISTERED_CONNECTION' });
  });

  it('an Item it does not know is UNREGISTERED_CONNECTION naming the item_id (the default directory knows none)', () => {
    const result = map(sync(), directory(new Map()).dir);
    expect(result).toMatchObject({ ok: false, code: 'UNREGISTERED_CONNECTION' });
    expect(!result.ok && result.message).toContain(ITEM_1);
    expect(mapRawWebhook(rawOf(sync()))).toMatchObject({ code: 'UNREGISTERED_CONNECTION' });
    expect(mapRawWebhook(rawOf(sync()), EMPTY_DIRECTORY)).toMatchObject({
      code: 'UNREGISTERED_CONNECTION',
    });
    // an empty customer is no customer
    expect(map(sync(), directory(new Map([[ITEM_1, '']])).dir)).toMatchObject({
      code: 'UNREGISTERED_CONNECTION',
    });
  });

  it.each([
    ['plaid-api-transactions-removed-example', 'UNUSED_EVENT'],
    ['plaid-api-new-accounts-available-example', 'UNUSED_EVENT'],
    ['plaid-api-webhook-update-acknowledged-example', 'UNUSED_EVENT'],
    ['plaid-openapi-holdings-default-update-example', 'UNUSED_EVENT'],
    ['plaid-edge-unknown-item-code', 'UNSUPPORTED_EVENT'],
    ['plaid-edge-unknown-type', 'UNSUPPORTED_EVENT'],
    ['plaid-edge-proto-code', 'INVALID_FIELD'],
    ['plaid-edge-not-a-webhook', 'UNKNOWN_SHAPE'],
  ])('%s is %s, registered or not, and the directory is not asked', (name, code) => {
    for (const owners of [OWNERS, new Map<string, string>()]) {
      const { dir, asked } = directory(owners);
      expect(map(fixture(name).body, dir)).toMatchObject({ ok: false, code });
      expect(asked).toEqual([]);
    }
  });

  it('is not consulted for Bud and Yodlee, whose events carry access_expires_at null', () => {
    const { dir, asked } = directory();
    for (const [source, name] of [
      ['bud', 'bud-api-refresh-completed-success'],
      ['yodlee', 'yodlee-seed-completed-success'],
    ] as const) {
      const f = JSON.parse(
        readFileSync(path.join(fixtures, 'webhooks', `${name}.json`), 'utf8'),
      ) as Fixture;
      const result = mapRawWebhook(rawOf(f.body, { source }), dir);
      if (!result.ok) throw new Error(result.message);
      for (const e of result.events) expect(e.access_expires_at).toBeNull();
    }
    expect(asked).toEqual([]);
  });
});

describe('error codes (plaid-codes.ts)', () => {
  const itemError = (code: unknown) => ({
    webhook_type: 'ITEM',
    webhook_code: 'ERROR',
    item_id: ITEM_1,
    error: {
      error_type: 'ITEM_ERROR',
      error_code: code,
      error_message: 'm',
      display_message: null,
    },
    environment: 'production',
  });

  it.each(Object.entries(PLAID_ERROR_CODES))('%s: as the table says', (code, meaning) => {
    const e = eventOf(map(itemError(code)));
    expect(e).toMatchObject({
      outcome: 'FAILED',
      phase: 'COMPLETED',
      result_code: code,
      action_required: meaning.action,
      reconnect_required: meaning.reconnect,
      // every Plaid webhook reports a finished update: a retry is a webhook of its own
      final: true,
      reason: 'm',
    });
    // a user action means update mode; what will not work or will pass needs no reconnect
    expect(meaning.reconnect).toBe(
      ['RECONNECT', 'UPDATE_CREDENTIALS', 'PROVIDE_MFA', 'ACT_AT_PROVIDER'].includes(
        meaning.action,
      ),
    );
  });

  it.each(['A_CODE_FROM_2030', 'toString', '__proto__', 'constructor', 'x'.repeat(256)])(
    'an unknown code (%s) is carried verbatim, action UNKNOWN, never refused',
    (code) => {
      expect(eventOf(map(itemError(code)))).toMatchObject({
        result_code: code,
        action_required: 'UNKNOWN',
        reconnect_required: false,
        final: true,
      });
    },
  );

  it('an error code past the id limit is LIMIT_EXCEEDED, as any id', () => {
    expect(map(itemError('x'.repeat(257)))).toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });

  it('INITIAL_UPDATE may carry its error as the code alone (its schema types it a string)', () => {
    const body = fixture('plaid-api-initial-update-example').body as object;
    expect(eventOf(map({ ...body, error: 'PRODUCT_NOT_READY' }))).toMatchObject({
      outcome: 'FAILED',
      result_code: 'PRODUCT_NOT_READY',
      action_required: 'RETRY_LATER',
      final: true,
      has_new_transactions: true,
    });
  });
});

describe('hostile Plaid bodies', () => {
  const sync = fixture('plaid-api-sync-updates-available-example').body as Record<string, unknown>;

  it.each([
    ['an array', [sync]],
    ['a number', 42],
    ['a string', '"TRANSACTIONS"'],
    ['null', null],
    ['true', true],
    ['an empty object', {}],
    ['webhook_type a number', { ...sync, webhook_type: 1 }],
    ['webhook_type an array', { ...sync, webhook_type: ['TRANSACTIONS'] }],
    ['webhook_type an object', { ...sync, webhook_type: { TRANSACTIONS: true } }],
  ])('%s: UNKNOWN_SHAPE', (_what, body) => {
    expect(codeOf(map(body))).toBe('UNKNOWN_SHAPE');
  });

  it.each<[string, RejectionCode, unknown]>([
    ['webhook_type in lower case', 'INVALID_FIELD', { ...sync, webhook_type: 'transactions' }],
    ['webhook_type "__proto__"', 'INVALID_FIELD', { ...sync, webhook_type: '__proto__' }],
    ['webhook_type "constructor"', 'INVALID_FIELD', { ...sync, webhook_type: 'constructor' }],
    ...DANGEROUS_KEYS.map((k): [string, RejectionCode, unknown] => [
      `webhook_code ${JSON.stringify(k)}`,
      'INVALID_FIELD',
      { ...sync, webhook_code: k },
    ]),
    ['webhook_code missing', 'MISSING_FIELD', { ...sync, webhook_code: undefined }],
    ['webhook_code null', 'MISSING_FIELD', { ...sync, webhook_code: null }],
    ['webhook_code a number', 'INVALID_FIELD', { ...sync, webhook_code: 7 }],
    ['webhook_code an array', 'INVALID_FIELD', { ...sync, webhook_code: ['ERROR'] }],
    ['webhook_code too long', 'INVALID_FIELD', { ...sync, webhook_code: 'A'.repeat(65) }],
    ['webhook_code "CONSTRUCTOR"', 'UNSUPPORTED_EVENT', { ...sync, webhook_code: 'CONSTRUCTOR' }],
    [
      'webhook_type "HAS_OWN_PROPERTY"',
      'UNSUPPORTED_EVENT',
      { ...sync, webhook_type: 'HAS_OWN_PROPERTY' },
    ],
    ['item_id missing', 'MISSING_FIELD', { ...sync, item_id: undefined }],
    ['item_id a number', 'INVALID_FIELD', { ...sync, item_id: 12 }],
    ['item_id an array', 'INVALID_FIELD', { ...sync, item_id: [ITEM_1] }],
    ['item_id an object', 'INVALID_FIELD', { ...sync, item_id: { id: ITEM_1 } }],
    ['item_id empty', 'INVALID_FIELD', { ...sync, item_id: '' }],
    [
      'item_id "__proto__" (not registered)',
      'UNREGISTERED_CONNECTION',
      { ...sync, item_id: '__proto__' },
    ],
    ['item_id past the id limit', 'LIMIT_EXCEEDED', { ...sync, item_id: 'i'.repeat(257) }],
  ])('%s: %s', (_what, code, body) => {
    expect(codeOf(map(body))).toBe(code);
  });

  it('an item_id past the id limit is refused before the directory is asked', () => {
    const { dir, asked } = directory();
    expect(codeOf(map({ ...sync, item_id: 'i'.repeat(257) }, dir))).toBe('LIMIT_EXCEEDED');
    expect(asked).toEqual([]);
  });

  it('"__proto__" and "constructor" keys in the body pollute nothing and hide no field', () => {
    const text = `{"__proto__":{"webhook_type":"ITEM"},"constructor":{"prototype":{"polluted":1}},"webhook_code":"ERROR","item_id":"${ITEM_1}"}`;
    expect(codeOf(map(text))).toBe('UNKNOWN_SHAPE');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).webhook_type).toBeUndefined();
  });

  it('an Item registered as "__proto__" in a Map-backed directory maps like any other', () => {
    const dir = directory(new Map([['__proto__', 'c-proto']])).dir;
    expect(eventOf(map({ ...sync, item_id: '__proto__' }, dir)).customer_id).toBe('c-proto');
  });

  it('a lone surrogate in item_id is looked up, and carried, as U+FFFD', () => {
    const { dir, asked } = directory(new Map([['item-\ufffd', 'c-1']]));
    const text = JSON.stringify({ ...sync, item_id: 'item-@' }).replace('@', '\\ud800');
    expect(eventOf(map(text, dir)).connection_id).toBe('item-\ufffd');
    expect(asked).toEqual([['plaid', 'item-\ufffd']]);
  });

  it('fields of the wrong type are "not said", never a throw', () => {
    const update = fixture('plaid-api-default-update-example').body as object;
    expect(eventOf(map({ ...update, new_transactions: '3' })).has_new_transactions).toBeNull();
    expect(eventOf(map({ ...update, new_transactions: [3] })).has_new_transactions).toBeNull();
    const error = fixture('plaid-api-item-error-example').body as object;
    for (const bad of [[1, 2], 5, true, { error_code: ['X'] }]) {
      expect(eventOf(map({ ...error, error: bad }))).toMatchObject({
        outcome: 'FAILED',
        result_code: null,
        action_required: 'UNKNOWN',
      });
    }
    const expiring = fixture('plaid-api-pending-expiration-example').body as object;
    for (const bad of ['soon', 1579094717766, null, 'x'.repeat(100)])
      expect(eventOf(map({ ...expiring, consent_expiration_time: bad })).access_expires_at).toBe(
        null,
      );
    expect(eventOf(map({ ...sync, institution_id: { id: 'ins_1' } })).provider).toBeNull();
    expect(eventOf(map({ ...sync, institution_id: 'ins_3' })).provider).toBe('ins_3');
  });

  it('survives every Plaid fixture mutated at any path: an event valid in Avro, or a documented code', () => {
    const documented = new Set<string>([
      'UNKNOWN_SHAPE',
      'UNSUPPORTED_EVENT',
      'UNUSED_EVENT',
      'MISSING_FIELD',
      'INVALID_FIELD',
      'UNREGISTERED_CONNECTION',
      'LIMIT_EXCEEDED',
    ]);
    const bodies = names.map((n) => fixture(n).body);
    const plaidKeys = fc.constantFrom(
      'webhook_type',
      'webhook_code',
      'item_id',
      'error',
      'error_code',
      'new_transactions',
      'consent_expiration_time',
      'disconnect_time',
      'reason',
      'institution_id',
    );
    const change = fc.oneof(
      { arbitrary: mutation, weight: 3 },
      {
        arbitrary: fc
          .tuple(plaidKeys, hostileJsonText)
          .map(([key, text]) => ({ kind: 'sibling' as const, key, text })),
        weight: 1,
      },
    );
    const cases = fc
      .constantFrom(...bodies)
      .chain((b) => fc.tuple(fc.constant(b), fc.constantFrom(...pathsOf(b)), change));
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    fc.assert(
      fc.property(cases, ([body, at, how]) => {
        const text = renderMutated(body, at, how);
        const result = map(text);
        if (!result.ok) {
          expect(documented).toContain(result.code);
          expect(result.message.length).toBeGreaterThan(0);
          return;
        }
        for (const e of result.events) {
          expect(refreshEvent.isValid(e)).toBe(true);
          expect(e.source).toBe('PLAID');
          expect(OWNERS.get(e.connection_id ?? '')).toBe(e.customer_id);
        }
        // the same raw record read again (same ingest id, other offset): the same answer, the
        // same ids; the same text delivered again (another ingest id): the same answer, new ids
        const reread = mapRawWebhook(rawOf(text, { offset: 1 }), directory().dir);
        const again = mapRawWebhook(rawOf(text, { ingestId: 'other', offset: 1 }), directory().dir);
        expect(codeOf(reread)).toBe(codeOf(result));
        expect(codeOf(again)).toBe(codeOf(result));
        const ids = result.events.map((e) => e.event_id);
        if (reread.ok) expect(reread.events.map((e) => e.event_id)).toEqual(ids);
        if (again.ok) for (const e of again.events) expect(ids).not.toContain(e.event_id);
      }),
      { seed: SEED, numRuns: 1500 },
    );
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('schemas/RefreshEvent.avsc', () => {
  const released = readFileSync(path.join(fixtures, 'schemas-released/RefreshEvent.avsc'), 'utf8');

  it('reads what the released schema wrote (BACKWARD)', () => {
    expect(backwardProblem(refreshEvent, released)).toBeUndefined();
  });

  it('a reader still on the released schema reads a Plaid warning: PLAID and RECONNECT_SOON fall to UNKNOWN', () => {
    const old = avro.Type.forSchema(JSON.parse(released) as avro.Schema);
    const warning = eventOf(map(fixture('plaid-api-pending-expiration-example').body));
    const read = old.fromBuffer(
      refreshEvent.toBuffer(warning),
      old.createResolver(refreshEvent),
    ) as Record<string, unknown>;
    expect(read).toMatchObject({
      source: 'UNKNOWN',
      action_required: 'UNKNOWN',
      phase: 'UNKNOWN',
      outcome: 'UNKNOWN',
      connection_id: ITEM_1,
    });
    expect(read.access_expires_at).toBeUndefined();
  });
});
