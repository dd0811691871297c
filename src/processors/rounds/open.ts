/**
 * How a refresh round opens and what joins it: the first refresh report or request opens one, a
 * request says which tasks or providers it waits for, and a Bud hosted refresh expects the
 * connections the customer is known to have.
 */
import type { RefreshEvent } from '../../normalize/types.js';
import { deterministicId } from '../ids.js';
import type { ProcessorOutput, RefreshRequestedValue } from '../types.js';
import { USER_ACTIONS } from '../types.js';
import { closeIfDone } from './close.js';
import type { Round, RoundSettings, RoundsState } from './state.js';

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

/**
 * A refresh report joins the open round (opening one if there is none): a Bud report makes its
 * connection known, and a round without a request expects the report's connection.
 */
export function joinRound(
  state: RoundsState,
  e: RefreshEvent,
  identity: string | undefined,
  key: string,
  provider: string | null,
  now: number,
  settings: RoundSettings,
): Round {
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
  return round;
}

/** A key as it is now: a consent's key becomes its provider's once the pair is known. */
function currentKey(state: RoundsState, key: string): string {
  const provider = key.startsWith('c:') ? state.consent_providers[key.slice(2)] : undefined;
  return provider === undefined ? key : `p:${provider}`;
}

/**
 * Remembers a request's idempotency key among the customer's recent ids; false when it is there
 * already. Requests without a key are each their own.
 */
export function rememberRequest(
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

export function applyRequest(
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
