import { mapRawWebhook } from '../../../src/normalize/mappers/index.js';
import type { ConnectionDirectory } from '../../../src/normalize/types.js';
import { ProcessorDriver } from '../../support/processor-driver.js';
import { alertsProcessor } from '../../../src/processors/alerts/reduce.js';
import { roundsProcessor } from '../../../src/processors/rounds/reduce.js';
import { DEFAULT_ROUND_SETTINGS } from '../../../src/processors/rounds/state.js';
import type { Observed } from '../../../src/tools/simulate/compare.js';
import type { DayOptions, DayPlan } from '../../../src/tools/simulate/day.js';
import { planDay } from '../../../src/tools/simulate/day.js';
import { plaidItemOf, sourceOfRoute } from '../../../src/tools/simulate/expect.js';
import type { DayTiming, Delivery, SimCall } from '../../../src/tools/simulate/types.js';

export const T0 = Date.parse('2026-11-23T11:00:00Z');
export const DEMO_TIMING: DayTiming = { settleMs: 2000, retryGraceMs: 10_000 };

export const day = (o: Partial<DayOptions> = {}) =>
  planDay({
    runId: 'run-1',
    seed: 1,
    customers: 60,
    startTime: T0,
    ratePerSecond: 50,
    timing: DEMO_TIMING,
    ...o,
  });

/** The source of a webhook call's raw record (`bud`, `yodlee`, `plaid`). */
export const sourceOf = (c: SimCall) => sourceOfRoute(c.route) ?? 'client';
/** Every call answered 200, the call id standing in for the ingest id. */
export const acknowledged = (calls: readonly SimCall[]): Delivery[] =>
  calls.map((c) => ({
    callId: c.id,
    customerId: c.customerId,
    route: c.route,
    webhookId: `msg_${c.id}`,
    status: 200,
    attempts: 1,
    ingestId: c.id,
    firstSentAt: T0 + c.atMs,
    acknowledgedAt: T0 + c.atMs,
  }));

/**
 * The connection table as the normalizer keeps it: Plaid Items registered to customers, applied
 * as the day's registrations are answered; an Item it does not know is UNREGISTERED_CONNECTION.
 */
class Registrations implements ConnectionDirectory {
  private readonly owners = new Map<string, string>();
  apply(call: SimCall): void {
    const item = plaidItemOf(call);
    const { customer_id: customer } = JSON.parse(call.body) as { customer_id: string };
    if (item !== undefined) this.owners.set(item, customer);
  }
  customerOf(source: string, item: string): string | undefined {
    return source === 'plaid' ? this.owners.get(item) : undefined;
  }
}

/** The key the ingest stores a call under: its customer, a Plaid webhook's Item, `plaid:<item>`. */
const storedKey = (c: SimCall) => {
  const item = plaidItemOf(c);
  if (item === undefined) return c.customerId;
  return c.route === '/connections/plaid' ? `plaid:${item}` : item;
};

/**
 * The day through the real mappers and reducers in memory, each call processed at its planned
 * time (a pipeline with no latency), Plaid's webhooks attributed by the Items registered so far:
 * what the ledger expects must be what comes out.
 */
export function playThroughReducers(
  plan: DayPlan,
  timing: DayTiming = plan.ledger.timing,
): Observed {
  const settings = { ...DEFAULT_ROUND_SETTINGS, ...timing };
  const d = new ProcessorDriver([roundsProcessor(settings), alertsProcessor()] as never, T0);
  const registrations = new Registrations();
  const events: Observed['events'][number][] = [];
  const deadLetters: Observed['deadLetters'][number][] = [];
  for (const call of plan.calls) {
    d.advance(T0 + call.atMs - d.now);
    if (call.route === '/connections/plaid') {
      registrations.apply(call);
      continue;
    }
    if (call.route === '/refresh-requests') {
      const body = JSON.parse(call.body) as { customer_id: string; task_ids: string[] };
      d.feed(body.customer_id, {
        kind: 'request',
        request: {
          request_id: call.id,
          customer_id: body.customer_id,
          providers: [],
          task_ids: body.task_ids,
          requested_at: d.now,
        },
      });
      continue;
    }
    const result = mapRawWebhook(
      {
        source: sourceOf(call),
        value: Buffer.from(call.body),
        receivedAt: d.now,
        ingestId: call.id,
        topic: 'raw',
        partition: 0,
        offset: 0,
      },
      registrations,
    );
    if (!result.ok) {
      deadLetters.push({ ingestId: call.id, key: storedKey(call), code: result.code });
      continue;
    }
    for (const event of result.events) {
      events.push({
        eventId: event.event_id,
        ingestId: call.id,
        customerId: event.customer_id,
        connectionId: event.connection_id,
        provider: event.provider,
        sourceEvent: event.source_event,
      });
      d.feed(event.customer_id, { kind: 'event', event });
    }
  }
  d.advance(settings.quietDeadlineMs * 2);
  return {
    stored: plan.calls.map((c) => ({ ingestId: c.id, key: storedKey(c) })),
    events,
    deadLetters,
    completions: d.outputs.flatMap((o) => (o.kind === 'completed' ? [o.value] : [])),
    newTransactions: d.outputs.flatMap((o) => (o.kind === 'new-transactions' ? [o.value] : [])),
    alerts: d.outputs.flatMap((o) => (o.kind === 'alert' ? [o.value] : [])),
  };
}
