/**
 * Calls that must not change what comes out: a failure delivered after the success it predates
 * (stale, or late by its own times), and a body no mapper knows (dead-lettered).
 */
import type { Random } from '../random.js';
import type { Episode, ScenarioContext, Step } from './episode.js';
import {
  BUD_PROVIDERS,
  DAY,
  LATE_GAP_MS,
  MINUTE,
  afterRoundGapMs,
  connection,
  round,
  siblingGapMs,
} from './episode.js';
import type { YodleeAccount } from './yodlee.js';
import { yodleeAccount, yodleeAccounts, yodleeBody } from './yodlee.js';

/**
 * A stale failure: Bud's V1 success for a task, then a failure callback for the same task — an
 * earlier attempt's, delivered after the success (a retried delivery that lost the race) — one that
 * would need the user. It comes while the round is open or after it closed. A task's success is
 * final: expect one completion with the success, a signal when it brought new transactions, and
 * no alert.
 */
export function budStaleFailure({ rng, customerId, timing }: ScenarioContext): Episode {
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
 * A late delivery: a success, then a failure the source produced earlier (it says so in its
 * times) that would need the user. Yodlee (dataset times) or Bud V2 (`start_time`). An older
 * event never overrides a newer one: expect one completion with the success and no alert.
 */
export function lateDelivery({ rng, customerId }: ScenarioContext): Episode {
  return rng.chance(0.5) ? lateYodleeFailure(rng, customerId) : lateBudFailure(rng, customerId);
}

/**
 * Yodlee's late delivery: the account's success, then a failure that would need the user, older
 * by its dataset times.
 */
function lateYodleeFailure(rng: Random, customerId: string): Episode {
  const lateBy = LATE_GAP_MS;
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

/** Bud V2's late delivery: a success, then an earlier task's failure, older by its `start_time`. */
function lateBudFailure(rng: Random, customerId: string): Episode {
  const lateBy = LATE_GAP_MS;
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
 * REFRESH. Expect one dead letter (UNKNOWN_SHAPE for the shape, UNSUPPORTED_EVENT for the
 * others) and nothing else.
 */
export function deadLetter({ rng, customerId }: ScenarioContext): Episode {
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
  return {
    steps: [step],
    deadLetters: [0],
    deadLetterCodes: { 0: variant === 0 ? 'UNKNOWN_SHAPE' : 'UNSUPPORTED_EVENT' },
    completions: [],
    newTransactions: [],
    alerts: [],
  };
}
