import { describe, expect, it } from 'vitest';
import { mapRawWebhook } from '../../../src/normalize/mappers/index.js';
import { DEFAULT_ROUND_SETTINGS } from '../../../src/processors/rounds/state.js';
import { compareWithLedger } from '../../../src/tools/simulate/compare.js';
import type { DayPlan } from '../../../src/tools/simulate/day.js';
import type { SimCall } from '../../../src/tools/simulate/types.js';
import { SCENARIOS } from '../../../src/tools/simulate/types.js';
import { DEMO_TIMING, T0, acknowledged, day, playThroughReducers, sourceOf } from './support.js';

const mapped = (c: SimCall) =>
  mapRawWebhook({
    source: sourceOf(c),
    value: Buffer.from(c.body),
    receivedAt: T0,
    ingestId: 'x',
    topic: 'raw',
    partition: 0,
    offset: 0,
  });

describe('a simulated day', () => {
  it('is the same for the same options, and another for another seed', () => {
    expect(day()).toEqual(day());
    expect(day({ seed: 2 }).calls.map((c) => c.body)).not.toEqual(day().calls.map((c) => c.body));
  });

  it('keeps each customer’s day when only the run id changes (customers of runs never collide)', () => {
    const a = day({ runId: 'run-a' });
    const b = day({ runId: 'run-b' });
    expect(a.calls.map((c) => c.body.replaceAll('run-a', 'run-b'))).toEqual(
      b.calls.map((c) => c.body),
    );
    expect(a.calls.every((c) => c.customerId.startsWith('run-a-'))).toBe(true);
    expect(a.ledger.customers.every((c) => c.id.startsWith('run-a-'))).toBe(true);
  });

  it('has every scenario once there are enough customers, and leaves out a scenario weighted 0', () => {
    const scenarios = (plan: DayPlan) => new Set(plan.ledger.customers.map((c) => c.scenario));
    expect([...scenarios(day({ customers: SCENARIOS.length }))].sort()).toEqual(
      [...SCENARIOS].sort(),
    );
    expect(scenarios(day({ mix: { 'dead-letter': 0 } })).has('dead-letter')).toBe(false);
    expect(scenarios(day({ customers: 5 })).size).toBe(5);
  });

  it('sends calls in planned order, each customer’s numbered in its own order', () => {
    const { calls } = day();
    expect(calls.map((c) => c.atMs)).toEqual([...calls.map((c) => c.atMs)].sort((x, y) => x - y));
    expect(new Set(calls.map((c) => c.id)).size).toBe(calls.length);
    const byCustomer = new Map<string, SimCall[]>();
    for (const c of calls)
      byCustomer.set(c.customerId, [...(byCustomer.get(c.customerId) ?? []), c]);
    for (const [customer, list] of byCustomer) {
      expect(list.map((c) => c.id)).toEqual(list.map((_, i) => `${customer}#${i + 1}`));
    }
  });

  it('spreads the customers over calls / rate seconds', () => {
    const plan = day({ customers: 200, ratePerSecond: 100 });
    const firsts = new Map<string, number>();
    for (const c of plan.calls) if (!firsts.has(c.customerId)) firsts.set(c.customerId, c.atMs);
    const span = Math.max(...firsts.values());
    const planned = (plan.calls.length / 100) * 1000;
    expect(span).toBeGreaterThan(planned * 0.95);
    expect(span).toBeLessThanOrEqual(planned);
  });

  it('delivers some webhooks twice — right after, and after the round closed — with the same bytes', () => {
    const { calls, ledger } = day();
    const copies = calls.filter((c) => c.duplicateOf !== undefined);
    expect(copies.some((c) => c.note.endsWith('after the round closed'))).toBe(true);
    expect(copies.some((c) => !c.note.endsWith('after the round closed'))).toBe(true);
    for (const copy of copies) {
      const original = calls.find((c) => c.id === copy.duplicateOf);
      expect(original?.body).toBe(copy.body);
      expect(calls.indexOf(copy)).toBeGreaterThan(calls.indexOf(original as SimCall));
      expect(ledger.events[copy.id]).toEqual(ledger.events[copy.duplicateOf as string]);
      if (copy.note.endsWith('after the round closed'))
        expect(copy.atMs).toBeGreaterThan((original as SimCall).atMs + ledger.timing.settleMs);
    }
  });

  it('flags late deliveries, which come after a newer report for the same customer', () => {
    const { calls } = day();
    const late = calls.filter((c) => c.late);
    expect(late.length).toBeGreaterThan(0);
    for (const c of late) {
      expect(['late-delivery', 'bud-stale-failure']).toContain(c.scenario);
      // sent only once the newer report is answered, so it is stored after it
      const newer = calls.find((x) => x.id === c.after);
      expect(newer?.customerId).toBe(c.customerId);
      expect(newer?.late).toBeUndefined();
    }
  });

  it('orders only what must be ordered: each `after` is an earlier call of the same customer', () => {
    const { calls } = day({ customers: 200 });
    const index = new Map(calls.map((c, i) => [c.id, i]));
    const ordered = calls.filter((c) => c.after !== undefined);
    for (const c of ordered) {
      expect(index.get(c.after as string)).toBeLessThan(index.get(c.id) as number);
      expect(c.after?.startsWith(`${c.customerId}#`)).toBe(true);
    }
    const scenarios = new Set(ordered.map((c) => c.scenario));
    for (const s of [
      'bud-retry',
      'bud-reconnect',
      'bud-consent',
      'bud-connect-after-revoke',
      'bud-stale-failure',
      'bud-unnamed-failure',
      'bud-requested',
      'yodlee-refresh',
      'yodlee-single-account',
      'late-delivery',
    ])
      expect(scenarios.has(s as never)).toBe(true);
    // a hosted refresh's webhooks (one per provider) are independent: Bud sends them concurrently
    expect(
      calls.filter((c) => c.scenario === 'bud-v1-hosted' && !c.duplicateOf && c.after),
    ).toEqual([]);
  });

  it('has a ledger consistent with its calls: events for each webhook, dead letters the mappers refuse', () => {
    const { calls, ledger } = day({ customers: 200 });
    const dead = new Set(ledger.deadLetters);
    for (const c of calls) {
      if (c.route === '/refresh-requests') {
        expect(ledger.events[c.id]).toBeUndefined();
      } else if (dead.has(c.id)) {
        expect(mapped(c).ok).toBe(false);
        expect(c.scenario).toBe('dead-letter');
      } else {
        const result = mapped(c);
        expect(result.ok).toBe(true);
        expect(ledger.events[c.id]).toEqual(result.ok ? result.events.map((e) => e.event_id) : []);
        expect(ledger.events[c.id]?.length).toBeGreaterThan(0);
      }
    }
    // a completion for every customer whose calls reach a refresh: not those whose only call is
    // dead-lettered, nor consent changes (they open no round)
    const withCompletion = new Set(ledger.completions.map((c) => c.customerId));
    expect([...withCompletion].sort()).toEqual(
      ledger.customers
        .filter((c) => c.scenario !== 'dead-letter' && c.scenario !== 'bud-consent')
        .map((c) => c.id)
        .sort(),
    );
    // a signal for each completion that brought new data, of its customer
    const count = (ids: string[]) =>
      ids.reduce((m, id) => m.set(id, (m.get(id) ?? 0) + 1), new Map<string, number>());
    expect(count(ledger.newTransactions.map((s) => s.customerId))).toEqual(
      count(ledger.completions.filter((c) => c.anyNewTransactions).map((c) => c.customerId)),
    );
  });

  it.each([
    ['the demo’s short timings', DEMO_TIMING, [1, 2, 3, 4, 5]],
    [
      'the processors’ defaults',
      {
        settleMs: DEFAULT_ROUND_SETTINGS.settleMs,
        retryGraceMs: DEFAULT_ROUND_SETTINGS.retryGraceMs,
      },
      [11, 12],
    ],
  ])(
    'plays out as the ledger says through the real mappers and reducers (%s)',
    (_name, timing, seeds) => {
      for (const seed of seeds) {
        const plan = day({ seed, customers: 150, timing });
        const report = compareWithLedger(
          plan.ledger,
          acknowledged(plan.calls),
          playThroughReducers(plan),
        );
        expect({ seed, ...report }).toMatchObject({ seed, ok: true });
        expect(report.completions.matched).toBe(plan.ledger.completions.length);
        expect(report.alerts.matched).toBe(plan.ledger.alerts.length);
      }
    },
  );

  it('is checked for real: a pipeline settling rounds faster than planned splits them, and the check says so', () => {
    const plan = day({ seed: 3, customers: 150 });
    const report = compareWithLedger(
      plan.ledger,
      acknowledged(plan.calls),
      playThroughReducers(plan, { ...DEMO_TIMING, settleMs: 50 }),
    );
    expect(report.ok).toBe(false);
    expect(report.completions.unexpected.length).toBeGreaterThan(0);
    expect(report.completions.missing.length).toBeGreaterThan(0);
  });

  it('refuses options it cannot make a day of, saying why', () => {
    expect(() => day({ runId: 'has space' })).toThrow(/runId must be 1–64 letters/);
    expect(() => day({ ratePerSecond: 0 })).toThrow('ratePerSecond must be a positive number');
    expect(() => day({ customers: 0 })).toThrow('customers must be a positive integer');
    expect(() => day({ mix: Object.fromEntries(SCENARIOS.map((s) => [s, 0])) })).toThrow(
      'mix must give some scenario a positive weight',
    );
  });
});
