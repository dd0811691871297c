import type { ActionRequired, Outcome } from '../normalize/types.js';
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

/** One completion of the listed connections, and its signal when any brought new data. */
function round(
  customerId: string,
  closeReason: ExpectedCompletion['closeReason'],
  connections: (ExpectedConnection & { newData: boolean })[],
): Pick<Episode, 'completions' | 'newTransactions'> {
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
): ExpectedAlert => ({ customerId, provider, connectionId, status, actionRequired });

/**
 * Bud's hosted daily refresh, V1: one webhook per provider (1–3), booleans as strings or real
 * booleans, sometimes with a consent id. Sometimes one provider is found revoked (reconnect
 * required). Expect one completion listing every provider, a signal naming those with new
 * transactions, and a RAISED alert for a revoked one.
 */
function budV1Hosted({ rng, customerId, timing }: ScenarioContext): Episode {
  const providers = rng.sample(BUD_PROVIDERS, rng.pick([1, 2, 2, 3]));
  const strings = rng.chance(0.7);
  const flag = (b: boolean) => (strings ? String(b) : b);
  const revoked = rng.chance(0.2) ? rng.int(0, providers.length - 1) : -1;
  const conns = providers.map((provider, i) => ({
    provider,
    taskId: rng.uuid(),
    consentId: rng.chance(0.5) ? rng.uuid() : null,
    failed: i === revoked,
    result: i === revoked ? rng.pick(['connection_revoked', 'auth_expired']) : 'success',
    hasNew: i !== revoked && rng.chance(0.6),
  }));
  const gap = siblingGapMs(timing);
  return {
    steps: conns.map((c, i) => ({
      offsetMs: i * gap,
      route: '/webhooks/bud',
      note: c.failed
        ? `hosted refresh (V1) of ${c.provider}: ${c.result}, reconnect required`
        : `hosted refresh (V1) of ${c.provider}`,
      body: () => ({
        data: {
          task_id: c.taskId,
          task_type: 'refresh',
          customer_id: customerId,
          status: c.failed ? 'Failed' : 'Completed',
          result: c.result,
          has_new_transactions: flag(c.hasNew),
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
 * user reconnects and Bud sends a consent event for it. Expect one completion (FAILED,
 * RECONNECT), an alert RAISED then CLEARED. Consent events open no round, so this holds whatever
 * the gap between the two.
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
          event,
          customer_id: customerId,
          consent_id: consentId,
          provider,
          updated_at: at(later),
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

/**
 * A Yodlee REFRESH for 1–2 accounts: INTERIM_PROGRESS (login), sometimes a second one (account
 * summary), then PROCESS_COMPLETED — for both accounts at once or one by one; now and then an
 * account is only partly retrieved. Expect one completion, a signal (the data moved forward), no
 * alert.
 */
function yodleeRefresh({ rng, customerId }: ScenarioContext): Episode {
  const accounts = yodleeAccounts(rng, rng.pick([1, 1, 2]));
  const partial = accounts.map(() => rng.chance(0.1));
  const summary = rng.chance(0.7);
  const together = accounts.length > 1 && rng.chance(0.5);
  const gap = YODLEE_GAP_MS;
  const steps: Step[] = [];
  const next = () => steps.length * gap;
  // Yodlee reports a refresh as a sequence: each note is sent once the one before is answered
  const push = (step: Omit<Step, 'after'>) =>
    steps.push(steps.length ? { ...step, after: steps.length - 1 } : step);
  for (const a of accounts) {
    const offset = next();
    push({
      offsetMs: offset,
      route: '/webhooks/yodlee',
      note: `REFRESH.INTERIM_PROGRESS for account ${a.id}: login succeeded`,
      body: (at) =>
        yodleeBody(customerId, 'REFRESH.INTERIM_PROGRESS', [
          yodleeInterim(a, 'DATA_RETRIEVAL_IN_PROGRESS', at(offset)),
        ]),
    });
  }
  if (summary) {
    for (const a of accounts) {
      const offset = next();
      push({
        offsetMs: offset,
        route: '/webhooks/yodlee',
        note: `REFRESH.INTERIM_PROGRESS for account ${a.id}: account summary received`,
        body: (at) =>
          yodleeBody(customerId, 'REFRESH.INTERIM_PROGRESS', [
            yodleeInterim(a, 'ACCT_SUMMARY_RECEIVED', at(offset)),
          ]),
      });
    }
  }
  const completed = (a: YodleeAccount, i: number, at: SourceClock, offset: number) =>
    yodleeAccount(a, partial[i] ? 'PARTIAL_SUCCESS' : 'SUCCESS', {
      additionalStatus: partial[i] ? 'PARTIAL_DATA_RETRIEVED' : 'AVAILABLE_DATA_RETRIEVED',
      updateEligibility: 'ALLOW_UPDATE',
      lastUpdated: at(offset),
      lastUpdateAttempt: at(offset),
      nextUpdateScheduled: at(offset + DAY),
    });
  const groups = together
    ? [accounts.map((a, i) => ({ a, i }))]
    : accounts.map((a, i) => [{ a, i }]);
  for (const group of groups) {
    const offset = next();
    push({
      offsetMs: offset,
      route: '/webhooks/yodlee',
      note: `REFRESH.PROCESS_COMPLETED for account${group.length > 1 ? 's' : ''} ${group.map(({ a }) => a.id).join(', ')}`,
      body: (at) =>
        yodleeBody(
          customerId,
          'REFRESH.PROCESS_COMPLETED',
          group.map(({ a, i }) => completed(a, i, at, offset)),
        ),
    });
  }
  return {
    steps,
    deadLetters: [],
    ...round(
      customerId,
      'ALL_REPORTED',
      accounts.map((a, i) => ({
        ...connection(String(a.providerId), String(a.id), partial[i] ? 'PARTIAL' : 'SUCCESS'),
        newData: true,
      })),
    ),
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
  'yodlee-refresh': yodleeRefresh,
  'yodlee-password': yodleePassword,
  'late-delivery': lateDelivery,
  'dead-letter': deadLetter,
};
