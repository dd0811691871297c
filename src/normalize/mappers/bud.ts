import type {
  ActionRequired,
  MapResult,
  MappedFields,
  MappedResult,
  Outcome,
  RawWebhook,
  RefreshEvent,
  Subject,
} from '../types.js';
import { budCode } from './bud-codes.js';
import { field, finish, flag, lookup, reject, text, time } from './common.js';

/**
 * Outcome from Bud's `status` (Completed/Failed) and `result`: a Completed task whose result is
 * not `success` counts as failed; an unknown status falls back to the result.
 */
export function budOutcome(status: string | null, result: string | null): Outcome | undefined {
  const s = status?.toLowerCase();
  if (s === 'failed') return 'FAILED';
  if (s === 'completed') return result === null || result === 'success' ? 'SUCCESS' : 'FAILED';
  if (result !== null) return result === 'success' ? 'SUCCESS' : 'FAILED';
  return undefined;
}

/**
 * What the user must do, and whether the report is final. A present `reconnect_required` wins:
 * `true` is RECONNECT whatever the code; `false` means the user need not reconnect, so a code that
 * would ask it becomes a temporary failure. An absent flag (optional in Bud's V1 schema) lets the
 * code decide (`bud-codes.ts`); an unknown code is temporary.
 */
export function budAction(
  outcome: Outcome,
  result: string | null,
  reconnect: boolean | null,
): { action: ActionRequired; final: boolean } {
  if (reconnect === true) return { action: 'RECONNECT', final: true };
  if (outcome === 'SUCCESS') return { action: 'NONE', final: true };
  const code = budCode(result);
  if (reconnect === false && code.action === 'RECONNECT')
    return { action: 'RETRY_LATER', final: false };
  return { action: code.action, final: code.final };
}

interface TaskFields {
  readonly status: unknown;
  readonly result: unknown;
  readonly reconnect: unknown;
  readonly hasNew: unknown;
}

type TaskResult = MappedResult;

function taskResult(t: TaskFields): TaskResult | undefined {
  const result = text(t.result);
  const outcome = budOutcome(text(t.status), result);
  if (!outcome) return undefined;
  const reconnect = flag(t.reconnect);
  const { action, final } = budAction(outcome, result, reconnect);
  return {
    phase: 'COMPLETED',
    outcome,
    result_code: result ?? text(t.status),
    action_required: action,
    reconnect_required: reconnect ?? action === 'RECONNECT',
    has_new_transactions: flag(t.hasNew),
    final,
  };
}

const TASK_TYPE = /^[a-z][a-z0-9_-]{0,40}$/;

/**
 * Bud reports a hosted refresh of several providers in sibling webhooks (a task, a V2 webhook per
 * provider) that may arrive apart: a round waits the settle time for them.
 */
const SIBLINGS_MAY_FOLLOW = true;

/**
 * A V1 task's subject: a refresh; a connect (a new connection's first fetch); any other task
 * (revoke, consent-refresh, kinds Bud adds later) is neither.
 */
function taskSubject(taskType: string): Subject {
  if (taskType === 'refresh') return 'REFRESH';
  if (taskType === 'connect') return 'CONNECT';
  return 'OTHER_TASK';
}

/**
 * Bud's task callbacks wrapped in `data`: refresh completed (V1), connect completed and sync
 * complete (`task_type` connect | refresh | revoke | consent-refresh): one event. The connection
 * is the `consent_id`, else the `provider`, else none — never the task id.
 */
export function mapBudTask(raw: RawWebhook, data: unknown): MapResult {
  const customer = text(field(data, 'customer_id'));
  if (!customer) return reject('MISSING_FIELD', 'data.customer_id is missing');
  const taskType = text(field(data, 'task_type')) ?? 'refresh';
  const result = taskResult({
    status: field(data, 'status'),
    result: field(data, 'result'),
    reconnect: field(data, 'reconnect_required'),
    hasNew: field(data, 'has_new_transactions'),
  });
  if (!result) return reject('MISSING_FIELD', 'data.status and data.result are both missing');
  const fields: MappedFields = {
    source: 'BUD',
    source_event: `bud.v1.${TASK_TYPE.test(taskType) ? taskType : 'other'}`,
    customer_id: customer,
    provider: text(field(data, 'provider')),
    connection_id: text(field(data, 'consent_id')),
    task_id: text(field(data, 'task_id')),
    parent_task_id: null,
    data_updated_at: null,
    reason: null,
    occurred_at: null, // task callbacks carry no time: the receipt time stands in
    ...result,
    subject: taskSubject(taskType),
    siblings_may_follow: SIBLINGS_MAY_FOLLOW,
  };
  // a connect is over when it is reported: Bud retries refreshes, not connects
  if (taskType !== 'refresh') fields.final = true;
  return { ok: true, events: [finish(raw, fields)] };
}

function connectionOf(task: unknown): string | null {
  const ids = field(task, 'consent_ids');
  return (
    text(field(field(task, 'consent_details'), 'id')) ??
    (Array.isArray(ids) ? text(ids[0]) : null) ??
    text(field(task, 'consent_id'))
  );
}

/**
 * Bud V2 `open_banking.v2.refresh.completed` (one event per sub-task, `parent_task_id` set) and
 * `open_banking.v2.refresh.provider.completed` (one event). `occurred_at` is the task's
 * `start_time`. A `refresh.completed` is Bud's last word on its sub-tasks: each is final.
 */
export function mapBudV2(raw: RawWebhook, body: unknown, event: string): MapResult {
  const customer = text(field(body, 'customer_id'));
  if (!customer) return reject('MISSING_FIELD', 'customer_id is missing');
  const started = time(field(body, 'start_time'));
  const completed = event === 'open_banking.v2.refresh.completed';
  const sourceEvent = completed ? 'bud.v2.refresh.completed' : 'bud.v2.refresh.provider.completed';
  const fieldsOf = (task: unknown, parent: string | null): MappedFields | undefined => {
    const result = taskResult({
      status: field(task, 'status'),
      result: field(task, 'result'),
      reconnect: field(task, 'reconnect_required'),
      hasNew: field(task, 'has_new_transactions'),
    });
    if (!result) return undefined;
    return {
      source: 'BUD',
      source_event: sourceEvent,
      customer_id: customer,
      provider: text(field(task, 'provider')),
      connection_id: connectionOf(task),
      task_id: text(field(task, 'task_id')),
      parent_task_id: parent,
      data_updated_at: null,
      reason: null,
      occurred_at: time(field(task, 'start_time')) ?? started,
      ...result,
      final: completed ? true : result.final,
      subject: 'REFRESH',
      siblings_may_follow: SIBLINGS_MAY_FOLLOW,
    };
  };

  const subTasks = field(body, 'sub_tasks');
  if (completed && Array.isArray(subTasks)) {
    const parent = text(field(body, 'task_id'));
    // a malformed sub-task is skipped; the others still count
    const mapped = subTasks.flatMap((t) => {
      const f = typeof t === 'object' && t !== null ? fieldsOf(t, parent) : undefined;
      return f ? [f] : [];
    });
    const events: RefreshEvent[] = mapped.map((f, index) =>
      finish(raw, f, [], { index, count: mapped.length }),
    );
    if (events.length > 0) return { ok: true, events };
  }
  const single = fieldsOf(body, null);
  return single
    ? { ok: true, events: [finish(raw, single)] }
    : reject('MISSING_FIELD', 'status and result are both missing');
}

const CONSENT_EVENTS: Record<string, { outcome: Outcome; action: ActionRequired }> = {
  'open_banking.consent.revoked': { outcome: 'FAILED', action: 'RECONNECT' },
  'open_banking.consent.reconfirmed': { outcome: 'SUCCESS', action: 'NONE' },
  'open_banking.consent.reauthorised': { outcome: 'SUCCESS', action: 'NONE' },
};

/**
 * Bud consent events (`OBConsentWebhookBody`, `{data:{event, consent_id, customer_id, provider,
 * updated_at, reason}}`). A revoked consent needs the user: FAILED/RECONNECT for the consent's
 * connection, with Bud's `reason`; a reconfirmed or reauthorised consent is a SUCCESS for it.
 * They carry no task and open no refresh round.
 */
export function mapBudConsent(raw: RawWebhook, data: unknown, event: string): MapResult {
  const kind = lookup(CONSENT_EVENTS, event);
  if (!kind)
    return reject(
      'UNSUPPORTED_EVENT',
      `Bud event ${JSON.stringify(event.slice(0, 100))} is not supported`,
    );
  const customer = text(field(data, 'customer_id'));
  if (!customer) return reject('MISSING_FIELD', 'data.customer_id is missing');
  const name = event.slice('open_banking.'.length);
  const fields: MappedFields = {
    source: 'BUD',
    source_event: `bud.${name}`,
    customer_id: customer,
    provider: text(field(data, 'provider')),
    connection_id: text(field(data, 'consent_id')),
    task_id: null,
    parent_task_id: null,
    phase: 'COMPLETED',
    outcome: kind.outcome,
    result_code: name.replace('.', '_'),
    action_required: kind.action,
    reconnect_required: kind.action === 'RECONNECT',
    has_new_transactions: null,
    data_updated_at: null,
    final: true,
    reason: kind.outcome === 'FAILED' ? text(field(data, 'reason')) : null,
    occurred_at: time(field(data, 'updated_at')),
    // the consent itself: alerts only, never a refresh round
    subject: 'CONNECTION',
    siblings_may_follow: SIBLINGS_MAY_FOLLOW,
  };
  // the reason tells two revocations apart (added to the id only when sent, so others keep theirs)
  return { ok: true, events: [finish(raw, fields, fields.reason === null ? [] : [fields.reason])] };
}

/** Bud webhooks that are genuine but say nothing about refreshes: payments, data ingestion. */
const UNUSED_EVENT_PREFIXES = ['payment.', 'first_party_ingester.'];

function mapBudEvent(raw: RawWebhook, body: unknown, event: string): MapResult {
  if (
    event === 'open_banking.v2.refresh.completed' ||
    event === 'open_banking.v2.refresh.provider.completed'
  )
    return mapBudV2(raw, body, event);
  if (UNUSED_EVENT_PREFIXES.some((p) => event.startsWith(p)))
    return reject(
      'UNUSED_EVENT',
      `Bud event ${JSON.stringify(event.slice(0, 100))} is genuine but not a refresh signal`,
    );
  return mapBudConsent(raw, body, event);
}

/**
 * Any Bud body. Wrapped in `data`: consent, payment and ingestion events by their `data.event`
 * name, task callbacks (refresh V1, connect, sync complete) otherwise. Flat: V2 refresh events by
 * their `event` name (a flat consent event is read too).
 */
export function mapBud(raw: RawWebhook, body: unknown): MapResult {
  const data = field(body, 'data');
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
    const event = field(data, 'event');
    if (typeof event === 'string') return mapBudEvent(raw, data, event);
    return mapBudTask(raw, data);
  }
  const event = field(body, 'event');
  if (typeof event === 'string') return mapBudEvent(raw, body, event);
  return reject(
    'UNKNOWN_SHAPE',
    'a Bud body has a "data" object (task and consent callbacks) or an "event" name (V2)',
  );
}
