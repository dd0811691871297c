import type { ActionRequired, Outcome } from '../../normalize/types.js';
import type { Random } from './random.js';
import type {
  DayTiming,
  ExpectedAlert,
  ExpectedCompletion,
  ExpectedConnection,
  ExpectedSignal,
  Route,
  ScenarioName,
} from './types.js';

/** The source's clock for an episode: the ISO time `offsetMs` after the episode starts. */
export type SourceClock = (offsetMs: number) => string;

/** One call of an episode, before it is placed in the day. */
export interface Step {
  /** When it is sent, after the episode starts. */
  readonly offsetMs: number;
  readonly route: Route;
  readonly note: string;
  readonly late?: true;
  /**
   * Index of an earlier step that must be answered before this one is sent, where the order
   * changes what comes out (a retry after its failure, a late delivery after the newer report).
   * Steps without one are sent at their time, concurrently, as the sources do.
   */
  readonly after?: number;
  /** The body; times in it come from the source clock, so the day decides where episodes fall. */
  readonly body: (at: SourceClock) => unknown;
}

/** One customer's calls for the day and what a person expects to come out of them. */
export interface Episode {
  readonly steps: readonly Step[];
  /** Indexes of the steps the normalizer must dead-letter. */
  readonly deadLetters: readonly number[];
  readonly completions: readonly ExpectedCompletion[];
  readonly newTransactions: readonly ExpectedSignal[];
  readonly alerts: readonly ExpectedAlert[];
}

export interface ScenarioContext {
  readonly rng: Random;
  readonly customerId: string;
  readonly timing: DayTiming;
}

const BUD_PROVIDERS = [
  'Capital_One',
  'Bank_Of_America',
  'Chase',
  'Wells_Fargo',
  'Monzo',
  'Starling',
  'Barclays',
  'HSBC',
  'Lloyds',
  'Santander',
  'Nationwide',
  'Revolut',
] as const;
const YODLEE_PROVIDER_IDS = [16441, 643, 5, 2852, 12938, 20719, 3860] as const;
const TEMPORARY_BUD_RESULTS = ['provider_failure', 'provider_timeout', 'internal_transient_error'];
/** Codes that need the user whether or not Bud sends `reconnect_required` (optional in V1). */
const RECONNECT_BUD_RESULTS = [
  'connection_revoked',
  'connection_expired',
  'provider_reauthenticate',
  'consent_not_found',
];
/** Bud's reasons for a revoked consent (`OBConsentWebhookBody.data.reason`). */
const CONSENT_REVOKED_REASONS = [
  'provider_revoked',
  'bud_revoked',
  'single_use',
  'duplicate_accounts',
  'access_token_error',
  'consent_invalid',
];
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/**
 * Gaps between a customer's calls. Siblings of a round opened without a RefreshRequested must
 * reach the processors well within the settle window, and a retry well within the retry grace;
 * the other gaps (Yodlee notes, a reconnect, a late delivery) give the same outputs whatever
 * they are.
 */
export const siblingGapMs = (timing: DayTiming) =>
  Math.max(10, Math.min(100, Math.floor(timing.settleMs / 20)));
export const retryGapMs = (timing: DayTiming) =>
  Math.max(10, Math.min(1500, Math.floor(timing.retryGraceMs / 4)));
/**
 * Puts a call after the round before it has closed, where that lets a mistake show (a call that
 * must open no round would show up as a round of its own). The outputs expected are the same when
 * it reaches the processors sooner.
 */
export const afterRoundGapMs = (timing: DayTiming) => timing.settleMs + 2000;
const YODLEE_GAP_MS = 200;
const RECONNECT_GAP_MS = 1000;
const LATE_GAP_MS = 300;

const sortConnections = (list: ExpectedConnection[]) =>
  list.sort(
    (a, b) =>
      (a.provider ?? '').localeCompare(b.provider ?? '') ||
      (a.connectionId ?? '').localeCompare(b.connectionId ?? ''),
  );

const connection = (
  provider: string | null,
  connectionId: string | null,
  outcome: Outcome,
  actionRequired: ActionRequired = 'NONE',
): ExpectedConnection => ({ provider, connectionId, outcome, actionRequired });

type Rounds = Pick<Episode, 'completions' | 'newTransactions'>;

/** Several rounds of one customer, in the order they close. */
const rounds = (...parts: Rounds[]): Rounds => ({
  completions: parts.flatMap((p) => p.completions),
  newTransactions: parts.flatMap((p) => p.newTransactions),
});

/** One completion of the listed connections, and its signal when any brought new data. */
function round(
  customerId: string,
  closeReason: ExpectedCompletion['closeReason'],
  connections: (ExpectedConnection & { newData: boolean })[],
): Rounds {
  const withNew = connections.filter((c) => c.newData);
  return {
    completions: [
      {
        customerId,
        closeReason,
        connections: sortConnections(
          connections.map((c) =>
            connection(c.provider, c.connectionId, c.outcome, c.actionRequired),
          ),
        ),
        allSucceeded: connections.every((c) => c.outcome === 'SUCCESS'),
        anyNewTransactions: withNew.length > 0,
      },
    ],
    newTransactions:
      withNew.length > 0
        ? [
            {
              customerId,
              providers: [
                ...new Set(withNew.flatMap((c) => (c.provider ? [c.provider] : []))),
              ].sort(),
            },
          ]
        : [],
  };
}

const alert = (
  customerId: string,
  provider: string | null,
  connectionId: string | null,
  status: ExpectedAlert['status'],
  actionRequired: ActionRequired,
  reason: string | null = null,
): ExpectedAlert => ({ customerId, provider, connectionId, status, actionRequired, reason });

/**
 * Bud's hosted daily refresh, V1: one webhook per provider (1–3), booleans as strings or real
 * booleans, sometimes with a consent id; now and then a success without `has_new_transactions`
 * (optional in V1). Sometimes one provider is found revoked (reconnect required). Expect one
 * completion listing every provider, a signal naming those with new transactions — a success that
 * does not say counts as new data (one extra fetch is better than a missed one) — and a RAISED
 * alert for a revoked one.
 */
function budV1Hosted({ rng, customerId, timing }: ScenarioContext): Episode {
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
function budV2Hosted({ rng, customerId }: ScenarioContext): Episode {
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
function budRequested({ rng, customerId, timing }: ScenarioContext): Episode {
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
function budRetry({ rng, customerId, timing }: ScenarioContext): Episode {
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

/**
 * A refresh finds the connection revoked (V2 `provider.completed`, reconnect required); later the
 * user reconnects and Bud sends a consent event for it, wrapped in `data` as Bud sends consent
 * events. Expect one completion (FAILED, RECONNECT), an alert RAISED then CLEARED. Consent events
 * open no round, so this holds whatever the gap between the two.
 */
function budReconnect({ rng, customerId }: ScenarioContext): Episode {
  const provider = rng.pick(BUD_PROVIDERS);
  const consentId = rng.uuid();
  const result = rng.pick(['connection_revoked', 'auth_expired', 'connection_reauthenticate']);
  const event = rng.pick(['open_banking.consent.reauthorised', 'open_banking.consent.reconfirmed']);
  const later = RECONNECT_GAP_MS;
  const taskId = rng.uuid();
  return {
    steps: [
      {
        offsetMs: 0,
        route: '/webhooks/bud',
        note: `refresh of ${provider}: ${result}, reconnect required`,
        body: (at) => ({
          event: 'open_banking.v2.refresh.provider.completed',
          customer_id: customerId,
          task_id: taskId,
          provider,
          status: 'Failed',
          result,
          reconnect_required: true,
          has_new_transactions: false,
          consent_ids: [consentId],
          start_time: at(0),
        }),
      },
      {
        offsetMs: later,
        route: '/webhooks/bud',
        after: 0,
        note: `the user reconnected ${provider} (${event.slice('open_banking.'.length)})`,
        body: (at) => ({
          data: {
            event,
            consent_id: consentId,
            customer_id: customerId,
            provider,
            updated_at: at(later),
          },
        }),
      },
    ],
    deadLetters: [],
    ...round(customerId, 'ALL_REPORTED', [
      { ...connection(provider, consentId, 'FAILED', 'RECONNECT'), newData: false },
    ]),
    alerts: [
      alert(customerId, provider, consentId, 'RAISED', 'RECONNECT'),
      alert(customerId, provider, consentId, 'CLEARED', 'NONE'),
    ],
  };
}

/** A Bud consent event as Bud sends it (`OBConsentWebhookBody`: the fields wrapped in `data`). */
const budConsentEvent = (
  event: string,
  customerId: string,
  consentId: string,
  provider: string,
  updatedAt: string,
  reason?: string,
) => ({
  data: {
    event,
    consent_id: consentId,
    customer_id: customerId,
    provider,
    updated_at: updatedAt,
    ...(reason === undefined ? {} : { reason }),
  },
});

/**
 * Bud's consent events alone: a consent is revoked (Bud says why, in `reason`), later the user
 * reconfirms or reauthorises it. Expect an alert RAISED (RECONNECT, carrying Bud's reason), then
 * CLEARED; no completion and no signal, as consent events open no round.
 */
function budConsent({ rng, customerId }: ScenarioContext): Episode {
  const provider = rng.pick(BUD_PROVIDERS);
  const consentId = rng.uuid();
  const reason = rng.pick(CONSENT_REVOKED_REASONS);
  const renewal = rng.pick([
    'open_banking.consent.reconfirmed',
    'open_banking.consent.reauthorised',
  ]);
  const later = RECONNECT_GAP_MS;
  return {
    steps: [
      {
        offsetMs: 0,
        route: '/webhooks/bud',
        note: `consent for ${provider} revoked (${reason})`,
        body: (at) =>
          budConsentEvent(
            'open_banking.consent.revoked',
            customerId,
            consentId,
            provider,
            at(0),
            reason,
          ),
      },
      {
        offsetMs: later,
        route: '/webhooks/bud',
        after: 0,
        note: `the user renewed the consent for ${provider} (${renewal.slice('open_banking.'.length)})`,
        body: (at) => budConsentEvent(renewal, customerId, consentId, provider, at(later)),
      },
    ],
    deadLetters: [],
    completions: [],
    newTransactions: [],
    alerts: [
      alert(customerId, provider, consentId, 'RAISED', 'RECONNECT', reason),
      alert(customerId, provider, consentId, 'CLEARED', 'NONE'),
    ],
  };
}

/**
 * A hosted refresh (V1, as Bud's own Failure example: a consent id, sometimes a provider) fails
 * with a code that needs the user, without `reconnect_required` (optional in V1: the code
 * decides). After that round has closed, the user connects again: Bud's connect callback
 * (`task_type: connect`, a consent id and no provider, as Bud's example), for the same consent or
 * a new one. Expect one completion (FAILED, RECONNECT), an alert RAISED then CLEARED by the
 * connect, and no round of the connect's own.
 */
function budConnectAfterRevoke({ rng, customerId, timing }: ScenarioContext): Episode {
  const provider = rng.chance(0.5) ? rng.pick(BUD_PROVIDERS) : null;
  const consentId = rng.uuid();
  const result = rng.pick(RECONNECT_BUD_RESULTS);
  const sameConsent = rng.chance(0.5);
  const connectConsent = sameConsent ? consentId : rng.uuid();
  const refreshTask = rng.uuid();
  const connectTask = rng.uuid();
  const named = provider ? ` of ${provider}` : '';
  return {
    steps: [
      {
        offsetMs: 0,
        route: '/webhooks/bud',
        note: `hosted refresh (V1)${named}: ${result}, reconnect_required not sent`,
        body: () => ({
          data: {
            task_id: refreshTask,
            status: 'Failed',
            result,
            task_type: 'refresh',
            customer_id: customerId,
            has_new_transactions: 'false',
            ...(provider ? { provider } : {}),
            consent_id: consentId,
          },
        }),
      },
      {
        offsetMs: afterRoundGapMs(timing),
        route: '/webhooks/bud',
        after: 0,
        note: `the user connected again${named} (connect completed, ${sameConsent ? 'same' : 'new'} consent)`,
        body: () => ({
          data: {
            task_id: connectTask,
            status: 'Completed',
            result: 'success',
            task_type: 'connect',
            customer_id: customerId,
            consent_id: connectConsent,
          },
        }),
      },
    ],
    deadLetters: [],
    ...round(customerId, 'ALL_REPORTED', [
      { ...connection(provider, consentId, 'FAILED', 'RECONNECT'), newData: false },
    ]),
    alerts: [
      alert(customerId, provider, consentId, 'RAISED', 'RECONNECT'),
      alert(customerId, provider, consentId, 'CLEARED', 'NONE'),
    ],
  };
}

/**
 * A stale failure: Bud's V1 success for a task, then a failure callback for the same task — an
 * earlier attempt's, delivered after the success (a retried delivery that lost the race) — one that
 * would need the user. It comes while the round is open or after it closed. A task's success is
 * final: expect one completion with the success, a signal when it brought new transactions, and
 * no alert.
 */
function budStaleFailure({ rng, customerId, timing }: ScenarioContext): Episode {
  const provider = rng.pick(BUD_PROVIDERS);
  const consentId = rng.chance(0.5) ? rng.uuid() : null;
  const taskId = rng.uuid();
  const hasNew = rng.chance(0.6);
  const failure = rng.pick([
    { result: 'connection_expired' },
    { result: 'provider_failure', reconnect_required: 'true' },
  ]);
  const inRound = rng.chance(0.5);
  const v1 = (fields: Record<string, unknown>) => () => ({
    data: {
      task_id: taskId,
      task_type: 'refresh',
      customer_id: customerId,
      provider,
      ...(consentId ? { consent_id: consentId } : {}),
      ...fields,
    },
  });
  return {
    steps: [
      {
        offsetMs: 0,
        route: '/webhooks/bud',
        note: `hosted refresh (V1) of ${provider}: success`,
        body: v1({
          status: 'Completed',
          result: 'success',
          has_new_transactions: String(hasNew),
          reconnect_required: 'false',
        }),
      },
      {
        offsetMs: inRound ? siblingGapMs(timing) : afterRoundGapMs(timing),
        route: '/webhooks/bud',
        late: true,
        after: 0,
        note: `a failure (${failure.result}) of the same task, delivered after its success${inRound ? '' : ' and after the round closed'}`,
        body: v1({ status: 'Failed', has_new_transactions: 'false', ...failure }),
      },
    ],
    deadLetters: [],
    ...round(customerId, 'ALL_REPORTED', [
      { ...connection(provider, consentId, 'SUCCESS'), newData: hasNew },
    ]),
    alerts: [],
  };
}

/**
 * Seed 001's failure callback as it stands: `reconnect_required: true`, but no provider and no
 * consent id, so it names no connection. It ends a refresh the customer started (announced by a
 * RefreshRequested: Bud sends the same callback for those), so its round closes as soon as it
 * reports, whatever the gaps. Expect that completion (FAILED, RECONNECT, no connection) and a
 * customer-level alert RAISED (provider and connection null). (That later rounds are not held by
 * its task id is shown by the reducer and real-delivery tests: here a later hosted refresh would
 * join this round or not depending on which of the requests and events topics the processors read
 * first after an outage.)
 */
function budUnnamedFailure({ rng, customerId, timing }: ScenarioContext): Episode {
  const failedTask = rng.uuid();
  return {
    steps: [
      {
        offsetMs: 0,
        route: '/refresh-requests',
        note: 'RefreshRequested for 1 task',
        body: () => ({ customer_id: customerId, task_ids: [failedTask] }),
      },
      {
        offsetMs: siblingGapMs(timing),
        route: '/webhooks/bud',
        after: 0,
        note: 'refresh (V1) failed: provider_failure, reconnect required, no connection named (seed 001)',
        body: () => ({
          data: {
            task_id: failedTask,
            task_type: 'refresh',
            customer_id: customerId,
            status: 'Failed',
            result: 'provider_failure',
            reconnect_required: true,
          },
        }),
      },
    ],
    deadLetters: [],
    ...round(customerId, 'REQUESTED_TASKS_DONE', [
      { ...connection(null, null, 'FAILED', 'RECONNECT'), newData: false },
    ]),
    alerts: [alert(customerId, null, null, 'RAISED', 'RECONNECT')],
  };
}

interface YodleeAccount {
  readonly id: number;
  readonly providerId: number;
  readonly requestId: string;
}

function yodleeAccounts(rng: Random, count: number): YodleeAccount[] {
  return rng.sample(YODLEE_PROVIDER_IDS, count).map((providerId) => ({
    id: rng.int(10_000_000, 99_999_999),
    providerId,
    requestId: `REQ-${rng.uuid().slice(0, 13)}`,
  }));
}

const yodleeBody = (
  customerId: string,
  info: 'REFRESH.INTERIM_PROGRESS' | 'REFRESH.PROCESS_COMPLETED',
  accounts: unknown[],
) => ({ event: { info, loginName: customerId, data: { providerAccount: accounts } } });

const yodleeAccount = (a: YodleeAccount, status: string, dataset: Record<string, unknown>) => ({
  id: a.id,
  providerId: a.providerId,
  status,
  requestId: a.requestId,
  isManual: false,
  aggregationSource: 'SYSTEM',
  dataset: [{ name: 'BASIC_AGG_DATA', ...dataset }],
});

const yodleeInterim = (a: YodleeAccount, additionalStatus: string, attempt: string) =>
  yodleeAccount(a, 'IN_PROGRESS', {
    additionalStatus,
    updateEligibility: 'DISALLOW_UPDATE',
    lastUpdateAttempt: attempt,
  });

/** Steps Yodlee sends as a sequence: each note is sent once the one before is answered. */
function yodleeSequence() {
  const steps: Step[] = [];
  return {
    steps,
    /** When the next note is sent. */
    next: () => steps.length * YODLEE_GAP_MS,
    push: (step: Omit<Step, 'after'>) => {
      steps.push(steps.length ? { ...step, after: steps.length - 1 } : step);
    },
  };
}

/** The notes of one FastLink process until it completes: its PROCESS_COMPLETED comes after. */
function pushYodleeInterims(
  seq: ReturnType<typeof yodleeSequence>,
  customerId: string,
  accounts: readonly YodleeAccount[],
  summary: boolean,
): void {
  const notes = [['DATA_RETRIEVAL_IN_PROGRESS', 'login succeeded']];
  if (summary) notes.push(['ACCT_SUMMARY_RECEIVED', 'account summary received']);
  for (const [additionalStatus, what] of notes as [string, string][]) {
    for (const a of accounts) {
      const offset = seq.next();
      seq.push({
        offsetMs: offset,
        route: '/webhooks/yodlee',
        note: `REFRESH.INTERIM_PROGRESS for account ${a.id}: ${what}`,
        body: (at) =>
          yodleeBody(customerId, 'REFRESH.INTERIM_PROGRESS', [
            yodleeInterim(a, additionalStatus, at(offset)),
          ]),
      });
    }
  }
}

/** A completed account whose transaction data moved forward (`lastUpdated` is the completion). */
const yodleeCompleted = (a: YodleeAccount, partial: boolean, at: SourceClock, offset: number) =>
  yodleeAccount(a, partial ? 'PARTIAL_SUCCESS' : 'SUCCESS', {
    additionalStatus: partial ? 'PARTIAL_DATA_RETRIEVED' : 'AVAILABLE_DATA_RETRIEVED',
    updateEligibility: 'ALLOW_UPDATE',
    lastUpdated: at(offset),
    lastUpdateAttempt: at(offset),
    nextUpdateScheduled: at(offset + DAY),
  });

/** The PROCESS_COMPLETED that ends a FastLink process, listing that process's accounts. */
function pushYodleeCompleted(
  seq: ReturnType<typeof yodleeSequence>,
  customerId: string,
  accounts: readonly { a: YodleeAccount; partial: boolean }[],
): void {
  const offset = seq.next();
  seq.push({
    offsetMs: offset,
    route: '/webhooks/yodlee',
    note: `REFRESH.PROCESS_COMPLETED for account${accounts.length > 1 ? 's' : ''} ${accounts.map(({ a }) => a.id).join(', ')}`,
    body: (at) =>
      yodleeBody(
        customerId,
        'REFRESH.PROCESS_COMPLETED',
        accounts.map(({ a, partial }) => yodleeCompleted(a, partial, at, offset)),
      ),
  });
}

/** The round of one Yodlee process: exactly its accounts, each with new data. */
const yodleeRound = (
  customerId: string,
  accounts: readonly { a: YodleeAccount; partial: boolean }[],
) =>
  round(
    customerId,
    'ALL_REPORTED',
    accounts.map(({ a, partial }) => ({
      ...connection(String(a.providerId), String(a.id), partial ? 'PARTIAL' : 'SUCCESS'),
      newData: true,
    })),
  );

/**
 * Yodlee REFRESH for 1–2 accounts: per FastLink process, INTERIM_PROGRESS (login), sometimes a
 * second one (account summary), then one PROCESS_COMPLETED listing the process's accounts — both
 * accounts in one process, or one process after the other; now and then an account is only partly
 * retrieved. A PROCESS_COMPLETED ends its process: expect one completion per process, closed as
 * soon as it is reported, with a signal (the data moved forward), and no alert.
 */
function yodleeRefresh({ rng, customerId }: ScenarioContext): Episode {
  const accounts = yodleeAccounts(rng, rng.pick([1, 1, 2]));
  const partial = accounts.map(() => rng.chance(0.1));
  const summary = rng.chance(0.7);
  const together = accounts.length > 1 && rng.chance(0.5);
  const listed = accounts.map((a, i) => ({ a, partial: partial[i] ?? false }));
  const processes = together ? [listed] : listed.map((x) => [x]);
  const seq = yodleeSequence();
  for (const process of processes) {
    pushYodleeInterims(
      seq,
      customerId,
      process.map(({ a }) => a),
      summary,
    );
    pushYodleeCompleted(seq, customerId, process);
  }
  return {
    steps: seq.steps,
    deadLetters: [],
    ...rounds(...processes.map((p) => yodleeRound(customerId, p))),
    alerts: [],
  };
}

/**
 * A Yodlee user with two provider accounts, both added in an earlier FastLink process, updates one
 * of them in FastLink: INTERIM_PROGRESS and a PROCESS_COMPLETED for that account alone. Expect a
 * completion for each process; the update's lists only its account and closes ALL_REPORTED at
 * once (it does not wait for the other account, nor time out), with a signal.
 */
function yodleeSingleAccount({ rng, customerId }: ScenarioContext): Episode {
  const accounts = yodleeAccounts(rng, 2);
  const summary = rng.chance(0.5);
  // the update is a request of its own
  const updated = { ...rng.pick(accounts), requestId: `REQ-${rng.uuid().slice(0, 13)}` };
  const earlier = accounts.map((a) => ({ a, partial: false }));
  const update = [{ a: updated, partial: false }];
  const seq = yodleeSequence();
  pushYodleeInterims(seq, customerId, accounts, summary);
  pushYodleeCompleted(seq, customerId, earlier);
  pushYodleeInterims(seq, customerId, [updated], false);
  pushYodleeCompleted(seq, customerId, update);
  return {
    steps: seq.steps,
    deadLetters: [],
    ...rounds(yodleeRound(customerId, earlier), yodleeRound(customerId, update)),
    alerts: [],
  };
}

/**
 * A Yodlee account whose password changed: PROCESS_COMPLETED, FAILED, INCORRECT_CREDENTIALS (or
 * CREDENTIALS_UPDATE_NEEDED) with ALLOW_UPDATE_WITH_CREDENTIALS, sometimes after a login note.
 * Expect one completion (FAILED, UPDATE_CREDENTIALS) and a RAISED UPDATE_CREDENTIALS alert.
 */
function yodleePassword({ rng, customerId }: ScenarioContext): Episode {
  const [a] = yodleeAccounts(rng, 1) as [YodleeAccount];
  const code = rng.pick(['INCORRECT_CREDENTIALS', 'CREDENTIALS_UPDATE_NEEDED']);
  const interim = rng.chance(0.5);
  const gap = YODLEE_GAP_MS;
  const failedAt = interim ? gap : 0;
  return {
    steps: [
      ...(interim
        ? [
            {
              offsetMs: 0,
              route: '/webhooks/yodlee' as const,
              note: `REFRESH.INTERIM_PROGRESS for account ${a.id}`,
              body: (at: SourceClock) =>
                yodleeBody(customerId, 'REFRESH.INTERIM_PROGRESS', [
                  yodleeInterim(a, 'LOGIN_IN_PROGRESS', at(0)),
                ]),
            },
          ]
        : []),
      {
        offsetMs: failedAt,
        route: '/webhooks/yodlee',
        ...(interim ? { after: 0 } : {}),
        note: `REFRESH.PROCESS_COMPLETED for account ${a.id}: ${code} (the password changed)`,
        body: (at) =>
          yodleeBody(customerId, 'REFRESH.PROCESS_COMPLETED', [
            yodleeAccount(a, 'FAILED', {
              additionalStatus: code,
              updateEligibility: 'ALLOW_UPDATE_WITH_CREDENTIALS',
              lastUpdated: at(-DAY),
              lastUpdateAttempt: at(failedAt),
            }),
          ]),
      },
    ],
    deadLetters: [],
    ...round(customerId, 'ALL_REPORTED', [
      {
        ...connection(String(a.providerId), String(a.id), 'FAILED', 'UPDATE_CREDENTIALS'),
        newData: false,
      },
    ]),
    alerts: [alert(customerId, String(a.providerId), String(a.id), 'RAISED', 'UPDATE_CREDENTIALS')],
  };
}

/**
 * A late delivery: a success, then a failure the source produced earlier (it says so in its
 * times) that would need the user. Yodlee (dataset times) or Bud V2 (`start_time`). An older
 * event never overrides a newer one: expect one completion with the success and no alert.
 */
function lateDelivery({ rng, customerId }: ScenarioContext): Episode {
  const lateBy = LATE_GAP_MS;
  if (rng.chance(0.5)) {
    const [a] = yodleeAccounts(rng, 1) as [YodleeAccount];
    const code = rng.pick(['CONSENT_EXPIRED', 'ACCOUNT_LOCKED']);
    return {
      steps: [
        {
          offsetMs: 0,
          route: '/webhooks/yodlee',
          note: `REFRESH.PROCESS_COMPLETED for account ${a.id}: success`,
          body: (at) =>
            yodleeBody(customerId, 'REFRESH.PROCESS_COMPLETED', [
              yodleeAccount(a, 'SUCCESS', {
                additionalStatus: 'AVAILABLE_DATA_RETRIEVED',
                updateEligibility: 'ALLOW_UPDATE',
                lastUpdated: at(0),
                lastUpdateAttempt: at(0),
              }),
            ]),
        },
        {
          offsetMs: lateBy,
          route: '/webhooks/yodlee',
          late: true,
          after: 0,
          note: `REFRESH.PROCESS_COMPLETED for account ${a.id}: ${code} from 10 minutes earlier, delivered late`,
          body: (at) =>
            yodleeBody(customerId, 'REFRESH.PROCESS_COMPLETED', [
              yodleeAccount(a, 'FAILED', {
                additionalStatus: code,
                updateEligibility: 'DISALLOW_UPDATE',
                lastUpdated: at(-DAY),
                lastUpdateAttempt: at(-10 * MINUTE),
              }),
            ]),
        },
      ],
      deadLetters: [],
      ...round(customerId, 'ALL_REPORTED', [
        { ...connection(String(a.providerId), String(a.id), 'SUCCESS'), newData: true },
      ]),
      alerts: [],
    };
  }
  const provider = rng.pick(BUD_PROVIDERS);
  const consentId = rng.uuid();
  const hasNew = rng.chance(0.6);
  const earlierTask = rng.uuid();
  const laterTask = rng.uuid();
  const providerCompleted = (fields: Record<string, unknown>) => ({
    event: 'open_banking.v2.refresh.provider.completed',
    customer_id: customerId,
    provider,
    consent_ids: [consentId],
    ...fields,
  });
  return {
    steps: [
      {
        offsetMs: 0,
        route: '/webhooks/bud',
        note: `refresh of ${provider}: success`,
        body: (at) =>
          providerCompleted({
            task_id: laterTask,
            status: 'Completed',
            result: 'success',
            reconnect_required: false,
            has_new_transactions: hasNew,
            start_time: at(0),
          }),
      },
      {
        offsetMs: lateBy,
        route: '/webhooks/bud',
        late: true,
        after: 0,
        note: `an earlier refresh of ${provider}: auth_expired, delivered late`,
        body: (at) =>
          providerCompleted({
            task_id: earlierTask,
            status: 'Failed',
            result: 'auth_expired',
            reconnect_required: true,
            has_new_transactions: false,
            start_time: at(-10 * MINUTE),
          }),
      },
    ],
    deadLetters: [],
    ...round(customerId, 'ALL_REPORTED', [
      { ...connection(provider, consentId, 'SUCCESS'), newData: hasNew },
    ]),
    alerts: [],
  };
}

/**
 * Something no mapper knows, from an authenticated sender: accepted (200), then dead-lettered.
 * A Bud body of an unknown shape, a Bud event type from the future, or a Yodlee event other than
 * REFRESH. Expect one dead letter and nothing else.
 */
function deadLetter({ rng, customerId }: ScenarioContext): Episode {
  const variant = rng.int(0, 2);
  const paymentId = rng.uuid();
  const step: Step =
    variant === 0
      ? {
          offsetMs: 0,
          route: '/webhooks/bud',
          note: 'a Bud body of a shape no mapper knows',
          body: (at) => ({
            hello: 'an event type from next year',
            customer_id: customerId,
            sent_at: at(0),
          }),
        }
      : variant === 1
        ? {
            offsetMs: 0,
            route: '/webhooks/bud',
            note: 'a Bud event type refreshbus does not handle',
            body: (at) => ({
              event: 'open_banking.v2.payment.completed',
              customer_id: customerId,
              payment_id: paymentId,
              status: 'Completed',
              created_at: at(0),
            }),
          }
        : {
            offsetMs: 0,
            route: '/webhooks/yodlee',
            note: 'a Yodlee event other than REFRESH',
            body: (at) => ({
              event: {
                info: 'DATA_UPDATES.USER_DATA',
                loginName: customerId,
                data: { userCount: 1, fromDate: at(-DAY), toDate: at(0) },
              },
            }),
          };
  return { steps: [step], deadLetters: [0], completions: [], newTransactions: [], alerts: [] };
}

/** Every scenario's builder. Each draws only from its own generator: a customer's day is stable. */
export const scenarioBuilders: Readonly<Record<ScenarioName, (ctx: ScenarioContext) => Episode>> = {
  'bud-v1-hosted': budV1Hosted,
  'bud-v2-hosted': budV2Hosted,
  'bud-requested': budRequested,
  'bud-retry': budRetry,
  'bud-reconnect': budReconnect,
  'bud-consent': budConsent,
  'bud-connect-after-revoke': budConnectAfterRevoke,
  'bud-stale-failure': budStaleFailure,
  'bud-unnamed-failure': budUnnamedFailure,
  'yodlee-refresh': yodleeRefresh,
  'yodlee-single-account': yodleeSingleAccount,
  'yodlee-password': yodleePassword,
  'late-delivery': lateDelivery,
  'dead-letter': deadLetter,
};
