/** Bud's refreshes: hosted (V1 and V2), requested by the customer, and retried after a failure. */
import type { Episode, ScenarioContext, Step } from './episode.js';
import {
  BUD_PROVIDERS,
  DAY,
  MINUTE,
  alert,
  connection,
  retryGapMs,
  round,
  siblingGapMs,
} from './episode.js';

const TEMPORARY_BUD_RESULTS = ['provider_failure', 'provider_timeout', 'internal_transient_error'];

/**
 * Bud's hosted daily refresh, V1: one webhook per provider (1–3), booleans as strings or real
 * booleans, sometimes with a consent id; now and then a success without `has_new_transactions`
 * (optional in V1). Sometimes one provider is found revoked (reconnect required). Expect one
 * completion listing every provider, a signal naming those with new transactions — a success that
 * does not say counts as new data (one extra fetch is better than a missed one) — and a RAISED
 * alert for a revoked one.
 */
export function budV1Hosted({ rng, customerId, timing }: ScenarioContext): Episode {
  const providers = rng.sample(BUD_PROVIDERS, rng.pick([1, 2, 2, 3]));
  const strings = rng.chance(0.7);
  const flag = (b: boolean) => (strings ? String(b) : b);
  const revoked = rng.chance(0.2) ? rng.int(0, providers.length - 1) : -1;
  const conns = providers.map((provider, i) => {
    const says = i === revoked || rng.chance(0.85);
    return {
      provider,
      taskId: rng.uuid(),
      consentId: rng.chance(0.5) ? rng.uuid() : null,
      failed: i === revoked,
      result: i === revoked ? rng.pick(['connection_revoked', 'auth_expired']) : 'success',
      says,
      hasNew: i !== revoked && (!says || rng.chance(0.6)),
    };
  });
  const gap = siblingGapMs(timing);
  return {
    steps: conns.map((c, i) => ({
      offsetMs: i * gap,
      route: '/webhooks/bud',
      note: c.failed
        ? `hosted refresh (V1) of ${c.provider}: ${c.result}, reconnect required`
        : `hosted refresh (V1) of ${c.provider}${c.says ? '' : ', has_new_transactions not sent'}`,
      body: () => ({
        data: {
          task_id: c.taskId,
          task_type: 'refresh',
          customer_id: customerId,
          status: c.failed ? 'Failed' : 'Completed',
          result: c.result,
          ...(c.says ? { has_new_transactions: flag(c.hasNew) } : {}),
          reconnect_required: flag(c.failed),
          provider: c.provider,
          ...(c.consentId ? { consent_id: c.consentId } : {}),
        },
      }),
    })),
    deadLetters: [],
    ...round(
      customerId,
      'ALL_REPORTED',
      conns.map((c) => ({
        ...connection(
          c.provider,
          c.consentId,
          c.failed ? 'FAILED' : 'SUCCESS',
          c.failed ? 'RECONNECT' : 'NONE',
        ),
        newData: c.hasNew,
      })),
    ),
    alerts: conns
      .filter((c) => c.failed)
      .map((c) => alert(customerId, c.provider, c.consentId, 'RAISED', 'RECONNECT')),
  };
}

/**
 * Bud's hosted refresh, V2: one `refresh.completed` for the task with a sub-task per provider.
 * Sometimes a provider failed for a temporary reason; V2's completion is final all the same.
 * Expect one completion (the failed one RETRY_LATER), a signal when any had new transactions,
 * no alert.
 */
export function budV2Hosted({ rng, customerId }: ScenarioContext): Episode {
  const providers = rng.sample(BUD_PROVIDERS, rng.pick([1, 2, 2, 3]));
  const failedIndex = rng.chance(0.25) ? rng.int(0, providers.length - 1) : -1;
  const subs = providers.map((provider, i) => ({
    provider,
    taskId: rng.uuid(),
    consentId: rng.uuid(),
    accountId: rng.uuid(),
    failed: i === failedIndex,
    result: i === failedIndex ? rng.pick(TEMPORARY_BUD_RESULTS) : 'success',
    hasNew: i !== failedIndex && rng.chance(0.6),
  }));
  const taskId = rng.uuid();
  const failed = subs.find((s) => s.failed);
  return {
    steps: [
      {
        offsetMs: 0,
        route: '/webhooks/bud',
        note: `hosted refresh (V2) of ${providers.join(', ')}${failed ? `: ${failed.provider} ${failed.result}` : ''}`,
        body: (at) => ({
          event: 'open_banking.v2.refresh.completed',
          customer_id: customerId,
          task_id: taskId,
          status: failed ? 'Failed' : 'Completed',
          result: failed ? failed.result : 'success',
          has_new_transactions: subs.some((s) => s.hasNew),
          start_time: at(-2 * MINUTE),
          refresh_window: { from: at(-DAY), to: at(0) },
          sub_tasks: subs.map((s) => ({
            task_id: s.taskId,
            provider: s.provider,
            status: s.failed ? 'Failed' : 'Completed',
            result: s.result,
            reconnect_required: false,
            has_new_transactions: s.hasNew,
            consent_ids: [s.consentId],
            account_ids: [s.accountId],
            consent_details: { id: s.consentId, expiration_date: at(80 * DAY) },
          })),
        }),
      },
    ],
    deadLetters: [],
    ...round(
      customerId,
      'ALL_REPORTED',
      subs.map((s) => ({
        ...connection(
          s.provider,
          s.consentId,
          s.failed ? 'FAILED' : 'SUCCESS',
          s.failed ? 'RETRY_LATER' : 'NONE',
        ),
        newData: s.hasNew,
      })),
    ),
    alerts: [],
  };
}

/**
 * A customer-initiated batch: the client announces its tasks with a RefreshRequested, then Bud's
 * `refresh.provider.completed` webhooks arrive out of order. Expect one completion,
 * REQUESTED_TASKS_DONE, when the last announced task reports.
 */
export function budRequested({ rng, customerId, timing }: ScenarioContext): Episode {
  const providers = rng.sample(BUD_PROVIDERS, rng.int(2, 3));
  const tasks = providers.map((provider) => ({
    provider,
    taskId: rng.uuid(),
    consentId: rng.uuid(),
    hasNew: rng.chance(0.5),
  }));
  let order = rng.shuffle(tasks);
  if (order.every((t, i) => t === tasks[i])) order = [...tasks.slice(1), ...tasks.slice(0, 1)];
  const gap = siblingGapMs(timing);
  return {
    steps: [
      {
        offsetMs: 0,
        route: '/refresh-requests',
        note: `RefreshRequested for ${tasks.length} tasks (${providers.join(', ')})`,
        body: () => ({ customer_id: customerId, task_ids: tasks.map((t) => t.taskId) }),
      },
      ...order.map((t, i): Step => ({
        offsetMs: (i + 2) * gap,
        route: '/webhooks/bud',
        after: 0, // the client announces its tasks before Bud reports on them
        note: `requested refresh of ${t.provider} (${i + 1} of ${order.length}, out of order)`,
        body: (at) => ({
          event: 'open_banking.v2.refresh.provider.completed',
          customer_id: customerId,
          task_id: t.taskId,
          provider: t.provider,
          status: 'Completed',
          result: 'success',
          reconnect_required: false,
          has_new_transactions: t.hasNew,
          consent_ids: [t.consentId],
          start_time: at(0),
          refresh_window: { from: at(-DAY), to: at(0) },
        }),
      })),
    ],
    deadLetters: [],
    ...round(
      customerId,
      'REQUESTED_TASKS_DONE',
      tasks.map((t) => ({ ...connection(t.provider, t.consentId, 'SUCCESS'), newData: t.hasNew })),
    ),
    alerts: [],
  };
}

/**
 * A transient failure, then Bud's retry of the same task succeeds (V1). Expect one completion
 * with the success, a signal when it brought new transactions, and no alert.
 */
export function budRetry({ rng, customerId, timing }: ScenarioContext): Episode {
  const provider = rng.pick(BUD_PROVIDERS);
  const taskId = rng.uuid();
  const failure = rng.pick(TEMPORARY_BUD_RESULTS);
  const hasNew = rng.chance(0.7);
  const v1 = (fields: Record<string, unknown>) => () => ({
    data: { task_id: taskId, task_type: 'refresh', customer_id: customerId, provider, ...fields },
  });
  return {
    steps: [
      {
        offsetMs: 0,
        route: '/webhooks/bud',
        note: `refresh of ${provider} failed: ${failure} (temporary)`,
        body: v1({ status: 'Failed', result: failure, reconnect_required: 'false' }),
      },
      {
        offsetMs: retryGapMs(timing),
        route: '/webhooks/bud',
        after: 0,
        note: `Bud's retry of ${provider} succeeded`,
        body: v1({
          status: 'Completed',
          result: 'success',
          has_new_transactions: String(hasNew),
          reconnect_required: 'false',
        }),
      },
    ],
    deadLetters: [],
    ...round(customerId, 'ALL_REPORTED', [
      { ...connection(provider, null, 'SUCCESS'), newData: hasNew },
    ]),
    alerts: [],
  };
}
