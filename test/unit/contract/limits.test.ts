/**
 * Limits up front (issue 16, item 2): what could never be stored or processed is dead-lettered by
 * the normalizer naming the field, free text is cut, and the processors' outputs list at most
 * LIMITS.outputList entries and say how many more — so every record fits Kafka's 1 MiB.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { LIMITS, capList, cutText } from '../../../src/contract/limits.js';
import { mapRawWebhook } from '../../../src/normalize/mappers/index.js';
import type { MapResult } from '../../../src/normalize/types.js';
import { roundsProcessor } from '../../../src/processors/rounds/reduce.js';
import { DEFAULT_ROUND_SETTINGS } from '../../../src/processors/rounds/state.js';
import type { RoundsState } from '../../../src/processors/rounds/state.js';
import type {
  CustomerRefreshCompleted,
  NewTransactionsAvailable,
} from '../../../src/processors/types.js';
import { eventsFrom } from '../../support/events.js';

const fixtures = path.join(import.meta.dirname, '../../fixtures/webhooks');
const body = (name: string) =>
  (JSON.parse(readFileSync(path.join(fixtures, `${name}.json`), 'utf8')) as { body: unknown })
    .body as Record<string, unknown>;
const schema = (name: string) =>
  avro.Type.forSchema(
    JSON.parse(
      readFileSync(path.join(import.meta.dirname, `../../../schemas/${name}.avsc`), 'utf8'),
    ) as avro.Schema,
  );
const T0 = Date.parse('2026-11-23T10:00:00.000Z');
let offset = 0;
const map = (source: string, value: unknown): MapResult =>
  mapRawWebhook({
    source,
    value: Buffer.from(JSON.stringify(value)),
    receivedAt: T0,
    ingestId: `ingest-${String(++offset)}`,
    topic: 'raw',
    partition: 0,
    offset,
  });

/** Bud's own V2 example with `n` sub-tasks, each its own provider and consent. */
function budV2(n: number, provider = (i: number) => `Bank_${String(i)}`) {
  const v2 = body('bud-api-refresh-v2completed-failure');
  const [sub] = v2.sub_tasks as Record<string, unknown>[];
  return {
    ...v2,
    sub_tasks: Array.from({ length: n }, (_, i) => ({
      ...sub,
      task_id: `sub-${String(i)}`,
      provider: provider(i),
      consent_ids: [`consent-${String(i)}`],
      // every third succeeds: the rest need attention
      ...(i % 3 === 0 ? { result: 'success', status: 'Completed', reconnect_required: false } : {}),
    })),
  };
}

describe('the normalizer dead-letters what is over a limit, naming it', () => {
  it('a 600 KB customer_id (Bud V1): LIMIT_EXCEEDED naming customer_id, no event', () => {
    const v1 = body('bud-api-refresh-completed-success');
    const data = { ...(v1.data as object), customer_id: 'c'.repeat(600_000) };
    const result = map('bud', { data });
    expect(result).toEqual({
      ok: false,
      code: 'LIMIT_EXCEEDED',
      message: `customer_id is 600000 characters long; at most ${String(LIMITS.idLength)}`,
    });
  });

  it('an id of exactly the limit maps', () => {
    const v1 = body('bud-api-refresh-completed-success');
    const id = 'c'.repeat(LIMITS.idLength);
    const result = map('bud', { data: { ...(v1.data as object), customer_id: id } });
    expect(result.ok && result.events[0]?.customer_id).toBe(id);
  });

  it('a provider name over the limit in one sub-task dead-letters the delivery naming provider', () => {
    const result = map(
      'bud',
      budV2(3, (i) => (i === 1 ? 'p'.repeat(LIMITS.idLength + 1) : 'ok')),
    );
    expect(result.ok ? 'mapped' : [result.code, result.message]).toEqual([
      'LIMIT_EXCEEDED',
      `provider is ${String(LIMITS.idLength + 1)} characters long; at most ${String(LIMITS.idLength)}`,
    ]);
  });

  it('a V2 refresh.completed with 850 sub-tasks: LIMIT_EXCEEDED; with the limit, every one maps', () => {
    const over = map('bud', budV2(850));
    expect(over.ok ? 'mapped' : [over.code, over.message]).toEqual([
      'LIMIT_EXCEEDED',
      `the delivery fans out to 850 events (sub-tasks or accounts); at most ${String(LIMITS.deliveryEvents)}`,
    ]);
    const at = map('bud', budV2(LIMITS.deliveryEvents));
    expect(at.ok && at.events.length).toBe(LIMITS.deliveryEvents);
  });

  it("a consent revoked with a 5,000-character reason keeps the event, the reason cut to the limit with '…'", () => {
    const revoked = body('bud-api-consent-revoked-example');
    const data = { ...(revoked.data as object), reason: 'r'.repeat(5000) };
    const result = map('bud', { data });
    if (!result.ok) throw new Error(result.message);
    const reason = result.events[0]?.reason ?? '';
    expect(reason).toHaveLength(LIMITS.textLength);
    expect(reason.endsWith('…')).toBe(true);
  });

  it('cutText never leaves half a surrogate pair', () => {
    const text = 'a'.repeat(LIMITS.textLength - 2) + '😀😀';
    const cut = cutText(text);
    expect(/\p{Cs}/u.test(cut)).toBe(false);
    expect(cut.length).toBeLessThanOrEqual(LIMITS.textLength);
  });
});

describe('processor outputs list at most LIMITS.outputList entries and count the rest', () => {
  /** A round of `deliveries` V2 deliveries of `each` sub-tasks (long provider names), closed. */
  function closedRound(deliveries: number, each: number) {
    const rounds = roundsProcessor();
    let state: RoundsState | undefined;
    const outputs = [];
    for (let d = 0; d < deliveries; d++) {
      const delivery = budV2(each, (i) => `${'P'.repeat(200)}-${String(d)}-${String(i)}`);
      for (const event of eventsFrom('bud', { ...delivery, task_id: `parent-${String(d)}` }, T0)) {
        const r = rounds.reduce(state, { kind: 'event', event }, T0 + d);
        state = r.state;
        outputs.push(...r.outputs);
      }
    }
    const closeAt = T0 + DEFAULT_ROUND_SETTINGS.quietDeadlineMs + 1;
    outputs.push(...rounds.reduce(state, { kind: 'tick' }, closeAt).outputs);
    const completed = outputs.flatMap((o) => (o.kind === 'completed' ? [o.value] : []));
    const fresh = outputs.flatMap((o) => (o.kind === 'new-transactions' ? [o.value] : []));
    return { completed, fresh };
  }

  it('a round of 3 x 200 connections lists 100, needing attention first, and omits 500; the record fits 1 MiB', () => {
    const { completed } = closedRound(3, 200);
    expect(completed).toHaveLength(1);
    const [c] = completed as [CustomerRefreshCompleted];
    expect(c.connections).toHaveLength(LIMITS.outputList);
    expect(c.connections_omitted).toBe(600 - LIMITS.outputList);
    // 400 of the 600 failed: the listed ones are all failures, in key order
    expect(c.connections.every((r) => r.outcome !== 'SUCCESS')).toBe(true);
    expect(c.all_succeeded).toBe(false);
    const bytes = schema('CustomerRefreshCompleted').toBuffer(c).length;
    expect(bytes).toBeLessThan(1024 * 1024);
  });

  it('a round within the limit lists every connection and omits none', () => {
    const { completed } = closedRound(1, 30);
    const [c] = completed as [CustomerRefreshCompleted];
    expect([c.connections.length, c.connections_omitted, c.missing_omitted]).toEqual([30, 0, 0]);
  });

  it('new-transactions signals are capped the same way', () => {
    const rounds = roundsProcessor();
    let state: RoundsState | undefined;
    const signals: NewTransactionsAvailable[] = [];
    const success = body('bud-api-refresh-v2completed-success');
    const [sub] = success.sub_tasks as Record<string, unknown>[];
    for (let d = 0; d < 2; d++) {
      const delivery = {
        ...success,
        task_id: `parent-${String(d)}`,
        sub_tasks: Array.from({ length: 150 }, (_, i) => ({
          ...sub,
          task_id: `s-${String(d)}-${String(i)}`,
          provider: `Bank-${String(d)}-${String(i)}`,
          consent_ids: [`c-${String(d)}-${String(i)}`],
        })),
      };
      for (const event of eventsFrom('bud', delivery, T0)) {
        const r = rounds.reduce(state, { kind: 'event', event }, T0 + d);
        state = r.state;
        for (const o of r.outputs) if (o.kind === 'new-transactions') signals.push(o.value);
      }
    }
    const tick = rounds.reduce(
      state,
      { kind: 'tick' },
      T0 + DEFAULT_ROUND_SETTINGS.quietDeadlineMs + 1,
    );
    for (const o of tick.outputs) if (o.kind === 'new-transactions') signals.push(o.value);
    expect(signals).toHaveLength(1);
    const [s] = signals as [NewTransactionsAvailable];
    expect([
      s.providers.length,
      s.providers_omitted,
      s.task_ids.length,
      s.task_ids_omitted,
    ]).toEqual([LIMITS.outputList, 200, LIMITS.outputList, 200]);
    expect(schema('NewTransactionsAvailable').isValid(s)).toBe(true);
  });

  it('capList keeps order and counts the rest', () => {
    expect(capList([1, 2, 3], 2)).toEqual([[1, 2], 1]);
    expect(capList([1, 2], 2)).toEqual([[1, 2], 0]);
  });
});
