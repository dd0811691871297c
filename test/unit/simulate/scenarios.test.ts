import { describe, expect, it } from 'vitest';
import { compareWithLedger } from '../../../src/tools/simulate/compare.js';
import type { ScenarioName, SimCall } from '../../../src/tools/simulate/types.js';
import { SCENARIOS } from '../../../src/tools/simulate/types.js';
import { DEMO_TIMING, T0, acknowledged, day, playThroughReducers } from './support.js';

interface Body {
  data?: Record<string, unknown>;
  event?: { info: string; data: { providerAccount: { id: number; requestId: string }[] } };
  // Plaid's, flat
  webhook_type?: string;
  webhook_code?: string;
  item_id?: string;
  consent_expiration_time?: string;
  disconnect_time?: string;
  reason?: string;
  error?: { error_code: string; error_message: string } | null;
}

/** A day whose customers all play `scenario` (no duplicate deliveries), through the reducers. */
function play(scenario: ScenarioName) {
  const plan = day({
    customers: 12,
    mix: Object.fromEntries(SCENARIOS.map((s) => [s, s === scenario ? 1 : 0])),
    duplicateRate: 0,
  });
  const observed = playThroughReducers(plan);
  const report = compareWithLedger(plan.ledger, acknowledged(plan.calls), observed);
  expect(report.ok).toBe(true);
  const byCustomer = plan.ledger.customers.map(({ id }) => {
    const calls = plan.calls.filter((c) => c.customerId === id);
    return {
      calls,
      bodies: calls.map((c) => JSON.parse(c.body) as Body),
      completions: observed.completions.filter((c) => c.customer_id === id),
      alerts: observed.alerts.filter((a) => a.customer_id === id),
      signals: observed.newTransactions.filter((s) => s.customer_id === id),
      events: observed.events.filter((e) => e.customerId === id),
      deadLetters: observed.deadLetters.filter((d) => calls.some((c) => c.id === d.ingestId)),
    };
  });
  return { plan, byCustomer };
}

const at = (call: SimCall | undefined) => T0 + (call?.atMs ?? NaN);

describe('the issue’s cases, as the simulator plays them', () => {
  it('a consent revoked then renewed, wrapped in data as Bud sends it: RAISED with Bud’s reason, then CLEARED, and no round', () => {
    for (const { bodies, completions, alerts, signals } of play('bud-consent').byCustomer) {
      const [revoked, renewed] = bodies.map((b) => b.data ?? {});
      expect(revoked).toMatchObject({ event: 'open_banking.consent.revoked' });
      expect(['open_banking.consent.reconfirmed', 'open_banking.consent.reauthorised']).toContain(
        renewed?.event,
      );
      for (const d of [revoked, renewed])
        expect(Object.keys(d ?? {})).toEqual(
          expect.arrayContaining(['consent_id', 'customer_id', 'provider', 'updated_at']),
        );
      expect(alerts.map((a) => [a.status, a.action_required, a.reason])).toEqual([
        ['RAISED', 'RECONNECT', revoked?.reason],
        ['CLEARED', 'NONE', null],
      ]);
      expect(completions).toEqual([]);
      expect(signals).toEqual([]);
    }
  });

  it('a connect after a revoke: the failure without reconnect_required alerts, the connect clears and opens no round', () => {
    for (const { calls, bodies, completions, alerts } of play('bud-connect-after-revoke')
      .byCustomer) {
      const [failure, connect] = bodies.map((b) => b.data ?? {});
      expect(failure).toMatchObject({ task_type: 'refresh', status: 'Failed' });
      expect(failure).not.toHaveProperty('reconnect_required');
      expect(failure).toHaveProperty('consent_id');
      expect(connect).toMatchObject({ task_type: 'connect', status: 'Completed' });
      // sent after the failure's round closed: a round of its own would show
      expect(at(calls[1]) - at(calls[0])).toBeGreaterThan(DEMO_TIMING.settleMs);
      expect(completions.map((c) => c.connections.map((x) => x.action_required))).toEqual([
        ['RECONNECT'],
      ]);
      expect(alerts.map((a) => a.status)).toEqual(['RAISED', 'CLEARED']);
    }
  });

  it('a failure for a task that already succeeded changes nothing: one SUCCESS, no alert', () => {
    for (const { bodies, completions, alerts } of play('bud-stale-failure').byCustomer) {
      const [success, failure] = bodies.map((b) => b.data ?? {});
      expect(failure?.task_id).toBe(success?.task_id);
      expect([success?.status, failure?.status]).toEqual(['Completed', 'Failed']);
      expect(completions.map((c) => c.connections.map((x) => x.outcome))).toEqual([['SUCCESS']]);
      expect(alerts).toEqual([]);
    }
  });

  it('a Yodlee user updating one of two accounts gets a completion of that account alone, closed as its process completes', () => {
    for (const { calls, bodies, completions, signals } of play('yodlee-single-account')
      .byCustomer) {
      const completed = bodies.flatMap((b, i) =>
        b.event?.info === 'REFRESH.PROCESS_COMPLETED' ? [{ call: calls[i], body: b }] : [],
      );
      expect(completed.map((c) => c.body.event?.data.providerAccount.length)).toEqual([2, 1]);
      const update = completions.at(-1);
      expect(completions).toHaveLength(2);
      expect(update?.close_reason).toBe('ALL_REPORTED');
      expect(update?.connections.map((x) => x.connection_id)).toEqual([
        String(completed[1]?.body.event?.data.providerAccount[0]?.id),
      ]);
      expect(update?.missing).toEqual([]);
      expect(update?.closed_at).toBe(at(completed[1]?.call));
      expect(signals).toHaveLength(2);
    }
  });

  it('seed 001’s failure, naming no connection, raises a customer-level alert and ends its requested round', () => {
    for (const { calls, bodies, completions, alerts } of play('bud-unnamed-failure').byCustomer) {
      expect(calls.map((c) => c.route)).toEqual(['/refresh-requests', '/webhooks/bud']);
      const failure = bodies[1]?.data ?? {};
      expect(failure).toMatchObject({ status: 'Failed', reconnect_required: true });
      expect(failure).not.toHaveProperty('provider');
      expect(failure).not.toHaveProperty('consent_id');
      expect(alerts[0]).toMatchObject({
        status: 'RAISED',
        action_required: 'RECONNECT',
        provider: null,
        connection_id: null,
      });
      expect(completions.map((c) => [c.close_reason, c.missing])).toEqual([
        ['REQUESTED_TASKS_DONE', []],
      ]);
    }
  });
});

/** A Plaid webhook's `webhook_type` and `webhook_code`, as the scenario sent them. */
const plaidCode = (b: Body) => `${b.webhook_type ?? '?'} ${b.webhook_code ?? '?'}`;

describe('Plaid’s Items, as the simulator plays them', () => {
  it('each Item is registered to the customer first; each Transactions report completes a round of its own at once, with the Item alone', () => {
    for (const { calls, bodies, completions, signals, alerts } of play('plaid-sync').byCustomer) {
      const registered = calls.filter((c) => c.route === '/connections/plaid');
      const reports = calls.flatMap((c, i) =>
        c.route === '/webhooks/plaid' ? [{ call: c, body: bodies[i] ?? {} }] : [],
      );
      const items = new Set(reports.map((r) => r.body.item_id));
      expect(registered.map((c) => c.path).sort()).toEqual(
        [...items].map((item) => `/connections/plaid/${item ?? ''}`).sort(),
      );
      expect(completions).toHaveLength(reports.length);
      for (const [i, { call, body }] of reports.entries()) {
        const completion = completions[i];
        expect(completion).toMatchObject({ close_reason: 'ALL_REPORTED', missing: [] });
        expect(
          completion?.connections.map((x) => [x.provider, x.connection_id, x.outcome]),
        ).toEqual([[null, body.item_id, 'SUCCESS']]);
        // at once: no settle window for a Plaid Item
        expect(completion?.closed_at).toBe(at(call));
      }
      const withData = reports.filter(
        ({ body }) =>
          body.webhook_code === 'SYNC_UPDATES_AVAILABLE' ||
          (body as { new_transactions?: number }).new_transactions !== 0,
      );
      expect(signals.map((s) => s.providers)).toEqual(withData.map(() => []));
      expect(alerts).toEqual([]);
    }
  });

  it('ITEM_LOGIN_REQUIRED raises an alert with Plaid’s message; LOGIN_REPAIRED, or the next report, clears it; the error opens no round', () => {
    for (const { calls, bodies, completions, signals, alerts } of play('plaid-login-repaired')
      .byCustomer) {
      const codes = bodies.filter((b) => b.webhook_type).map(plaidCode);
      expect([
        ['ITEM ERROR', 'ITEM LOGIN_REPAIRED', 'TRANSACTIONS SYNC_UPDATES_AVAILABLE'],
        ['ITEM ERROR', 'TRANSACTIONS SYNC_UPDATES_AVAILABLE'],
      ]).toContainEqual(codes);
      const error = bodies.find((b) => b.webhook_code === 'ERROR')?.error;
      expect(alerts.map((a) => [a.status, a.action_required, a.result_code, a.reason])).toEqual([
        ['RAISED', 'RECONNECT', 'ITEM_LOGIN_REQUIRED', error?.error_message],
        ['CLEARED', 'NONE', codes.length === 3 ? 'LOGIN_REPAIRED' : null, null],
      ]);
      expect(completions).toHaveLength(1);
      expect(completions[0]?.closed_at).toBe(at(calls.at(-1)));
      expect(signals).toHaveLength(1);
    }
  });

  it('PENDING_EXPIRATION or PENDING_DISCONNECT is a WARNING with when access stops; the Item’s next report completes its round and clears nothing', () => {
    for (const { bodies, completions, signals, alerts } of play('plaid-pending-expiration')
      .byCustomer) {
      const warning = bodies.find((b) => b.webhook_code?.startsWith('PENDING_')) ?? {};
      const stops = warning.consent_expiration_time ?? warning.disconnect_time;
      expect(alerts.map((a) => [a.status, a.action_required, a.reason, a.expires_at])).toEqual([
        ['WARNING', 'RECONNECT_SOON', warning.reason ?? null, Date.parse(stops ?? '')],
      ]);
      expect(completions.map((c) => c.all_succeeded)).toEqual([true]);
      expect(signals).toHaveLength(1);
    }
  });

  it('a webhook of an Item never registered is dead-lettered UNREGISTERED_CONNECTION, keyed by its Item, and nothing else comes of it', () => {
    const { plan, byCustomer } = play('plaid-unregistered');
    for (const { calls, bodies, completions, signals, alerts, events, deadLetters } of byCustomer) {
      expect(calls.map((c) => c.route)).toEqual(['/webhooks/plaid']);
      expect(deadLetters).toEqual([
        { ingestId: calls[0]?.id, key: bodies[0]?.item_id, code: 'UNREGISTERED_CONNECTION' },
      ]);
      expect(plan.ledger.deadLetterCodes?.[calls[0]?.id ?? '']).toBe('UNREGISTERED_CONNECTION');
      expect([...completions, ...signals, ...alerts, ...events]).toEqual([]);
    }
  });
});
