/**
 * Bud's connections that need the user: found revoked or failing with a code that needs a
 * reconnect, and the consent events and connect callbacks that clear the alert.
 */
import type { Episode, ScenarioContext } from './episode.js';
import {
  BUD_PROVIDERS,
  RECONNECT_GAP_MS,
  afterRoundGapMs,
  alert,
  connection,
  round,
  siblingGapMs,
} from './episode.js';

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

/**
 * A refresh finds the connection revoked (V2 `provider.completed`, reconnect required); later the
 * user reconnects and Bud sends a consent event for it, wrapped in `data` as Bud sends consent
 * events. Expect one completion (FAILED, RECONNECT), an alert RAISED then CLEARED. Consent events
 * open no round, so this holds whatever the gap between the two.
 */
export function budReconnect({ rng, customerId }: ScenarioContext): Episode {
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
    ...reconnectedAfterFailure(customerId, provider, consentId),
  };
}

/**
 * What a refresh failing for want of a reconnect, then the reconnect, come to: one completion
 * (FAILED, RECONNECT, no new data), an alert RAISED then CLEARED.
 */
function reconnectedAfterFailure(
  customerId: string,
  provider: string | null,
  consentId: string,
): Omit<Episode, 'steps'> {
  return {
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
export function budConsent({ rng, customerId }: ScenarioContext): Episode {
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
export function budConnectAfterRevoke({ rng, customerId, timing }: ScenarioContext): Episode {
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
    ...reconnectedAfterFailure(customerId, provider, consentId),
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
export function budUnnamedFailure({ rng, customerId, timing }: ScenarioContext): Episode {
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
