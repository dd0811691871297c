import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mapRawWebhook } from '../../../src/normalize/mappers/index.js';
import type { ConnectionDirectory } from '../../../src/normalize/types.js';
import { DEFAULT_ROUND_SETTINGS } from '../../../src/processors/rounds/state.js';
import { compareWithLedger } from '../../../src/tools/simulate/compare.js';
import type { DayPlan } from '../../../src/tools/simulate/day.js';
import type { SimCall } from '../../../src/tools/simulate/types.js';
import { SCENARIOS } from '../../../src/tools/simulate/types.js';
import { DEMO_TIMING, T0, acknowledged, day, playThroughReducers, sourceOf } from './support.js';

const mapped = (c: SimCall, directory?: ConnectionDirectory) =>
  mapRawWebhook(
    {
      source: sourceOf(c),
      value: Buffer.from(c.body),
      receivedAt: T0,
      ingestId: 'x',
      topic: 'raw',
      partition: 0,
      offset: 0,
    },
    directory,
  );

/** The Plaid Items the day's registrations name, read from the calls as the ingest gets them. */
function registered(calls: readonly SimCall[]): ConnectionDirectory {
  const owners = new Map<string, string>();
  for (const c of calls) {
    if (c.route !== '/connections/plaid') continue;
    const item = decodeURIComponent(c.path?.replace(/^\/connections\/plaid\//, '') ?? '');
    owners.set(item, (JSON.parse(c.body) as { customer_id: string }).customer_id);
  }
  return { customerOf: (source, item) => (source === 'plaid' ? owners.get(item) : undefined) };
}

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
      // sent only once the newer report is answered, so it is stored after it (a late
      // delivery's copy, once its original is)
      const original = calls.find((x) => x.id === c.duplicateOf) ?? c;
      const newer = calls.find((x) => x.id === original.after);
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
      'plaid-sync',
      'plaid-login-repaired',
      'plaid-pending-expiration',
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
    const directory = registered(calls);
    for (const c of calls) {
      const result = mapped(c, directory);
      if (c.route === '/refresh-requests' || c.route === '/connections/plaid') {
        expect(ledger.events[c.id]).toBeUndefined();
        expect(ledger.deliveryEvents?.[c.id]).toBeUndefined();
      } else if (dead.has(c.id)) {
        expect(result.ok).toBe(false);
        expect(['dead-letter', 'plaid-unregistered']).toContain(c.scenario);
        expect(result.ok ? undefined : result.code).toBe(ledger.deadLetterCodes?.[c.id]);
      } else if (c.route === '/webhooks/plaid') {
        // each delivery an event of its own (the id includes the ingest id): known by what it is
        expect(ledger.events[c.id]).toBeUndefined();
        expect(ledger.deliveryEvents?.[c.id]).toEqual(
          result.ok
            ? result.events.map((e) => ({
                customerId: c.customerId,
                connectionId: e.connection_id,
                sourceEvent: e.source_event,
              }))
            : [],
        );
        expect(ledger.deliveryEvents?.[c.id]?.length).toBeGreaterThan(0);
      } else {
        expect(result.ok).toBe(true);
        expect(ledger.events[c.id]).toEqual(result.ok ? result.events.map((e) => e.event_id) : []);
        expect(ledger.events[c.id]?.length).toBeGreaterThan(0);
      }
    }
    expect(Object.keys(ledger.deadLetterCodes ?? {}).sort()).toEqual([...dead].sort());
    // a completion for every customer whose calls reach a refresh: not those whose only call is
    // dead-lettered, nor consent changes (they open no round)
    const withCompletion = new Set(ledger.completions.map((c) => c.customerId));
    const noRound = ['dead-letter', 'plaid-unregistered', 'bud-consent'];
    expect([...withCompletion].sort()).toEqual(
      ledger.customers
        .filter((c) => !noRound.includes(c.scenario))
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

  it('registers each Plaid Item to its customer before Plaid reports on it, and never the unregistered one', () => {
    const { calls, ledger } = day({ customers: 200 });
    const byId = new Map(calls.map((c) => [c.id, c]));
    const registrations = calls.filter((c) => c.route === '/connections/plaid');
    expect(registrations.length).toBeGreaterThan(0);
    for (const r of registrations)
      expect(JSON.parse(r.body)).toEqual({
        connection_id: r.path?.split('/').at(-1),
        customer_id: r.customerId,
      });
    const plaid = calls.filter((c) => c.route === '/webhooks/plaid');
    for (const c of plaid) {
      const item = (JSON.parse(c.body) as { item_id: string }).item_id;
      // an Item is the customer's own: no other customer's, no other run's
      expect(item.startsWith(`${c.customerId}-`)).toBe(true);
      expect(ledger.plaidItems?.[item]).toBe(c.customerId);
      const registration = registrations.find((r) => r.path === `/connections/plaid/${item}`);
      if (c.scenario === 'plaid-unregistered') {
        expect(registration).toBeUndefined();
        continue;
      }
      // sent only once the registration is answered: it is on the connections topic first
      const chain: string[] = [];
      for (let at = c.after; at !== undefined; at = byId.get(at)?.after) chain.push(at);
      expect(chain).toContain(registration?.id);
      expect(calls.indexOf(registration as SimCall)).toBeLessThan(calls.indexOf(c));
    }
    expect(new Set(plaid.map((c) => c.scenario))).toEqual(
      new Set([
        'plaid-sync',
        'plaid-login-repaired',
        'plaid-pending-expiration',
        'plaid-unregistered',
      ]),
    );
    // no Plaid webhook is delivered twice with the same bytes: each delivery is an event of its own
    expect(plaid.filter((c) => c.duplicateOf)).toEqual([]);
  });

  it('expects each WARNING to expire when its webhook says access stops, 7 days after it is sent', () => {
    const { calls, ledger } = day({ customers: 200 });
    const warnings = ledger.alerts.filter((a) => a.status === 'WARNING');
    expect(warnings.length).toBeGreaterThan(0);
    for (const w of warnings) {
      const call = calls.find(
        (c) => c.customerId === w.customerId && /PENDING_(EXPIRATION|DISCONNECT)/.test(c.body),
      );
      const body = JSON.parse(call?.body ?? '{}') as Record<string, string>;
      const stops = body.consent_expiration_time ?? body.disconnect_time;
      expect(w.expiresAt).toBe(Date.parse(stops ?? ''));
      expect(w.expiresAt).toBe(T0 + (call?.atMs ?? NaN) + 7 * 24 * 3600_000);
      expect(w).toMatchObject({ actionRequired: 'RECONNECT_SOON', provider: null });
      expect(w.reason ?? null).toBe(body.reason ?? null);
    }
  });

  it('plans, for a seed, the day it planned before Plaid when the Plaid scenarios are weighted 0', () => {
    // fingerprints of days planned by the simulator before the Plaid scenarios were added
    const before: [number, number, string][] = [
      [1, 60, '231da0665ba1a14c'],
      [7, 20, '481c409d059b184b'],
    ];
    const noPlaid = Object.fromEntries(
      SCENARIOS.filter((s) => s.startsWith('plaid-')).map((s) => [s, 0]),
    );
    for (const [seed, customers, fingerprint] of before) {
      const plan = day({ seed, customers, mix: noPlaid });
      const { deliveryEvents, deadLetterCodes, plaidItems, ...ledger } = plan.ledger;
      expect(Object.keys({ ...deliveryEvents, ...plaidItems })).toEqual([]);
      expect(Object.keys(deadLetterCodes ?? {})).toEqual(ledger.deadLetters);
      const hash = createHash('sha256')
        .update(JSON.stringify({ calls: plan.calls, ledger }))
        .digest('hex')
        .slice(0, 16);
      expect({ seed, hash }).toEqual({ seed, hash: fingerprint });
    }
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
