import type { RefreshEvent } from '../../normalize/types.js';
import { deterministicId } from '../ids.js';
import type {
  ConnectionResult,
  Processor,
  ProcessorInput,
  ProcessorOutput,
  RefreshRequestedValue,
} from '../types.js';
import { USER_ACTIONS, connectionKey } from '../types.js';
import type { Round, RoundConnection, RoundSettings, RoundsState } from './state.js';
import { DEFAULT_ROUND_SETTINGS } from './state.js';
import { ROUNDS_STATE_SCHEMA, avroStateCodec } from '../../state/codec.js';

type Result = { state: RoundsState | undefined; outputs: ProcessorOutput[] };

function emptyState(customer: string, now: number): RoundsState {
  return {
    customer_id: customer,
    open: null,
    known: {},
    last_success_data_at: {},
    last_occurred_at: {},
    recent_event_ids: [],
    last_closed: null,
    touched_at: now,
  };
}

/** Final: succeeded, needs the user, will never work, or Bud's authoritative V2 completion. */
function isFinal(e: RefreshEvent): boolean {
  if (e.source_event === 'bud.v2.refresh.completed') return true;
  if (USER_ACTIONS.has(e.action_required) || e.action_required === 'UNSUPPORTED') return true;
  return e.phase === 'COMPLETED' && (e.outcome === 'SUCCESS' || e.outcome === 'PARTIAL');
}

function openRound(
  state: RoundsState,
  roundId: string,
  now: number,
  settings: RoundSettings,
): Round {
  const expected = Object.entries(state.known)
    .filter(([, k]) => now - k.last_seen_at <= settings.knownConnectionTtlMs)
    .map(([key]) => key);
  return {
    round_id: roundId,
    opened_at: now,
    last_activity_at: now,
    requested: null,
    expected,
    connections: {},
  };
}

/** Which expected targets no final connection satisfies yet. */
function missingTargets(round: Round): string[] {
  const conns = Object.values(round.connections).filter((c) => c.final);
  if (round.requested) {
    const missing: string[] = [];
    for (const task of round.requested.task_ids) {
      if (!conns.some((c) => c.task_id === task || c.parent_task_id === task)) missing.push(task);
    }
    for (const provider of round.requested.providers) {
      if (!conns.some((c) => c.provider === provider)) missing.push(provider);
    }
    return missing;
  }
  const finalKeys = new Set(conns.map((c) => c.key));
  return round.expected
    .filter((key) => !finalKeys.has(key))
    .map((key) => round.connections[key]?.provider ?? key.slice(2));
}

function toResult(c: RoundConnection): ConnectionResult {
  return {
    provider: c.provider,
    connection_id: c.connection_id,
    task_id: c.task_id,
    outcome: c.outcome,
    result_code: c.result_code,
    action_required: c.action_required,
    reconnect_required: c.reconnect_required,
    has_new_transactions:
      c.has_new_transactions === true || c.new_data ? true : c.has_new_transactions,
  };
}

function close(
  state: RoundsState,
  round: Round,
  reason: 'ALL_REPORTED' | 'REQUESTED_TASKS_DONE' | 'TIMED_OUT',
  now: number,
): ProcessorOutput[] {
  const connections = Object.values(round.connections).sort((a, b) => a.key.localeCompare(b.key));
  const missing = reason === 'TIMED_OUT' ? missingTargets(round) : [];
  const withNewData = connections.filter((c) => c.new_data);
  const outputs: ProcessorOutput[] = [
    {
      kind: 'completed',
      value: {
        customer_id: state.customer_id,
        round_id: round.round_id,
        opened_at: round.opened_at,
        closed_at: now,
        close_reason: reason,
        connections: connections.map(toResult),
        missing,
        all_succeeded:
          missing.length === 0 &&
          connections.length > 0 &&
          connections.every((c) => c.outcome === 'SUCCESS'),
        any_new_transactions: withNewData.length > 0,
      },
    },
  ];
  if (withNewData.length > 0) {
    outputs.push({
      kind: 'new-transactions',
      value: {
        customer_id: state.customer_id,
        round_id: round.round_id,
        providers: [
          ...new Set(withNewData.flatMap((c) => (c.provider ? [c.provider] : []))),
        ].sort(),
        task_ids: [...new Set(withNewData.flatMap((c) => (c.task_id ? [c.task_id] : [])))].sort(),
        detected_at: now,
      },
    });
  }
  state.open = null;
  state.last_closed = { round_id: round.round_id, closed_at: now };
  return outputs;
}

/** Closes the open round if everything it expects is final (and, without a request, it has settled). */
function closeIfDone(state: RoundsState, now: number, settings: RoundSettings): ProcessorOutput[] {
  const round = state.open;
  if (!round || Object.keys(round.connections).length === 0) return [];
  if (missingTargets(round).length > 0) return [];
  if (!round.requested) {
    if (Object.values(round.connections).some((c) => !c.final)) return [];
    if (now < round.opened_at + settings.settleMs) return [];
    return close(state, round, 'ALL_REPORTED', now);
  }
  return close(
    state,
    round,
    round.requested.task_ids.length > 0 ? 'REQUESTED_TASKS_DONE' : 'ALL_REPORTED',
    now,
  );
}

function applyEvent(
  state: RoundsState,
  e: RefreshEvent,
  now: number,
  settings: RoundSettings,
): ProcessorOutput[] {
  // consent changes are not refreshes: they open no round
  if (e.source_event.startsWith('bud.consent.')) return [];
  if (state.recent_event_ids.includes(e.event_id)) return []; // a re-delivery
  state.recent_event_ids.push(e.event_id);
  if (state.recent_event_ids.length > settings.recentEventIds) state.recent_event_ids.shift();

  const key = connectionKey(e);
  // Only outcomes are ordered by time. Progress notes often carry no source time (their receipt
  // time stands in), which must not make the outcome that follows them look old.
  if (e.phase === 'COMPLETED') {
    const newest = state.last_occurred_at[key];
    if (newest !== undefined && e.occurred_at < newest) return []; // older than what we know: late
    state.last_occurred_at[key] = e.occurred_at;
  }

  const round = (state.open ??= openRound(
    state,
    deterministicId('round', e.customer_id, e.event_id),
    now,
    settings,
  ));
  round.last_activity_at = now;
  state.known[key] = { provider: e.provider, connection_id: e.connection_id, last_seen_at: now };
  if (!round.requested && !round.expected.includes(key)) round.expected.push(key);

  let newData = e.has_new_transactions === true;
  if (
    e.source === 'YODLEE' &&
    (e.outcome === 'SUCCESS' || e.outcome === 'PARTIAL') &&
    e.data_updated_at !== null
  ) {
    const before = state.last_success_data_at[key];
    if (before === undefined || e.data_updated_at > before) {
      newData = true;
      state.last_success_data_at[key] = e.data_updated_at;
    }
  }
  const previous = round.connections[key];
  // a progress note never downgrades an outcome already reported in this round
  if (e.phase === 'IN_PROGRESS' && previous && previous.outcome !== 'PENDING')
    return closeIfDone(state, now, settings);
  const final = isFinal(e);
  const temporary = !final && e.phase === 'COMPLETED' && e.outcome === 'FAILED';
  round.connections[key] = {
    key,
    provider: e.provider ?? previous?.provider ?? null,
    connection_id: e.connection_id ?? previous?.connection_id ?? null,
    task_id: e.task_id,
    parent_task_id: e.parent_task_id,
    outcome: e.outcome,
    result_code: e.result_code,
    action_required: e.action_required,
    reconnect_required: e.reconnect_required,
    has_new_transactions: e.has_new_transactions,
    final,
    temporaryFailureSince: temporary ? (previous?.temporaryFailureSince ?? now) : null,
    occurred_at: e.occurred_at,
    new_data: newData || (previous?.new_data ?? false),
  };
  return closeIfDone(state, now, settings);
}

function applyRequest(
  state: RoundsState,
  r: RefreshRequestedValue,
  now: number,
  settings: RoundSettings,
): ProcessorOutput[] {
  if (r.providers.length === 0 && r.task_ids.length === 0) return []; // says nothing to expect
  const round = (state.open ??= openRound(
    state,
    deterministicId('round', r.customer_id, r.request_id),
    now,
    settings,
  ));
  round.last_activity_at = now;
  round.requested = {
    providers: [...new Set([...(round.requested?.providers ?? []), ...r.providers])],
    task_ids: [...new Set([...(round.requested?.task_ids ?? []), ...r.task_ids])],
  };
  return closeIfDone(state, now, settings);
}

function applyTick(state: RoundsState, now: number, settings: RoundSettings): ProcessorOutput[] {
  state.known = Object.fromEntries(
    Object.entries(state.known).filter(
      ([, k]) => now - k.last_seen_at <= settings.knownConnectionTtlMs,
    ),
  );
  const round = state.open;
  if (!round) return [];
  for (const c of Object.values(round.connections)) {
    if (
      !c.final &&
      c.temporaryFailureSince !== null &&
      now >= c.temporaryFailureSince + settings.retryGraceMs
    )
      c.final = true;
  }
  const closed = closeIfDone(state, now, settings);
  if (closed.length > 0) return closed;
  if (now >= round.last_activity_at + settings.quietDeadlineMs)
    return close(state, round, 'TIMED_OUT', now);
  return [];
}

const roundsStateCodec = avroStateCodec<RoundsState>(ROUNDS_STATE_SCHEMA);

/**
 * Refresh rounds: completion (CustomerRefreshCompleted) and new-transaction signals
 * (NewTransactionsAvailable), once per round. State in (handed over), state and outputs out.
 */
export function roundsProcessor(
  settings: RoundSettings = DEFAULT_ROUND_SETTINGS,
): Processor<RoundsState> {
  return {
    name: 'rounds',
    codec: roundsStateCodec,
    reduce(current: RoundsState | undefined, input: ProcessorInput, now: number): Result {
      if (input.kind === 'tick') {
        if (!current) return { state: undefined, outputs: [] };
        const state = current;
        const outputs = applyTick(state, now, settings);
        if (!state.open && now - state.touched_at >= settings.stateTtlMs)
          return { state: undefined, outputs };
        return { state, outputs };
      }
      const customer = input.kind === 'event' ? input.event.customer_id : input.request.customer_id;
      const state = current ?? emptyState(customer, now);
      state.touched_at = now;
      const outputs =
        input.kind === 'event'
          ? applyEvent(state, input.event, now, settings)
          : applyRequest(state, input.request, now, settings);
      return { state, outputs };
    },
    nextTimer(state: RoundsState, now: number): number | undefined {
      const round = state.open;
      if (!round) return Math.max(now + 1, state.touched_at + settings.stateTtlMs);
      // only deadlines whose passing changes something; a past one fires at once (after a
      // restart, say) and moves the round on, so this never asks for the same tick twice
      const times = [round.last_activity_at + settings.quietDeadlineMs];
      for (const c of Object.values(round.connections)) {
        if (!c.final && c.temporaryFailureSince !== null)
          times.push(c.temporaryFailureSince + settings.retryGraceMs);
      }
      const waitsOnlyToSettle =
        !round.requested &&
        Object.keys(round.connections).length > 0 &&
        Object.values(round.connections).every((c) => c.final) &&
        missingTargets(round).length === 0;
      if (waitsOnlyToSettle) times.push(round.opened_at + settings.settleMs);
      return Math.min(...times);
    },
  };
}
