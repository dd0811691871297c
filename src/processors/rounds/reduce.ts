import { capList } from '../../contract/limits.js';
import type { RefreshEvent } from '../../normalize/types.js';
import { deterministicId } from '../ids.js';
import { connectionKey, eventKind, learnConsentProvider, rekey } from '../identity.js';
import type {
  ConnectionResult,
  Processor,
  ProcessorInput,
  ProcessorNote,
  ProcessorOutput,
  ReduceResult,
  RefreshRequestedValue,
} from '../types.js';
import { USER_ACTIONS } from '../types.js';
import type { Round, RoundConnection, RoundSettings, RoundsState } from './state.js';
import { DEFAULT_ROUND_SETTINGS } from './state.js';
import { ROUNDS_STATE_SCHEMAS, avroStateCodec } from '../../state/codec.js';

type Result = ReduceResult<RoundsState>;

function emptyState(customer: string, now: number): RoundsState {
  return {
    customer_id: customer,
    open: null,
    consent_providers: {},
    finished_tasks: {},
    pending_deliveries: {},
    known: {},
    last_success_data_at: {},
    last_occurred_at: {},
    recent_event_ids: [],
    last_closed: null,
    touched_at: now,
  };
}

/**
 * Final: the mapper says so (`final`); for events written before it did: succeeded, needs the
 * user, will never work, or Bud's authoritative V2 completion.
 */
function isFinal(e: RefreshEvent): boolean {
  if (typeof e.final === 'boolean') return e.final;
  if (e.source_event === 'bud.v2.refresh.completed') return true;
  if (USER_ACTIONS.has(e.action_required) || e.action_required === 'UNSUPPORTED') return true;
  return e.phase === 'COMPLETED' && (e.outcome === 'SUCCESS' || e.outcome === 'PARTIAL');
}

function openRound(roundId: string, now: number): Round {
  return {
    round_id: roundId,
    opened_at: now,
    last_activity_at: now,
    requested: null,
    expected: [],
    connections: {},
  };
}

/** A Bud hosted refresh refreshes all of a customer's connections: the round expects the known ones. */
function expectKnown(state: RoundsState, round: Round, now: number, settings: RoundSettings): void {
  for (const [key, k] of Object.entries(state.known)) {
    // task ids were stored as connections by earlier versions: never expected
    if (key.startsWith('t:') || now - k.last_seen_at > settings.knownConnectionTtlMs) continue;
    // waiting for the user (revoked, expired): Bud cannot refresh it until they reconnect
    if (k.needs_user) continue;
    if (!round.expected.includes(key)) round.expected.push(key);
  }
}

/** Which expected targets no final connection satisfies yet. */
function missingTargets(round: Round, finished: RoundsState['finished_tasks']): string[] {
  const conns = Object.values(round.connections).filter((c) => c.final);
  if (round.requested) {
    const missing: string[] = [];
    // a task that has finished is done, even where a later report of its connection stands
    const done = new Set(
      Object.values(finished).flatMap((f) => [f.connection.task_id, f.connection.parent_task_id]),
    );
    for (const task of round.requested.task_ids) {
      if (done.has(task)) continue;
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
  settings: RoundSettings,
): ProcessorOutput[] {
  // a round's finished tasks are remembered when it closes (while it is open, it holds them)
  for (const c of Object.values(round.connections)) remember(state, c, now, settings);
  const connections = Object.values(round.connections).sort((a, b) => a.key.localeCompare(b.key));
  const missing = reason === 'TIMED_OUT' ? missingTargets(round, state.finished_tasks) : [];
  const withNewData = connections.filter((c) => c.new_data);
  // bounded, so that a completion always fits a record: when some must be left out, those that
  // need attention are kept first (then listed in key order, as always)
  const [kept, connectionsOmitted] = capList([
    ...connections.filter((c) => c.outcome !== 'SUCCESS'),
    ...connections.filter((c) => c.outcome === 'SUCCESS'),
  ]);
  const listed = (connectionsOmitted === 0 ? connections : kept)
    .sort((a, b) => a.key.localeCompare(b.key))
    .map(toResult);
  const [missingListed, missingOmitted] = capList(missing);
  const outputs: ProcessorOutput[] = [
    {
      kind: 'completed',
      value: {
        customer_id: state.customer_id,
        round_id: round.round_id,
        opened_at: round.opened_at,
        closed_at: now,
        close_reason: reason,
        connections: listed,
        missing: missingListed,
        connections_omitted: connectionsOmitted,
        missing_omitted: missingOmitted,
        all_succeeded:
          missing.length === 0 &&
          connections.length > 0 &&
          connections.every((c) => c.outcome === 'SUCCESS'),
        any_new_transactions: withNewData.length > 0,
      },
    },
  ];
  if (withNewData.length > 0) {
    const [providers, providersOmitted] = capList(
      [...new Set(withNewData.flatMap((c) => (c.provider ? [c.provider] : [])))].sort(),
    );
    const [taskIds, taskIdsOmitted] = capList(
      [...new Set(withNewData.flatMap((c) => (c.task_id ? [c.task_id] : [])))].sort(),
    );
    outputs.push({
      kind: 'new-transactions',
      value: {
        customer_id: state.customer_id,
        round_id: round.round_id,
        providers,
        task_ids: taskIds,
        providers_omitted: providersOmitted,
        task_ids_omitted: taskIdsOmitted,
        detected_at: now,
      },
    });
  }
  state.open = null;
  state.pending_deliveries = {};
  state.last_closed = { round_id: round.round_id, closed_at: now };
  return outputs;
}

function settled(round: Round, now: number, settings: RoundSettings): boolean {
  if (now >= round.opened_at + settings.settleMs) return true;
  return !Object.values(round.connections).some((c) => c.source !== 'YODLEE');
}

/** Closes the open round if everything it expects is final (and, without a request, it has settled). */
function closeIfDone(state: RoundsState, now: number, settings: RoundSettings): ProcessorOutput[] {
  const round = state.open;
  if (!round || Object.keys(round.connections).length === 0) return [];
  // the rest of a delivery that fanned out is still to be applied
  if (Object.keys(state.pending_deliveries).length > 0) return [];
  if (missingTargets(round, state.finished_tasks).length > 0) return [];
  if (!round.requested) {
    if (Object.values(round.connections).some((c) => !c.final)) return [];
    // siblings of a Bud hosted refresh arrive apart; a Yodlee process reports in one notification
    if (!settled(round, now, settings)) return [];
    return close(state, round, 'ALL_REPORTED', now, settings);
  }
  return close(
    state,
    round,
    round.requested.task_ids.length > 0 ? 'REQUESTED_TASKS_DONE' : 'ALL_REPORTED',
    now,
    settings,
  );
}

interface Applied {
  outputs: ProcessorOutput[];
  notes: ProcessorNote[];
}
const none = (): Applied => ({ outputs: [], notes: [] });

/**
 * Counts an event of a delivery that fanned out; the round waits until all have been applied.
 * Every event counts, duplicates too: one delivery's events are applied one after another (one
 * raw record, one transaction), so a delivery always balances, even one that repeats an account
 * or a sub-task seen before.
 */
function countDelivery(state: RoundsState, e: RefreshEvent): void {
  // events written before the field existed have none
  const count = (e.delivery_count as number | undefined) ?? 1;
  if (count <= 1) return;
  const left = (state.pending_deliveries[e.ingest_id] ?? count) - 1;
  if (left > 0) state.pending_deliveries[e.ingest_id] = left;
  else Reflect.deleteProperty(state.pending_deliveries, e.ingest_id);
}

/** A consent's provider became known: what was kept under the consent moves to the provider. */
function moveConsentToProvider(state: RoundsState, from: string, to: string): void {
  const newer = <T>(_moved: T, existing: T) => existing;
  rekey(state.known, from, to, (a, b) => (a.last_seen_at > b.last_seen_at ? a : b));
  rekey(state.last_occurred_at, from, to, Math.max);
  rekey(state.last_success_data_at, from, to, Math.max);
  const round = state.open;
  if (!round) return;
  rekey(round.connections, from, to, newer);
  const moved = round.connections[to];
  if (moved) round.connections[to] = { ...moved, key: to };
  round.expected = [...new Set(round.expected.map((k) => (k === from ? to : k)))];
}

/** A key as it is now: a consent's key becomes its provider's once the pair is known. */
function currentKey(state: RoundsState, key: string): string {
  const provider = key.startsWith('c:') ? state.consent_providers[key.slice(2)] : undefined;
  return provider === undefined ? key : `p:${provider}`;
}

/** Forgets finished tasks past their time (kept oldest first, so the walk stops at the first one kept). */
function forgetFinishedTasks(state: RoundsState, now: number, settings: RoundSettings): void {
  for (const [id, t] of Object.entries(state.finished_tasks)) {
    if (now - t.finished_at <= settings.finishedTaskTtlMs) break;
    Reflect.deleteProperty(state.finished_tasks, id);
  }
}

function remember(state: RoundsState, c: RoundConnection, now: number, settings: RoundSettings) {
  if (c.task_id === null || !c.final) return;
  Reflect.deleteProperty(state.finished_tasks, c.task_id);
  // the round's own object, not a spread copy (V8's slow path, on every close): nothing changes
  // a connection once it is final but its `final` flag, which holds for both
  state.finished_tasks[c.task_id] = { connection: c, finished_at: now };
  const ids = Object.keys(state.finished_tasks);
  for (const id of ids.slice(0, Math.max(0, ids.length - settings.finishedTasks)))
    Reflect.deleteProperty(state.finished_tasks, id);
}

function applyEvent(
  state: RoundsState,
  e: RefreshEvent,
  now: number,
  settings: RoundSettings,
): Applied {
  forgetFinishedTasks(state, now, settings);
  const moved = learnConsentProvider(state.consent_providers, e);
  if (moved) moveConsentToProvider(state, moved.from, moved.to);
  const kind = eventKind(e);
  // consent changes and tasks that are not refreshes open no round
  if (kind === 'consent') {
    const known = state.known[connectionKey(state.consent_providers, e) ?? ''];
    if (known) known.needs_user = e.outcome === 'FAILED';
    return none();
  }
  if (kind === 'other-task') return none();
  countDelivery(state, e);
  if (state.recent_event_ids.includes(e.event_id))
    return { outputs: closeIfDone(state, now, settings), notes: [] }; // a re-delivery
  state.recent_event_ids.push(e.event_id);
  if (state.recent_event_ids.length > settings.recentEventIds) state.recent_event_ids.shift();

  const identity = connectionKey(state.consent_providers, e);
  if (kind === 'connect') {
    if (identity && e.outcome === 'SUCCESS') connected(state, identity);
    return { outputs: closeIfDone(state, now, settings), notes: [] };
  }
  // a task's success is final: a failure reported for it later changes nothing (the open round
  // holds its own tasks; closed rounds' are remembered)
  const succeeded =
    e.task_id !== null &&
    (state.finished_tasks[e.task_id]?.connection.outcome === 'SUCCESS' ||
      Object.values(state.open?.connections ?? {}).some(
        (c) => c.task_id === e.task_id && c.outcome === 'SUCCESS',
      ));
  if (succeeded && e.outcome !== 'SUCCESS')
    return {
      outputs: closeIfDone(state, now, settings),
      notes: e.outcome === 'FAILED' ? ['stale-failure-after-success'] : [],
    };

  const key = identity ?? `t:${e.task_id ?? e.event_id}`;
  // the provider, when the event names only a consent whose provider is known
  const provider =
    e.provider ??
    (e.source === 'BUD' && e.connection_id !== null
      ? state.consent_providers[e.connection_id]
      : undefined) ??
    null;
  // Only outcomes are ordered by time. Progress notes often carry no source time (their receipt
  // time stands in), which must not make the outcome that follows them look old.
  // (a report naming no connection has no history to be ordered against: its task is its own)
  if (e.phase === 'COMPLETED' && identity) {
    const newest = state.last_occurred_at[key];
    if (newest !== undefined && e.occurred_at < newest)
      return { outputs: closeIfDone(state, now, settings), notes: [] }; // late: older than what we know
    state.last_occurred_at[key] = e.occurred_at;
  }

  const round = (state.open ??= openRound(
    deterministicId('round', e.customer_id, e.event_id),
    now,
  ));
  round.last_activity_at = now;
  if (e.source === 'BUD' && identity) {
    const before = state.known[identity];
    state.known[identity] = {
      provider: provider ?? before?.provider ?? null,
      connection_id: e.connection_id ?? before?.connection_id ?? null,
      last_seen_at: now,
      needs_user:
        e.phase === 'COMPLETED' && (e.reconnect_required || USER_ACTIONS.has(e.action_required)),
    };
  }
  if (!round.requested) {
    if (e.source === 'BUD') expectKnown(state, round, now, settings);
    if (!round.expected.includes(key)) round.expected.push(key);
  }

  let newData =
    e.has_new_transactions === true ||
    // Bud did not say: one extra fetch is better than a missed one
    (e.source === 'BUD' && e.has_new_transactions === null && e.outcome === 'SUCCESS');
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
    return { outputs: closeIfDone(state, now, settings), notes: [] };
  const final = isFinal(e);
  const temporary = !final && e.phase === 'COMPLETED' && e.outcome === 'FAILED';
  const connection: RoundConnection = {
    key,
    source: e.source,
    provider: provider ?? previous?.provider ?? null,
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
  // a finished task this report replaces within the round is remembered now
  if (previous && previous.task_id !== e.task_id) remember(state, previous, now, settings);
  round.connections[key] = connection;
  if (
    e.source === 'YODLEE' &&
    e.phase === 'COMPLETED' &&
    state.pending_deliveries[e.ingest_id] === undefined
  )
    endYodleeProcess(round);
  return { outputs: closeIfDone(state, now, settings), notes: [] };
}

/**
 * A successful connect renews a connection the rounds know: it is expected in hosted rounds again.
 * A connect does not make a connection known by itself: Bud's connect callbacks name a consent and
 * no provider, while the refreshes that follow may name the provider only (the seeds' shape), so
 * a connection becomes known with its first refresh report, under the identity refreshes use.
 */
function connected(state: RoundsState, identity: string): void {
  const known = state.known[identity];
  if (known) known.needs_user = false;
}

/**
 * A Yodlee PROCESS_COMPLETED lists the provider accounts of one FastLink process: the round
 * expects exactly those. Accounts that only reported progress belong to another process; their
 * own completion will open a round of its own.
 */
function endYodleeProcess(round: Round): void {
  for (const [key, c] of Object.entries(round.connections)) {
    // (Bud reports are never PENDING; rounds of the previous version read every source as BUD)
    if (!c.final && c.outcome === 'PENDING') {
      Reflect.deleteProperty(round.connections, key);
      round.expected = round.expected.filter((k) => k !== key);
    }
  }
}

/**
 * Remembers a request's idempotency key among the customer's recent ids; false when it is there
 * already. Requests without a key are each their own.
 */
function rememberRequest(
  state: RoundsState,
  r: RefreshRequestedValue,
  settings: RoundSettings,
): boolean {
  if (!r.idempotency_key) return true;
  const id = `request:${r.idempotency_key}`;
  if (state.recent_event_ids.includes(id)) return false;
  state.recent_event_ids.push(id);
  if (state.recent_event_ids.length > settings.recentEventIds) state.recent_event_ids.shift();
  return true;
}

function applyRequest(
  state: RoundsState,
  r: RefreshRequestedValue,
  now: number,
  settings: RoundSettings,
): ProcessorOutput[] {
  if (r.providers.length === 0 && r.task_ids.length === 0) return []; // says nothing to expect
  const round = (state.open ??= openRound(
    deterministicId('round', r.customer_id, r.request_id),
    now,
  ));
  round.last_activity_at = now;
  round.requested = {
    providers: [...new Set([...(round.requested?.providers ?? []), ...r.providers])],
    task_ids: [...new Set([...(round.requested?.task_ids ?? []), ...r.task_ids])],
  };
  // Bud answers a refresh started again within the hour with the previous task id: when that task
  // has finished, no webhook will come; its result stands (its new data was signalled then)
  // (a V2 parent task: every remembered sub-task of it)
  const named = new Set(r.task_ids);
  for (const done of Object.values(state.finished_tasks).reverse()) {
    // newest first: a connection's latest finished task is the one listed
    const c = done.connection;
    const task = c.task_id ?? '';
    if (!named.has(task) && !(c.parent_task_id !== null && named.has(c.parent_task_id))) continue;
    if (now - done.finished_at > settings.finishedTaskTtlMs) continue;
    const key = currentKey(state, c.key);
    // already in this round (its report came before the request), or the connection has
    // reported since: what the round holds stands
    if (Object.hasOwn(round.connections, key)) continue;
    const provider = key.startsWith('p:') ? key.slice(2) : c.provider;
    round.connections[key] = { ...c, key, provider, new_data: false };
  }
  return closeIfDone(state, now, settings);
}

function applyTick(state: RoundsState, now: number, settings: RoundSettings): ProcessorOutput[] {
  state.known = Object.fromEntries(
    Object.entries(state.known).filter(
      ([, k]) => now - k.last_seen_at <= settings.knownConnectionTtlMs,
    ),
  );
  forgetFinishedTasks(state, now, settings);
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
    return close(state, round, 'TIMED_OUT', now, settings);
  return [];
}

const roundsStateCodec = avroStateCodec<RoundsState>(ROUNDS_STATE_SCHEMAS);

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
      if (input.kind === 'request') {
        // a client's retry of a request already applied (its first attempt stored, yet answered
        // 503 or timed out): applied again, it would open a round of its own and complete it
        if (!rememberRequest(state, input.request, settings))
          return { state, outputs: [], notes: ['duplicate-request'] };
        return { state, outputs: applyRequest(state, input.request, now, settings) };
      }
      const { outputs, notes } = applyEvent(state, input.event, now, settings);
      return notes.length > 0 ? { state, outputs, notes } : { state, outputs };
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
        Object.keys(state.pending_deliveries).length === 0 &&
        Object.keys(round.connections).length > 0 &&
        Object.values(round.connections).every((c) => c.final) &&
        missingTargets(round, state.finished_tasks).length === 0;
      if (waitsOnlyToSettle) times.push(round.opened_at + settings.settleMs);
      return Math.min(...times);
    },
  };
}
