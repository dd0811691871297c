import type { RefreshEvent } from '../../normalize/types.js';
import { deterministicId } from '../ids.js';
import type { Processor, ProcessorInput, ProcessorOutput } from '../types.js';
import { USER_ACTIONS, connectionKey } from '../types.js';
import type { AlertSettings, AlertsState } from './state.js';
import { DEFAULT_ALERT_SETTINGS } from './state.js';
import { ALERTS_STATE_SCHEMA, avroStateCodec } from '../../state/codec.js';

/** The user must act: Bud's reconnect_required, or an action only the user can take. */
export function needsUser(e: RefreshEvent): boolean {
  return e.reconnect_required || USER_ACTIONS.has(e.action_required);
}

function succeeded(e: RefreshEvent): boolean {
  return (
    e.phase === 'COMPLETED' && (e.outcome === 'SUCCESS' || e.outcome === 'PARTIAL') && !needsUser(e)
  );
}

function applyEvent(
  state: AlertsState,
  e: RefreshEvent,
  settings: AlertSettings,
): ProcessorOutput[] {
  if (state.recent_event_ids.includes(e.event_id)) return [];
  state.recent_event_ids.push(e.event_id);
  if (state.recent_event_ids.length > settings.recentEventIds) state.recent_event_ids.shift();

  // alerts follow a connection: its id, else its provider (a task id does not outlive the task)
  const key = e.connection_id || e.provider ? connectionKey({ ...e, task_id: null }) : undefined;
  if (!key) return [];
  const conn = state.connections[key];
  // only outcomes are ordered by time: progress notes may carry just their receipt time
  const timed = e.phase === 'COMPLETED';
  if (timed && conn && e.occurred_at < conn.occurred_at) return []; // older than what we know: never overrides
  const next = conn ?? {
    provider: e.provider,
    connection_id: e.connection_id,
    raised: false,
    action_required: 'NONE' as const,
    result_code: null,
    first_failed_at: null,
    occurred_at: timed ? e.occurred_at : 0,
  };
  if (timed) next.occurred_at = Math.max(next.occurred_at, e.occurred_at);
  next.provider = e.provider ?? next.provider;
  next.connection_id = e.connection_id ?? next.connection_id;
  state.connections[key] = next;

  if (needsUser(e) && !next.raised) {
    next.raised = true;
    next.first_failed_at = e.occurred_at;
    next.action_required = USER_ACTIONS.has(e.action_required) ? e.action_required : 'RECONNECT';
    next.result_code = e.result_code;
    return [alert(state.customer_id, key, next, 'RAISED', e)];
  }
  if (succeeded(e) && next.raised) {
    const cleared = alert(
      state.customer_id,
      key,
      { ...next, action_required: 'NONE', result_code: e.result_code },
      'CLEARED',
      e,
    );
    next.raised = false;
    next.action_required = 'NONE';
    next.result_code = e.result_code;
    next.first_failed_at = null;
    return [cleared];
  }
  return [];
}

function alert(
  customer: string,
  key: string,
  conn: AlertsState['connections'][string],
  status: 'RAISED' | 'CLEARED',
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
      first_failed_at: conn.first_failed_at,
      at: cause.occurred_at,
    },
  };
}

const alertsStateCodec = avroStateCodec<AlertsState>(ALERTS_STATE_SCHEMA);

/** Reconnect alerts: RAISED when a connection first needs the user, CLEARED on its next success. */
export function alertsProcessor(
  settings: AlertSettings = DEFAULT_ALERT_SETTINGS,
): Processor<AlertsState> {
  return {
    name: 'alerts',
    codec: alertsStateCodec,
    reduce(current: AlertsState | undefined, input: ProcessorInput, now: number) {
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
        recent_event_ids: [],
        touched_at: now,
      };
      state.touched_at = now;
      return { state, outputs: applyEvent(state, e, settings) };
    },
    nextTimer(state: AlertsState, now: number) {
      // a raised alert is kept until it clears; otherwise the state expires
      if (Object.values(state.connections).some((c) => c.raised)) return undefined;
      return Math.max(now + 1, state.touched_at + settings.stateTtlMs);
    },
  };
}
