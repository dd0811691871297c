import { describe, expect, it } from 'vitest';
import type { Observed } from '../../../src/tools/simulate/compare.js';
import { compareKeys, compareWithLedger } from '../../../src/tools/simulate/compare.js';
import { owner, repeatBudget } from '../../../src/tools/simulate/redeliveries.js';
import { acknowledged, day, playThroughReducers } from './support.js';

const k = (key: string) => ({ key, label: key });

describe('compareKeys', () => {
  it('tells what is missing, there too often, and not expected at all', () => {
    const s = compareKeys([k('a'), k('b'), k('b'), k('c')], [k('a'), k('a'), k('b'), k('d')]);
    expect(s).toEqual({
      expected: 4,
      found: 4,
      matched: 2,
      missing: ['b', 'c'],
      duplicated: ['a (×2)'],
      unexpected: ['d'],
      allowedRepeats: 0,
    });
  });

  it('allows a key found more often than expected only as often as it is allowed', () => {
    const allow = (key: string, extra: number) => key === 'a' && extra <= 1;
    expect(compareKeys([k('a')], [k('a'), k('a')], allow)).toMatchObject({
      duplicated: [],
      allowedRepeats: 1,
    });
    expect(compareKeys([k('a')], [k('a'), k('a'), k('a')], allow)).toMatchObject({
      duplicated: ['a (×3)'],
      allowedRepeats: 0,
    });
    // an allowance never makes a key expected, nor a missing one found
    expect(compareKeys([k('a')], [k('b')], () => true)).toMatchObject({
      missing: ['a'],
      unexpected: ['b'],
    });
  });
});

describe('repeatBudget', () => {
  const copy = (customerId: string, connectionId: string) => ({
    customerId,
    connectionId,
    provider: null,
    sourceEvent: 'plaid.transactions.sync_updates_available',
  });
  const byItem = (e: { customerId: string; connectionId: string | null }) =>
    owner(e.customerId, e.connectionId);
  const outputs = [
    { key: 'c-1 item-1 SUCCESS', customerId: 'c-1', item: 'item-1' },
    { key: 'c-1 item-1 FAILED', customerId: 'c-1', item: 'item-1' },
    { key: 'c-1 item-2 SUCCESS', customerId: 'c-1', item: 'item-2' },
    { key: 'c-1 mixed round', customerId: 'c-1', item: undefined },
  ];
  const budget = (copies: ReturnType<typeof copy>[]) =>
    repeatBudget(
      copies,
      byItem,
      outputs,
      (o) => o.key,
      (o) => (o.item === undefined ? undefined : owner(o.customerId, o.item)),
    );

  it('lets one copy excuse one repeat of one output of its own Item, and no more', () => {
    const allow = budget([copy('c-1', 'item-1')]);
    expect(allow('c-1 item-2 SUCCESS', 1)).toBe(false); // another Item of the same customer
    expect(allow('c-1 mixed round', 1)).toBe(false); // an output no copy can repeat
    expect(allow('c-1 item-1 SUCCESS', 2)).toBe(false); // two repeats, one copy
    expect(allow('c-1 item-1 SUCCESS', 1)).toBe(true);
    expect(allow('c-1 item-1 FAILED', 1)).toBe(false); // the copy is spent
  });

  it('counts copies per customer and Item', () => {
    const allow = budget([copy('c-1', 'item-1'), copy('c-1', 'item-1'), copy('c-2', 'item-2')]);
    expect(allow('c-1 item-1 SUCCESS', 2)).toBe(true);
    expect(allow('c-1 item-2 SUCCESS', 1)).toBe(false); // item-2's copy is another customer's
  });
});

describe('the ledger check', () => {
  const plan = day({ seed: 5, customers: 40 });
  const deliveries = acknowledged(plan.calls);
  const perfect = playThroughReducers(plan);
  const check = (change: (o: Observed) => Observed) =>
    compareWithLedger(plan.ledger, deliveries, change(perfect));

  it('passes when everything expected came out once', () => {
    const report = check((o) => o);
    expect(report.ok).toBe(true);
    expect(report.completions.matched).toBe(plan.ledger.completions.length);
    expect(report.stored.matched).toBe(plan.calls.length);
  });

  it('finds a missing completion and names its customer', () => {
    const [dropped, ...rest] = perfect.completions;
    const report = check((o) => ({ ...o, completions: rest }));
    expect(report.ok).toBe(false);
    expect(report.completions.missing).toEqual([
      expect.stringContaining(dropped?.customer_id ?? '?') as string,
    ]);
  });

  it('finds an output written twice (exactly-once broken) and one the ledger does not expect', () => {
    const [first] = perfect.alerts;
    if (!first) throw new Error('the day has no alert');
    const report = check((o) => ({
      ...o,
      alerts: [
        ...o.alerts,
        first,
        { ...first, alert_id: 'other', status: first.status === 'RAISED' ? 'CLEARED' : 'RAISED' },
      ],
    }));
    expect(report.alerts.duplicated).toHaveLength(1);
    expect(report.alerts.unexpected).toHaveLength(1);
  });

  it('finds an alert that does not carry the reason the source gave', () => {
    const withReason = perfect.alerts.find((a) => a.reason !== null);
    if (!withReason) throw new Error('the day has no alert with a reason');
    const report = check((o) => ({
      ...o,
      alerts: o.alerts.map((a) => (a === withReason ? { ...a, reason: null } : a)),
    }));
    expect(report.ok).toBe(false);
    expect(report.alerts.missing).toEqual([
      expect.stringContaining(`reason ${withReason.reason ?? '?'}`) as string,
    ]);
    expect(report.alerts.unexpected).toHaveLength(1);
  });

  it('finds a raw record normalized twice, but allows a copy stored by an attempt that got no 2xx', () => {
    const [event] = perfect.events;
    if (!event) throw new Error('no event');
    const twice = check((o) => ({ ...o, events: [...o.events, event] }));
    expect(twice.events.duplicated).toHaveLength(1);
    const retried = check((o) => ({
      ...o,
      stored: [...o.stored, { ingestId: 'stored-by-a-503', key: event.customerId }],
      events: [...o.events, { ...event, ingestId: 'stored-by-a-503' }],
    }));
    expect(retried.ok).toBe(true);
    expect(retried.unacknowledgedCopies).toBe(2);
  });

  it('finds an acknowledged webhook that is not on the raw topic, and its events missing', () => {
    const lost = deliveries.find((d) => (plan.ledger.events[d.callId]?.length ?? 0) > 0);
    if (!lost) throw new Error('no webhook');
    const report = check((o) => ({
      ...o,
      stored: o.stored.filter((s) => s.ingestId !== lost.ingestId),
      events: o.events.filter((e) => e.ingestId !== lost.ingestId),
    }));
    expect(report.stored.missing).toEqual([`${lost.callId} (ingest ${lost.ingestId})`]);
    expect(report.events.missing.length).toBeGreaterThan(0);
  });

  it('finds an unexpected dead letter and fails on a record it could not decode', () => {
    const report = check((o) => ({
      ...o,
      deadLetters: [...o.deadLetters, { ingestId: deliveries[0]?.ingestId ?? null, key: 'x' }],
      undecodable: ['topic offset 3: unknown magic byte'],
    }));
    expect(report.deadLetters.unexpected).toHaveLength(1);
    expect(report.undecodable).toHaveLength(1);
    expect(report.ok).toBe(false);
  });

  it('knows a Plaid webhook’s event by its customer, Item and kind (its id includes the ingest id): finds it missing, doubled, or another customer’s', () => {
    const plaid = perfect.events.filter((e) => e.sourceEvent.startsWith('plaid.'));
    const [event] = plaid;
    if (!event) throw new Error('the day has no Plaid event');
    expect(check((o) => o).events.matched).toBe(perfect.events.length);
    const twice = check((o) => ({
      ...o,
      events: [...o.events, { ...event, eventId: 'an-id-of-its-own' }],
    }));
    expect(twice.events.duplicated).toEqual([expect.stringContaining(event.ingestId) as string]);
    const misattributed = check((o) => ({
      ...o,
      events: o.events.map((e) => (e === event ? { ...e, customerId: 'someone-else' } : e)),
    }));
    expect(misattributed.events.missing).toHaveLength(1);
    expect(misattributed.events.unexpected).toEqual([
      expect.stringContaining('someone-else') as string,
    ]);
    // a copy stored by an attempt that got no 2xx is allowed, and counted
    const retried = check((o) => ({
      ...o,
      events: [...o.events, { ...event, ingestId: 'by-a-503' }],
    }));
    expect(retried).toMatchObject({ ok: true, unacknowledgedCopies: 1 });
  });

  it('finds a WARNING that does not say when access stops', () => {
    const warning = perfect.alerts.find((a) => a.status === 'WARNING');
    if (!warning) throw new Error('the day has no WARNING');
    const report = check((o) => ({
      ...o,
      alerts: o.alerts.map((a) => (a === warning ? { ...a, expires_at: null } : a)),
    }));
    expect(report.alerts.missing).toEqual([
      expect.stringContaining(
        `expires ${new Date(warning.expires_at ?? 0).toISOString()}`,
      ) as string,
    ]);
    expect(report.alerts.unexpected).toHaveLength(1);
  });

  it('finds a dead letter with another code than the ledger names, and a Plaid one keyed by its Item', () => {
    const unregistered = perfect.deadLetters.find((d) => d.code === 'UNREGISTERED_CONNECTION');
    if (!unregistered) throw new Error('the day has no unregistered Item');
    expect(plan.ledger.plaidItems?.[unregistered.key]).toBeDefined();
    const report = check((o) => ({
      ...o,
      deadLetters: o.deadLetters.map((d) =>
        d === unregistered ? { ...d, code: 'UNKNOWN_SHAPE' } : d,
      ),
    }));
    expect(report.deadLetters.missing).toEqual([
      expect.stringContaining('UNREGISTERED_CONNECTION') as string,
    ]);
    expect(report.deadLetters.unexpected).toEqual([
      expect.stringContaining('UNKNOWN_SHAPE') as string,
    ]);
    // a copy stored by an attempt that got no 2xx, keyed by the Item: allowed, and counted
    const copy = check((o) => ({
      ...o,
      deadLetters: [...o.deadLetters, { ...unregistered, ingestId: 'by-a-503' }],
    }));
    expect(copy).toMatchObject({ ok: true, unacknowledgedCopies: 1 });
  });

  describe('a Plaid webhook stored by an attempt that got no 2xx, then re-sent', () => {
    // Plaid re-sends a webhook whose answer it did not get; its bodies cannot tell the re-delivery
    // from a new webhook, so the stored first attempt is an event of its own (docs/sources.md)
    const sync = perfect.events.find((e) =>
      e.sourceEvent.startsWith('plaid.transactions.sync_updates_available'),
    );
    const warned = perfect.events.find((e) => e.sourceEvent === 'plaid.item.pending_expiration');
    if (!sync || !warned) throw new Error('the day has no Plaid sync or expiry warning');
    const completion = perfect.completions.find(
      (c) =>
        c.customer_id === sync.customerId &&
        c.connections.some((x) => x.connection_id === sync.connectionId),
    );
    const signal = perfect.newTransactions.find((n) => n.customer_id === sync.customerId);
    const warning = perfect.alerts.find(
      (a) => a.status === 'WARNING' && a.connection_id === warned.connectionId,
    );
    if (!completion || !signal || !warning) throw new Error('the Plaid outputs are not there');
    const copy = { ...sync, eventId: 'an-id-of-its-own', ingestId: 'stored-by-a-503' };
    const repeated = (o: Observed): Observed => ({
      ...o,
      completions: [...o.completions, { ...completion, round_id: 'another-round' }],
      newTransactions: [...o.newTransactions, { ...signal, round_id: 'another-round' }],
    });

    it('may repeat its completion and signal: allowed once per copy, and counted', () => {
      const report = check((o) => ({ ...repeated(o), events: [...o.events, copy] }));
      expect(report).toMatchObject({ ok: true, plaidRepeats: 2, unacknowledgedCopies: 1 });
    });

    it('allows no repeat without such a copy, nor for another customer or Item', () => {
      const none = check(repeated);
      expect(none.ok).toBe(false);
      expect(none.completions.duplicated).toHaveLength(1);
      expect(none.newTransactions.duplicated).toHaveLength(1);
      for (const elsewhere of [
        { customerId: 'someone-else' },
        // the same customer's other Item (an institution named: its signal names it)
        { connectionId: 'other-item', provider: 'ins_other' },
      ]) {
        const report = check((o) => ({
          ...repeated(o),
          events: [...o.events, { ...copy, ...elsewhere }],
        }));
        expect(report.completions.duplicated).toHaveLength(1);
        expect(report.newTransactions.duplicated).toHaveLength(1);
      }
      // one copy allows one repeat, not two
      const twice = check((o) => ({
        ...repeated(repeated(o)),
        events: [...o.events, copy],
      }));
      expect(twice.completions.duplicated).toHaveLength(1);
    });

    it('may repeat an expiry WARNING, never a RAISED', () => {
      const warnedCopy = { ...warned, eventId: 'an-id-of-its-own', ingestId: 'stored-by-a-503' };
      const again = check((o) => ({
        ...o,
        events: [...o.events, warnedCopy],
        alerts: [...o.alerts, { ...warning, alert_id: 'another' }],
      }));
      expect(again).toMatchObject({ ok: true, plaidRepeats: 1 });
      const raised = perfect.alerts.find((a) => a.status === 'RAISED');
      if (!raised) throw new Error('the day has no RAISED alert');
      const notAllowed = check((o) => ({
        ...o,
        events: [...o.events, { ...copy, customerId: raised.customer_id }],
        alerts: [...o.alerts, { ...raised, alert_id: 'another' }],
      }));
      expect(notAllowed.alerts.duplicated).toHaveLength(1);
    });
  });
});
