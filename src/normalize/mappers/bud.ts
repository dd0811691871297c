import type {
  ActionRequired,
  MapResult,
  MappedFields,
  Outcome,
  RawWebhook,
  RefreshEvent,
} from '../types.js';
import { field, finish, flag, lookup, reject, text, time } from './common.js';

/** Bud result codes that mean the refresh will not work whatever the user does. */
const UNSUPPORTED_RESULTS = new Set([
  'provider_endpoint_deprecated',
  'provider_endpoint_unimplemented',
  'provider_endpoint_unsupported',
  'extension_not_permitted',
  'provider_not_found',
]);

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
 * What the user must do. Bud's `reconnect_required` is trusted over any reading of the code (its
 * own `connection_not_found` example says false), so only it raises RECONNECT.
 */
export function budAction(
  outcome: Outcome,
  result: string | null,
  reconnect: boolean,
): ActionRequired {
  if (reconnect) return 'RECONNECT';
  if (outcome === 'SUCCESS') return 'NONE';
  if (result !== null && UNSUPPORTED_RESULTS.has(result)) return 'UNSUPPORTED';
  return 'RETRY_LATER';
}

interface TaskFields {
  readonly status: unknown;
  readonly result: unknown;
  readonly reconnect: unknown;
  readonly hasNew: unknown;
}

function taskResult(
  t: TaskFields,
):
  | Pick<
      MappedFields,
      | 'phase'
      | 'outcome'
      | 'result_code'
      | 'action_required'
      | 'reconnect_required'
      | 'has_new_transactions'
    >
  | undefined {
  const result = text(t.result);
  const outcome = budOutcome(text(t.status), result);
  if (!outcome) return undefined;
  const reconnect = flag(t.reconnect) ?? false;
  return {
    phase: 'COMPLETED',
    outcome,
    result_code: result ?? text(t.status),
    action_required: budAction(outcome, result, reconnect),
    reconnect_required: reconnect,
    has_new_transactions: flag(t.hasNew),
  };
}

const TASK_TYPE = /^[a-z][a-z0-9_]{0,40}$/;

/** Bud V1 `{data:{task_id, task_type, customer_id, status, result, …}}`: one event. */
export function mapBudV1(raw: RawWebhook, body: unknown): MapResult {
  const data = field(body, 'data');
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
    occurred_at: null, // V1 carries no time: the receipt time stands in
    ...result,
  };
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
 * `open_banking.v2.refresh.provider.completed` (one event). `occurred_at` is the task's `start_time`.
 */
export function mapBudV2(raw: RawWebhook, body: unknown, event: string): MapResult {
  const customer = text(field(body, 'customer_id'));
  if (!customer) return reject('MISSING_FIELD', 'customer_id is missing');
  const started = time(field(body, 'start_time'));
  const sourceEvent =
    event === 'open_banking.v2.refresh.completed'
      ? 'bud.v2.refresh.completed'
      : 'bud.v2.refresh.provider.completed';
  const fromTask = (task: unknown, parent: string | null): RefreshEvent | undefined => {
    const result = taskResult({
      status: field(task, 'status'),
      result: field(task, 'result'),
      reconnect: field(task, 'reconnect_required'),
      hasNew: field(task, 'has_new_transactions'),
    });
    if (!result) return undefined;
    return finish(raw, {
      source: 'BUD',
      source_event: sourceEvent,
      customer_id: customer,
      provider: text(field(task, 'provider')),
      connection_id: connectionOf(task),
      task_id: text(field(task, 'task_id')),
      parent_task_id: parent,
      data_updated_at: null,
      occurred_at: time(field(task, 'start_time')) ?? started,
      ...result,
    });
  };

  const subTasks = field(body, 'sub_tasks');
  if (sourceEvent === 'bud.v2.refresh.completed' && Array.isArray(subTasks)) {
    const parent = text(field(body, 'task_id'));
    // a malformed sub-task is skipped; the others still count
    const events = subTasks.flatMap((t) => {
      const e = typeof t === 'object' && t !== null ? fromTask(t, parent) : undefined;
      return e ? [e] : [];
    });
    if (events.length > 0) return { ok: true, events };
  }
  const single = fromTask(body, null);
  return single
    ? { ok: true, events: [single] }
    : reject('MISSING_FIELD', 'status and result are both missing');
}

const CONSENT_EVENTS: Record<
  string,
  { outcome: Outcome; action: ActionRequired; reconnect: boolean }
> = {
  'open_banking.consent.revoked': { outcome: 'FAILED', action: 'RECONNECT', reconnect: true },
  'open_banking.consent.reconfirmed': { outcome: 'SUCCESS', action: 'NONE', reconnect: false },
  'open_banking.consent.reauthorised': { outcome: 'SUCCESS', action: 'NONE', reconnect: false },
};

/**
 * Bud consent events. A revoked consent needs the user: a FAILED/RECONNECT event for the consent's
 * connection (the reconnect processor raises an alert); a reconfirmed or reauthorised consent is a
 * SUCCESS for it (the alert clears). They carry no task and open no refresh round.
 */
export function mapBudConsent(raw: RawWebhook, body: unknown, event: string): MapResult {
  const kind = lookup(CONSENT_EVENTS, event);
  if (!kind)
    return reject(
      'UNSUPPORTED_EVENT',
      `Bud event ${JSON.stringify(event.slice(0, 100))} is not supported`,
    );
  const customer = text(field(body, 'customer_id'));
  if (!customer) return reject('MISSING_FIELD', 'customer_id is missing');
  const name = event.slice('open_banking.'.length);
  const fields: MappedFields = {
    source: 'BUD',
    source_event: `bud.${name}`,
    customer_id: customer,
    provider: text(field(body, 'provider')),
    connection_id: text(field(body, 'consent_id')),
    task_id: null,
    parent_task_id: null,
    phase: 'COMPLETED',
    outcome: kind.outcome,
    result_code: name.replace('.', '_'),
    action_required: kind.action,
    reconnect_required: kind.reconnect,
    has_new_transactions: null,
    data_updated_at: null,
    occurred_at: time(field(body, 'updated_at')),
  };
  return { ok: true, events: [finish(raw, fields)] };
}

/** Any Bud body: V1 by its `data` object, V2 and consent events by their `event` name. */
export function mapBud(raw: RawWebhook, body: unknown): MapResult {
  const data = field(body, 'data');
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) return mapBudV1(raw, body);
  const event = field(body, 'event');
  if (typeof event === 'string') {
    if (
      event === 'open_banking.v2.refresh.completed' ||
      event === 'open_banking.v2.refresh.provider.completed'
    ) {
      return mapBudV2(raw, body, event);
    }
    return mapBudConsent(raw, body, event);
  }
  return reject(
    'UNKNOWN_SHAPE',
    'a Bud body has a "data" object (V1) or an "event" name (V2, consent)',
  );
}
