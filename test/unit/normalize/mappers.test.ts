import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { mapRawWebhook } from '../../../src/normalize/mappers/index.js';
import type { RawWebhook } from '../../../src/normalize/types.js';
import type { Expected } from '../../support/fixtures.js';
import { LINEAGE, expectMapped, rawWith } from '../../support/fixtures.js';

const fixtures = path.join(import.meta.dirname, '../../fixtures');
const names = readdirSync(path.join(fixtures, 'webhooks'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length));

interface Fixture {
  source: string;
  note: string;
  body?: unknown;
  bodyText?: string;
}

function load(dir: 'webhooks', name: string): Fixture;
function load(dir: 'expected', name: string): Expected;
function load(dir: string, name: string): unknown {
  return JSON.parse(readFileSync(path.join(fixtures, dir, `${name}.json`), 'utf8')) as unknown;
}

const RECEIVED_AT = LINEAGE.receivedAt;
const rawOf = (fixture: Fixture, overrides: Partial<RawWebhook> = {}): RawWebhook =>
  rawWith(fixture.source, fixture.bodyText ?? JSON.stringify(fixture.body), overrides);

describe('mapping every fixture to its expected canonical output', () => {
  it('has fixtures, each with an expectation', () => {
    expect(names.length).toBeGreaterThanOrEqual(30);
    const expectations = new Set(
      readdirSync(path.join(fixtures, 'expected')).map((f) => f.slice(0, -5)),
    );
    expect(names.filter((n) => !expectations.has(n))).toEqual([]);
  });

  it.each(names)('%s', (name) => {
    const fixture = load('webhooks', name);
    const expected = load('expected', name);
    expectMapped(mapRawWebhook(rawOf(fixture)), expected);
  });
});

describe("Bud's own examples (reference/bud-api/webhooks.yaml)", () => {
  // the shared reference beside the checkout when there is one, else the copy kept with the fixtures
  const shared = path.join(
    import.meta.dirname,
    '../../../../shared/reference/bud-api/webhooks.yaml',
  );
  const kept = path.join(fixtures, 'reference/bud-api-webhooks.yaml');
  const specText = readFileSync(existsSync(shared) ? shared : kept, 'utf8');
  const spec = parseYaml(specText) as {
    webhook_callbacks: Record<string, { requestBody?: { content?: Record<string, Media> } }>;
  };
  interface Media {
    example?: unknown;
    examples?: Record<string, { value: unknown }>;
  }
  const examples = Object.entries(spec.webhook_callbacks).flatMap(([callback, cb]) => {
    const media = cb.requestBody?.content?.['application/json'];
    if (!media) return [];
    const named = media.examples
      ? Object.entries(media.examples).map(([name, e]) => [name, e.value] as const)
      : media.example !== undefined
        ? [['example', media.example] as const]
        : [];
    return named.map(([name, body]) => ({ id: `${callback} / ${name}`, body }));
  });
  const budFixtures = names
    .map((n) => ({ name: n, fixture: load('webhooks', n) }))
    .filter(({ fixture }) => fixture.source === 'bud');

  it('kept copy is the shared reference, when the reference is beside the checkout', () => {
    if (existsSync(shared)) expect(readFileSync(kept, 'utf8')).toBe(specText);
    else expect(existsSync(kept)).toBe(true);
  });

  it('lists the callbacks Bud documents', () => {
    expect(examples.length).toBeGreaterThanOrEqual(16);
  });

  it.each(examples)('$id has a verbatim fixture with its expected events', ({ body }) => {
    const match = budFixtures.find(({ fixture }) => isDeepStrictEqual(fixture.body, body));
    expect(match?.name).toBeDefined();
  });
});

describe('event ids', () => {
  const mappable = names.filter((n) => 'events' in load('expected', n));

  it.each(mappable)(
    '%s: a re-delivery (other ingest id, offset, receipt time, whitespace) keeps the ids',
    (name) => {
      const fixture = load('webhooks', name);
      const first = mapRawWebhook(rawOf(fixture));
      const again = mapRawWebhook(
        rawOf(fixture, {
          ingestId: 'ingest-2',
          offset: 99,
          partition: 0,
          value: Buffer.from(JSON.stringify(fixture.body, null, 2)),
          receivedAt: RECEIVED_AT + 5000,
        }),
      );
      if (!first.ok || !again.ok) throw new Error('expected both to map');
      expect(again.events.map((e) => e.event_id)).toEqual(first.events.map((e) => e.event_id));
    },
  );

  it('are unique across all fixtures (different reports never share an id)', () => {
    const ids = mappable.flatMap((n) => {
      const r = mapRawWebhook(rawOf(load('webhooks', n)));
      return r.ok ? r.events.map((e) => e.event_id) : [];
    });
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('Yodlee notification ids', () => {
  it('make the same content under another notification id another event, and keep the id of a re-delivery', () => {
    const fixture = load('webhooks', 'yodlee-seed-completed-success');
    const body = fixture.body as { event: Record<string, unknown> };
    const withId = (id: string) => ({
      ...fixture,
      body: { event: { ...body.event, notificationId: id } },
    });
    const ids = (f: Fixture) => {
      const r = mapRawWebhook(rawOf(f));
      if (!r.ok) throw new Error(r.message);
      return r.events.map((e) => e.event_id);
    };
    expect(ids(withId('n-1'))).toEqual(ids(withId('n-1')));
    expect(ids(withId('n-1'))).not.toEqual(ids(withId('n-2')));
    expect(ids(withId('n-1'))).not.toEqual(ids(fixture));
  });

  it('count the provider accounts of one notification in delivery_index and delivery_count', () => {
    const r = mapRawWebhook(rawOf(load('webhooks', 'yodlee-two-accounts-folded')));
    if (!r.ok) throw new Error(r.message);
    expect(r.events.map((e) => [e.delivery_index, e.delivery_count])).toEqual([
      [0, 2],
      [1, 2],
    ]);
  });
});

describe('lone surrogates', () => {
  it('in an id become U+FFFD, as the ingest keys the record, and encode as valid UTF-8', () => {
    const raw = rawOf({
      source: 'bud',
      note: '',
      bodyText:
        '{"data":{"task_id":"t-1","customer_id":"cust-\\ud800","status":"Completed","result":"success","provider":"Bank\\udc00"}}',
    });
    const result = mapRawWebhook(raw);
    if (!result.ok) throw new Error(result.message);
    const [event] = result.events;
    expect(event?.customer_id).toBe('cust-\ufffd');
    expect(event?.provider).toBe('Bank\ufffd');
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    expect(utf8.decode(Buffer.from(event?.customer_id ?? '', 'utf8'))).toBe('cust-\ufffd');
  });
});

describe('poison', () => {
  it.each([
    ['bytes that are not UTF-8', { value: Buffer.from([0x7b, 0xff, 0x7d]) }, 'INVALID_JSON'],
    ['an unknown source', { source: 'truelayer' }, 'UNKNOWN_SOURCE'],
    ['no source header', { source: undefined }, 'UNKNOWN_SOURCE'],
  ])('rejects %s', (_what, overrides, code) => {
    const fixture = load('webhooks', 'bud-v1-seed-success-strings');
    expect(mapRawWebhook(rawOf(fixture, overrides))).toMatchObject({ ok: false, code });
  });

  it('ignores __proto__ and constructor keys', () => {
    const raw = rawOf({
      source: 'bud',
      note: '',
      bodyText: '{"__proto__":{"data":{"customer_id":"x"}},"constructor":{}}',
    });
    expect(mapRawWebhook(raw)).toMatchObject({ ok: false, code: 'UNKNOWN_SHAPE' });
  });
});

describe('what each Bud task is about (subject), and that sibling reports may follow', () => {
  const task = (taskType: unknown) => {
    const data: Record<string, unknown> = {
      task_id: 'task-1',
      customer_id: 'customer-1',
      status: 'Completed',
      result: 'success',
      provider: 'Capital_One',
    };
    if (taskType !== undefined) data.task_type = taskType;
    const r = mapRawWebhook(rawWith('bud', JSON.stringify({ data })));
    if (!r.ok) throw new Error(`rejected: ${r.code}`);
    return r.events.map((e) => [e.source_event, e.subject, e.siblings_may_follow]);
  };

  it.each([
    ['refresh', 'bud.v1.refresh', 'REFRESH'],
    [undefined, 'bud.v1.refresh', 'REFRESH'],
    ['connect', 'bud.v1.connect', 'CONNECT'],
    ['revoke', 'bud.v1.revoke', 'OTHER_TASK'],
    ['consent-refresh', 'bud.v1.consent-refresh', 'OTHER_TASK'],
    ['a task type Bud adds later', 'bud.v1.other', 'OTHER_TASK'],
  ])('task_type %j: %s, %s', (taskType, sourceEvent, subject) => {
    expect(task(taskType)).toEqual([[sourceEvent, subject, true]]);
  });
});
