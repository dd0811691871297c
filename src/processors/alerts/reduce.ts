import type { RefreshEvent } from '../../normalize/types.js';
import { deterministicId } from '../ids.js';
import {
  connectionKey,
  eventKind,
  learnConsentProvider,
  rekey,
  renewsConsent,
} from '../identity.js';
import type {
  Processor,
  ProcessorInput,
  ProcessorNote,
  ProcessorOutput,
  ReduceResult,
} from '../types.js';
import { USER_ACTIONS } from '../types.js';
import type { AlertSettings, AlertsState, ConnectionAlertState } from './state.js';
import { DEFAULT_ALERT_SETTINGS } from './state.js';
import { ALERTS_STATE_SCHEMAS, avroStateCodec } from '../../state/codec.js';

/** The key of the customer-level alert: failures that name no connection. */
export const CUSTOMER_KEY = 'customer';
/** How many failed task ids a customer-level episode remembers. */
const MAX_FAILED_TASKS = 20;

/** The user must act: Bud's reconnect_required, or an action only the user can take. */
export function needsUser(e: RefreshEvent): boolean {
  return e.reconnect_required || USER_ACTIONS.has(e.action_required);
}

function succeeded(e: RefreshEvent): boolean {
  return (
    e.phase === 'COMPLETED' && (e.outcome === 'SUCCESS' || e.outcome === 'PARTIAL') && !needsUser(e)
  );
}

/** Two alert states of one connection met under one key: the raised one, the older episode, stays. */
function mergeAlerts(a: ConnectionAlertState, b: ConnectionAlertState): ConnectionAlertState {
  const older = (a.first_failed_at ?? Infinity) <= (b.first_failed_at ?? Infinity) ? a : b;
  const keep = a.raised === b.raised ? older : a.raised ? a : b;
  return { ...keep, occurred_at: Math.max(a.occurred_at, b.occurred_at) };
}

interface Applied {
  outputs: ProcessorOutput[];
  notes: ProcessorNote[];
}
const nothing = (): Applied => ({ outputs: [], notes: [] });

/** A task's success is final: remembers it, and tells whether this event is a stale failure of one. */
function staleAfterSuccess(state: AlertsState, e: RefreshEvent, settings: AlertSettings): boolean {
  if (e.task_id === null) return false;
  if (state.succeeded_tasks.includes(e.task_id)) return e.outcome !== 'SUCCESS';
  if (e.phase === 'COMPLETED' && e.outcome === 'SUCCESS') {
    state.succeeded_tasks.push(e.task_id);
    if (state.succeeded_tasks.length > settings.recentSucceededTasks) state.succeeded_tasks.shift();
  }
  return false;
}

/** Earlier versions keyed a report that named no connection by its task: that is the customer's. */
function foldTaskKeys(state: AlertsState): void {
  for (const key of Object.keys(state.connections))
    if (key.startsWith('t:')) rekey(state.connections, key, CUSTOMER_KEY, mergeAlerts);
}

/**
 * Whether a success ends the customer-level episode. The failing connection is unknown, so a
 * success naming no connection ends it only when it is the failed task's own, or when it comes
 * long after the episode's last failure: one customer's hosted refresh reports its banks minutes
 * apart, so a sibling bank's success (same refresh) says nothing; a day later, it does.
 */
function endsCustomerEpisode(
  conn: ConnectionAlertState,
  e: RefreshEvent,
  now: number,
  settings: AlertSettings,
): boolean {
  if (e.task_id !== null && conn.failed_task_ids.includes(e.task_id)) return true;
  return conn.last_failed_at === null || now - conn.last_failed_at >= settings.customerQuietMs;
}

function applyEvent(
  state: AlertsState,
  e: RefreshEvent,
  now: number,
  settings: AlertSettings,
): Applied {
  if (state.recent_event_ids.includes(e.event_id)) return nothing();
  foldTaskKeys(state);
  state.recent_event_ids.push(e.event_id);
  if (state.recent_event_ids.length > settings.recentEventIds) state.recent_event_ids.shift();

  const moved = learnConsentProvider(state.consent_providers, e);
  if (moved) rekey(state.connections, moved.from, moved.to, mergeAlerts);

  const kind = eventKind(e);
  const renews = renewsConsent(e);
  // a failed connect changes no alert (the user is in the flow and sees it), nor do tasks that
  // neither refresh nor renew a consent (a revoke the client asked for)
  if ((kind === 'CONNECT' || kind === 'OTHER_TASK') && !renews) return nothing();
  if (staleAfterSuccess(state, e, settings))
    return { outputs: [], notes: e.outcome === 'FAILED' ? ['stale-failure-after-success'] : [] };

  const key = connectionKey(state.consent_providers, e) ?? CUSTOMER_KEY;
  const conn = state.connections[key];
  // Only outcomes are ordered by time: progress notes may carry just their receipt time. A
  // consent event is Bud's word on the consent itself, never dropped as older than a report
  // whose time may be our receipt time (Bud's task callbacks carry none).
  const timed = e.phase === 'COMPLETED';
  if (timed && kind !== 'CONNECTION' && conn && e.occurred_at < conn.occurred_at) return nothing();
  const next = track(state, key, conn, e, timed);

  if (e.action_required === 'RECONNECT_SOON') return warn(state, key, next, e);
  if (needsUser(e)) return raise(state, key, next, e, now);
  if (!succeeded(e) && !renews) return nothing();
  return { outputs: clearAfterSuccess(state, key, next, e, renews, now, settings), notes: [] };
}

/** The alert state of `key` with this event's word on its connection, kept in the state. */
function track(
  state: AlertsState,
  key: string,
  conn: ConnectionAlertState | undefined,
  e: RefreshEvent,
  timed: boolean,
): ConnectionAlertState {
  const next: ConnectionAlertState = conn ?? {
    provider: e.provider,
    connection_id: e.connection_id,
    raised: false,
    action_required: 'NONE',
    result_code: null,
    reason: null,
    first_failed_at: null,
    occurred_at: timed ? e.occurred_at : 0,
    failed_task_ids: [],
    last_failed_at: null,
  };
  if (timed) next.occurred_at = Math.max(next.occurred_at, e.occurred_at);
  if (key !== CUSTOMER_KEY) {
    next.provider = e.provider ?? next.provider;
    next.connection_id = e.connection_id ?? next.connection_id;
  }
  state.connections[key] = next;
  return next;
}

/** The user must act: a RAISED transition, unless the episode already asks the same of them. */
function raise(
  state: AlertsState,
  key: string,
  next: ConnectionAlertState,
  e: RefreshEvent,
  now: number,
): Applied {
  const action = USER_ACTIONS.has(e.action_required) ? e.action_required : 'RECONNECT';
  // transitions only: a repeated failure asking the same of the user raises nothing new
  if (key === CUSTOMER_KEY) {
    next.last_failed_at = now;
    if (e.task_id !== null && !next.failed_task_ids.includes(e.task_id))
      next.failed_task_ids = [...next.failed_task_ids, e.task_id].slice(-MAX_FAILED_TASKS);
  }
  if (next.raised && next.action_required === action) return nothing();
  if (!next.raised) next.first_failed_at = e.occurred_at;
  next.raised = true;
  next.action_required = action;
  next.result_code = e.result_code;
  next.reason = e.reason ?? null;
  return { outputs: [alert(state.customer_id, key, next, 'RAISED', e)], notes: [] };
}

/**
 * Access will stop soon unless the user reconnects (Plaid PENDING_EXPIRATION / _DISCONNECT): a
 * WARNING, with when it stops, that subscribers can act on before an alert is RAISED. Not a
 * transition of the episode: each warning the source sends is passed on; none while the
 * connection already waits for the user (its RAISED alert says more).
 */
function warn(
  state: AlertsState,
  key: string,
  next: ConnectionAlertState,
  e: RefreshEvent,
): Applied {
  if (next.raised) return nothing();
  const warning = { ...next, action_required: e.action_required, result_code: e.result_code };
  const output = alert(state.customer_id, key, { ...warning, reason: e.reason }, 'WARNING', e);
  return { outputs: [output], notes: [] };
}

/** A success or a renewed consent: the CLEARED transitions of the episodes it ends. */
function clearAfterSuccess(
  state: AlertsState,
  key: string,
  next: ConnectionAlertState,
  e: RefreshEvent,
  renews: boolean,
  now: number,
  settings: AlertSettings,
): ProcessorOutput[] {
  const outputs: ProcessorOutput[] = [];
  if (next.raised) {
    if (key !== CUSTOMER_KEY || renews || endsCustomerEpisode(next, e, now, settings))
      outputs.push(clear(state, key, e));
  } else if (renews && key.startsWith('c:')) {
    // A consent whose provider is not known (Bud's connect callbacks name none): when exactly
    // one connection of the customer is waiting for the user, this is taken to be its
    // reconnect and that episode ends. The pair is not learned from it: were it another bank's
    // new connection, its reports would be filed under the wrong provider for good, where a
    // wrong CLEARED is undone by that connection's next failure.
    const waiting = Object.entries(state.connections).filter(
      ([k, c]) => c.raised && k !== CUSTOMER_KEY && k !== key,
    );
    const only = waiting.length === 1 ? waiting[0] : undefined;
    if (only) outputs.push(clear(state, only[0], e));
  }
  // the customer-level alert ends with a success that names no connection either (above), or
  // when the user renews a consent or connects
  if (renews && key !== CUSTOMER_KEY && state.connections[CUSTOMER_KEY]?.raised)
    outputs.push(clear(state, CUSTOMER_KEY, e));
  return outputs;
}

/** Ends the episode of `key`: a CLEARED transition. */
function clear(state: AlertsState, key: string, cause: RefreshEvent): ProcessorOutput {
  const conn = state.connections[key] as ConnectionAlertState;
  const cleared = alert(
    state.customer_id,
    key,
    { ...conn, action_required: 'NONE', result_code: cause.result_code, reason: null },
    'CLEARED',
    cause,
  );
  conn.raised = false;
  conn.action_required = 'NONE';
  conn.result_code = cause.result_code;
  conn.reason = null;
  conn.first_failed_at = null;
  conn.failed_task_ids = [];
  return cleared;
}

function alert(
  customer: string,
  key: string,
  conn: ConnectionAlertState,
  status: 'RAISED' | 'CLEARED' | 'WARNING',
  cause: RefreshEvent,
): ProcessorOutput {
  return {
    kind: 'alert',
    value: {
      alert_id: deterministicId('alert', customer, key, status, cause.event_id),
      customer_id: customer,
      provider: conn.provider,
      connection_id: conn.connection_id,
      status,
      action_required: conn.action_required,
      result_code: conn.result_code,
      reason: conn.reason,
      first_failed_at: conn.first_failed_at,
      at: cause.occurred_at,
      expires_at: status === 'WARNING' ? cause.access_expires_at : null,
    },
  };
}

const alertsStateCodec = avroStateCodec<AlertsState>(ALERTS_STATE_SCHEMAS);

/**
 * Reconnect alerts, on transitions only: RAISED when a connection first needs the user or needs
 * something else of them; CLEARED on its next success, a successful connect or a renewed consent;
 * and a WARNING when the source says access will stop soon unless the user reconnects.
 */
export function alertsProcessor(
  settings: AlertSettings = DEFAULT_ALERT_SETTINGS,
): Processor<AlertsState> {
  return {
    name: 'alerts',
    codec: alertsStateCodec,
    reduce(
      current: AlertsState | undefined,
      input: ProcessorInput,
      now: number,
    ): ReduceResult<AlertsState> {
      if (input.kind === 'request') return { state: current, outputs: [] };
      if (input.kind === 'tick') {
        if (!current) return { state: undefined, outputs: [] };
        const anyRaised = Object.values(current.connections).some((c) => c.raised);
        const expired = !anyRaised && now - current.touched_at >= settings.stateTtlMs;
        return { state: expired ? undefined : current, outputs: [] };
      }
      const e = input.event;
      const state: AlertsState = current ?? {
        customer_id: e.customer_id,
        connections: {},
        consent_providers: {},
        succeeded_tasks: [],
        recent_event_ids: [],
        touched_at: now,
      };
      state.touched_at = now;
      const { outputs, notes } = applyEvent(state, e, now, settings);
      return notes.length > 0 ? { state, outputs, notes } : { state, outputs };
    },
    nextTimer(state: AlertsState, now: number) {
      // a raised alert is kept until it clears; otherwise the state expires
      if (Object.values(state.connections).some((c) => c.raised)) return undefined;
      return Math.max(now + 1, state.touched_at + settings.stateTtlMs);
    },
  };
}
