/**
 * How a refresh event applies to a customer's rounds: consent changes and connects update what is
 * known of a connection; a refresh report joins the open round as its connection's latest word,
 * unless it is a re-delivery, a late outcome or a stale failure; then the round closes if it is
 * done.
 */
import type { RefreshEvent } from '../../normalize/types.js';
import { connectionKey, eventKind, learnConsentProvider, rekey } from '../identity.js';
import type { ProcessorNote, ProcessorOutput } from '../types.js';
import { USER_ACTIONS } from '../types.js';
import { closeIfDone, forgetFinishedTasks, remember } from './close.js';
import { joinRound } from './open.js';
import type { Round, RoundConnection, RoundSettings, RoundsState } from './state.js';

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

/** What applying an event yields. */
export interface Applied {
  outputs: ProcessorOutput[];
  notes: ProcessorNote[];
}
const none = (): Applied => ({ outputs: [], notes: [] });

/** What an event that reached the rounds yields: the open round closes if it is done now. */
function closing(
  state: RoundsState,
  now: number,
  settings: RoundSettings,
  notes: ProcessorNote[] = [],
): Applied {
  return { outputs: closeIfDone(state, now, settings), notes };
}

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

/**
 * Remembers an event's id among the customer's recent ids; false when it is there already (a
 * re-delivery).
 */
function rememberEvent(state: RoundsState, e: RefreshEvent, settings: RoundSettings): boolean {
  if (state.recent_event_ids.includes(e.event_id)) return false;
  state.recent_event_ids.push(e.event_id);
  if (state.recent_event_ids.length > settings.recentEventIds) state.recent_event_ids.shift();
  return true;
}

/** Whether the event's task has succeeded already, in the open round or in one that closed. */
function succeededBefore(state: RoundsState, e: RefreshEvent): boolean {
  return (
    e.task_id !== null &&
    (state.finished_tasks[e.task_id]?.connection.outcome === 'SUCCESS' ||
      Object.values(state.open?.connections ?? {}).some(
        (c) => c.task_id === e.task_id && c.outcome === 'SUCCESS',
      ))
  );
}

/** Applies one event to a customer's rounds, in place: what it closes, and what it set aside. */
export function applyEvent(
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
  if (kind === 'CONNECTION') {
    const known = state.known[connectionKey(state.consent_providers, e) ?? ''];
    if (known) known.needs_user = e.outcome === 'FAILED';
    return none();
  }
  if (kind === 'OTHER_TASK') return none();
  countDelivery(state, e);
  if (!rememberEvent(state, e, settings)) return closing(state, now, settings); // a re-delivery

  const identity = connectionKey(state.consent_providers, e);
  if (kind === 'CONNECT') {
    if (identity && e.outcome === 'SUCCESS') connected(state, identity);
    return closing(state, now, settings);
  }
  // a task's success is final: a failure reported for it later changes nothing (the open round
  // holds its own tasks; closed rounds' are remembered)
  if (succeededBefore(state, e) && e.outcome !== 'SUCCESS')
    return closing(
      state,
      now,
      settings,
      e.outcome === 'FAILED' ? ['stale-failure-after-success'] : [],
    );
  return applyReport(state, e, identity, now, settings);
}

/** A refresh report joins the open round (opening one) as its connection's latest word. */
function applyReport(
  state: RoundsState,
  e: RefreshEvent,
  identity: string | undefined,
  now: number,
  settings: RoundSettings,
): Applied {
  const key = identity ?? `t:${e.task_id ?? e.event_id}`;
  // the provider, when the event names only a consent whose provider is known
  const provider =
    e.provider ??
    (e.source === 'BUD' && e.connection_id !== null
      ? state.consent_providers[e.connection_id]
      : undefined) ??
    null;
  if (isLate(state, e, identity, key)) return closing(state, now, settings);

  const round = joinRound(state, e, identity, key, provider, now, settings);
  const newData = hasNewData(state, e, key);
  const previous = round.connections[key];
  // a progress note never downgrades an outcome already reported in this round
  if (e.phase === 'IN_PROGRESS' && previous && previous.outcome !== 'PENDING')
    return closing(state, now, settings);
  const connection = toConnection(e, key, provider, previous, newData, now);
  // a finished task this report replaces within the round is remembered now
  if (previous && previous.task_id !== e.task_id) remember(state, previous, now, settings);
  round.connections[key] = connection;
  if (
    e.source === 'YODLEE' &&
    e.phase === 'COMPLETED' &&
    state.pending_deliveries[e.ingest_id] === undefined
  )
    endYodleeProcess(round);
  return closing(state, now, settings);
}

/** Whether an outcome is older than what is known of its connection; records its time if not. */
function isLate(
  state: RoundsState,
  e: RefreshEvent,
  identity: string | undefined,
  key: string,
): boolean {
  // Only outcomes are ordered by time. Progress notes often carry no source time (their receipt
  // time stands in), which must not make the outcome that follows them look old.
  // (a report naming no connection has no history to be ordered against: its task is its own)
  if (e.phase === 'COMPLETED' && identity) {
    const newest = state.last_occurred_at[key];
    if (newest !== undefined && e.occurred_at < newest) return true; // late: older than what we know
    state.last_occurred_at[key] = e.occurred_at;
  }
  return false;
}

/** Whether a report brings new data; a Yodlee success records when its data was last updated. */
function hasNewData(state: RoundsState, e: RefreshEvent, key: string): boolean {
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
  return newData;
}

/** The round's connection as a report leaves it: what the previous report knew stands where it says nothing. */
function toConnection(
  e: RefreshEvent,
  key: string,
  provider: string | null,
  previous: RoundConnection | undefined,
  newData: boolean,
  now: number,
): RoundConnection {
  const final = isFinal(e);
  const temporary = !final && e.phase === 'COMPLETED' && e.outcome === 'FAILED';
  return {
    key,
    source: e.source,
    siblings_may_follow: e.siblings_may_follow ?? null,
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
