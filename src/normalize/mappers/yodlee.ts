import type {
  ActionRequired,
  MapResult,
  Outcome,
  Phase,
  RawWebhook,
  RefreshEvent,
} from '../types.js';
import { field, finish, lookup, reject, text, time } from './common.js';

/** What a dataset's `additionalStatus` asks of the client (reference/yodlee.md). */
type Group =
  | 'running'
  | 'success'
  | 'partial'
  | 'credentials'
  | 'reauth'
  | 'mfa'
  | 'site'
  | 'temporary'
  | 'unsupported';

const GROUPS: Record<string, Group> = {
  LOGIN_IN_PROGRESS: 'running',
  DATA_RETRIEVAL_IN_PROGRESS: 'running',
  ACCT_SUMMARY_RECEIVED: 'running',
  MIGRATION_IN_PROGRESS: 'running',
  AVAILABLE_DATA_RETRIEVED: 'success',
  PARTIAL_DATA_RETRIEVED: 'partial',
  INCORRECT_CREDENTIALS: 'credentials',
  CREDENTIALS_UPDATE_NEEDED: 'credentials',
  NEW_AUTHENTICATION_REQUIRED: 'reauth',
  INCORRECT_OAUTH_TOKEN: 'reauth',
  CONSENT_REQUIRED: 'reauth',
  CONSENT_EXPIRED: 'reauth',
  CONSENT_REVOKED: 'reauth',
  ADDL_AUTHENTICATION_REQUIRED: 'mfa',
  INVALID_ADDL_INFO_PROVIDED: 'mfa',
  ACCOUNT_LOCKED: 'site',
  USER_ACTION_NEEDED_AT_SITE: 'site',
  ENROLLMENT_REQUIRED_FOR_DATASET: 'site',
  PROPERTY_VALUE_NOT_AVAILABLE: 'site',
  DATA_RETRIEVAL_FAILED: 'temporary',
  REQUEST_TIME_OUT: 'temporary',
  SITE_BLOCKING_ERROR: 'temporary',
  UNEXPECTED_SITE_ERROR: 'temporary',
  SITE_UNAVAILABLE: 'temporary',
  TECH_ERROR: 'temporary',
  SITE_SESSION_INVALIDATED: 'temporary',
  BETA_SITE_DEV_IN_PROGRESS: 'temporary',
  SITE_NOT_SUPPORTED: 'unsupported',
  DATASET_NOT_SUPPORTED: 'unsupported',
  DATA_NOT_AVAILABLE: 'unsupported',
};

/** Which dataset speaks for the account: the one asking the most of the user. */
const SEVERITY: Record<Group, number> = {
  credentials: 9,
  reauth: 8,
  mfa: 7,
  site: 6,
  unsupported: 5,
  temporary: 4,
  partial: 3,
  running: 2,
  success: 1,
};

const ACTION: Record<Group, ActionRequired> = {
  credentials: 'UPDATE_CREDENTIALS',
  reauth: 'RECONNECT',
  mfa: 'PROVIDE_MFA',
  site: 'ACT_AT_PROVIDER',
  unsupported: 'UNSUPPORTED',
  temporary: 'RETRY_LATER',
  partial: 'NONE',
  running: 'NONE',
  success: 'NONE',
};

const RUNNING_STATUSES = new Set([
  'LOGIN_IN_PROGRESS',
  'IN_PROGRESS',
  'MIGRATION_IN_PROGRESS',
  'USER_INPUT_REQUIRED',
]);

/** The providerAccount `status` alone, for when no dataset status is known. */
function statusOutcome(
  status: string | null,
  completed: boolean,
): { phase: Phase; outcome: Outcome } {
  switch (status) {
    case 'SUCCESS':
      return { phase: 'COMPLETED', outcome: 'SUCCESS' };
    case 'PARTIAL_SUCCESS':
      return { phase: 'COMPLETED', outcome: 'PARTIAL' };
    case 'FAILED':
    case 'DATA_RETRIEVAL_FAILED':
      return { phase: 'COMPLETED', outcome: 'FAILED' };
    default:
      // a finished process whose account still reads as running (waiting for MFA, say) ended
      // without its data: Yodlee does not carry on with it
      if (status !== null && RUNNING_STATUSES.has(status))
        return completed
          ? { phase: 'COMPLETED', outcome: 'FAILED' }
          : { phase: 'IN_PROGRESS', outcome: 'PENDING' };
      // an unknown status: the event kind tells whether the process is over
      return completed
        ? { phase: 'COMPLETED', outcome: 'FAILED' }
        : { phase: 'IN_PROGRESS', outcome: 'PENDING' };
  }
}

interface Dataset {
  readonly name: string | null;
  readonly additionalStatus: string | null;
  readonly updateEligibility: string | null;
  readonly lastUpdated: number | null;
  readonly lastUpdateAttempt: number | null;
}

function datasetsOf(account: unknown): Dataset[] {
  const list = field(account, 'dataset');
  if (!Array.isArray(list)) return [];
  return list.map((d) => ({
    name: text(field(d, 'name')),
    additionalStatus: text(field(d, 'additionalStatus')),
    updateEligibility: text(field(d, 'updateEligibility')),
    lastUpdated: time(field(d, 'lastUpdated')),
    lastUpdateAttempt: time(field(d, 'lastUpdateAttempt')),
  }));
}

/**
 * Datasets whose `lastUpdated` says transactions moved: `BASIC_AGG_DATA` (accounts and
 * transactions). Profile (`ACCT_PROFILE`), document and holdings datasets do not; a dataset with
 * no name is counted, as a missed fetch is worse than an extra one.
 */
const isTransactionData = (d: Dataset): boolean => d.name === null || d.name === 'BASIC_AGG_DATA';

const max = (values: (number | null)[]): number | null =>
  values.reduce<number | null>((m, v) => (v !== null && (m === null || v > m) ? v : m), null);

/**
 * One providerAccount → one event. `status` gives phase and outcome; the datasets are folded:
 * the dataset asking the most of the user gives `result_code` and `action_required`; an unknown
 * (or misspelt) `additionalStatus` is carried as the code and classified from `status` and
 * `updateEligibility`; `ALLOW_UPDATE_WITH_CREDENTIALS` always means UPDATE_CREDENTIALS.
 */
export function mapYodleeAccount(
  raw: RawWebhook,
  info: string,
  customer: string,
  account: unknown,
  notificationId: string | null = null,
  delivery: { readonly index: number; readonly count: number } = { index: 0, count: 1 },
): RefreshEvent | undefined {
  const id = text(field(account, 'id'));
  if (!id) return undefined;
  const status = text(field(account, 'status'));
  const completed = info === 'REFRESH.PROCESS_COMPLETED';
  const { phase, outcome } = statusOutcome(status, completed);
  const datasets = datasetsOf(account);

  let worst: { group: Group; code: string } | undefined;
  let unknownCode: string | null = null;
  for (const d of datasets) {
    if (d.additionalStatus === null) continue;
    const group = lookup(GROUPS, d.additionalStatus);
    if (!group) {
      unknownCode ??= d.additionalStatus;
      continue;
    }
    if (!worst || SEVERITY[group] > SEVERITY[worst.group])
      worst = { group, code: d.additionalStatus };
  }
  const needsCredentials = datasets.some(
    (d) => d.updateEligibility === 'ALLOW_UPDATE_WITH_CREDENTIALS',
  );

  // a dataset reporting a problem (temporary or worse) decides the action and the code
  const problem = worst && SEVERITY[worst.group] >= SEVERITY.temporary ? worst : undefined;
  let action: ActionRequired;
  if (needsCredentials) action = 'UPDATE_CREDENTIALS';
  else if (status === 'USER_INPUT_REQUIRED') action = 'PROVIDE_MFA';
  else if (problem) action = ACTION[problem.group];
  else if (outcome === 'FAILED')
    action = 'RETRY_LATER'; // failed, reason unknown: nothing says the user must act
  else action = 'NONE';
  const resultCode = problem?.code ?? unknownCode ?? worst?.code ?? status;

  return finish(
    raw,
    {
      source: 'YODLEE',
      source_event: `yodlee.${info}`,
      customer_id: customer,
      provider: text(field(account, 'providerId')),
      connection_id: id,
      task_id: text(field(account, 'requestId')),
      parent_task_id: null,
      phase,
      outcome,
      result_code: resultCode,
      action_required: action,
      reconnect_required: action === 'RECONNECT' || action === 'UPDATE_CREDENTIALS',
      has_new_transactions: null, // Yodlee does not say: compare data_updated_at
      data_updated_at: max(datasets.filter(isTransactionData).map((d) => d.lastUpdated)),
      // a finished Yodlee process is not retried: its report is final, whatever the outcome
      final: phase === 'COMPLETED',
      reason: null,
      occurred_at: max(datasets.flatMap((d) => [d.lastUpdateAttempt, d.lastUpdated])),
      subject: 'REFRESH',
      // a Yodlee process reports all its provider accounts in one notification (delivery_count)
      siblings_may_follow: false,
    },
    // the same content under another notification id is another notification
    notificationId === null ? [] : [notificationId],
    delivery,
  );
}

const YODLEE_EVENTS = new Set(['REFRESH.INTERIM_PROGRESS', 'REFRESH.PROCESS_COMPLETED']);

/** Yodlee `{event:{info, loginName, data:{providerAccount:[…]}}}`: one event per providerAccount. */
export function mapYodlee(raw: RawWebhook, body: unknown): MapResult {
  const event = field(body, 'event');
  if (typeof event !== 'object' || event === null) {
    return reject('UNKNOWN_SHAPE', 'a Yodlee body has an "event" object');
  }
  const info = text(field(event, 'info'));
  if (!info) return reject('MISSING_FIELD', 'event.info is missing');
  if (!YODLEE_EVENTS.has(info)) {
    return reject(
      'UNSUPPORTED_EVENT',
      `Yodlee event ${JSON.stringify(info.slice(0, 100))} is not supported`,
    );
  }
  const customer = text(field(event, 'loginName'));
  if (!customer) return reject('MISSING_FIELD', 'event.loginName is missing');
  const accounts = field(field(event, 'data'), 'providerAccount');
  if (!Array.isArray(accounts))
    return reject('MISSING_FIELD', 'event.data.providerAccount is not an array');
  const notificationId =
    text(field(body, 'notificationId')) ?? text(field(event, 'notificationId'));
  // accounts without an id are skipped; the count is of those that become events
  const withId = accounts.filter((a) => text(field(a, 'id')) !== null);
  const events = withId.flatMap((a, index) => {
    const e = mapYodleeAccount(raw, info, customer, a, notificationId, {
      index,
      count: withId.length,
    });
    return e ? [e] : [];
  });
  if (events.length === 0 && accounts.length > 0) {
    return reject('INVALID_FIELD', 'no providerAccount has an id');
  }
  return { ok: true, events };
}
