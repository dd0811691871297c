/**
 * How a refresh round ends: when everything it expects is final, or at its quiet deadline on a
 * tick (TIMED_OUT); and the finished tasks a customer remembers from the rounds that closed.
 */
import { siblingsMayFollow } from '../identity.js';
import type { ProcessorOutput } from '../types.js';
import type { CloseReason } from './outputs.js';
import { roundOutputs } from './outputs.js';
import type { Round, RoundConnection, RoundSettings, RoundsState } from './state.js';

/** Which expected targets no final connection satisfies yet. */
export function missingTargets(round: Round, finished: RoundsState['finished_tasks']): string[] {
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

function close(
  state: RoundsState,
  round: Round,
  reason: CloseReason,
  now: number,
  settings: RoundSettings,
): ProcessorOutput[] {
  // a round's finished tasks are remembered when it closes (while it is open, it holds them)
  for (const c of Object.values(round.connections)) remember(state, c, now, settings);
  const connections = Object.values(round.connections).sort((a, b) => a.key.localeCompare(b.key));
  const missing = reason === 'TIMED_OUT' ? missingTargets(round, state.finished_tasks) : [];
  const outputs = roundOutputs(state.customer_id, round, reason, connections, missing, now);
  state.open = null;
  state.pending_deliveries = {};
  state.last_closed = { round_id: round.round_id, closed_at: now };
  return outputs;
}

/**
 * A round waits the settle time while any of its reports says sibling reports of its refresh may
 * still arrive apart (a Bud hosted refresh's providers); a round whose reports are each all their
 * source says of it (a Yodlee process, a Plaid Item) completes at once.
 */
function settled(round: Round, now: number, settings: RoundSettings): boolean {
  if (now >= round.opened_at + settings.settleMs) return true;
  return Object.values(round.connections).every((c) => !siblingsMayFollow(c));
}

/** Closes the open round if everything it expects is final (and, without a request, it has settled). */
export function closeIfDone(
  state: RoundsState,
  now: number,
  settings: RoundSettings,
): ProcessorOutput[] {
  const round = state.open;
  if (!round || Object.keys(round.connections).length === 0) return [];
  // the rest of a delivery that fanned out is still to be applied
  if (Object.keys(state.pending_deliveries).length > 0) return [];
  if (missingTargets(round, state.finished_tasks).length > 0) return [];
  if (!round.requested) {
    if (Object.values(round.connections).some((c) => !c.final)) return [];
    // sibling reports of a refresh may arrive apart (the settle time)
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

/** Forgets finished tasks past their time (kept oldest first, so the walk stops at the first one kept). */
export function forgetFinishedTasks(
  state: RoundsState,
  now: number,
  settings: RoundSettings,
): void {
  for (const [id, t] of Object.entries(state.finished_tasks)) {
    if (now - t.finished_at <= settings.finishedTaskTtlMs) break;
    Reflect.deleteProperty(state.finished_tasks, id);
  }
}

export function remember(
  state: RoundsState,
  c: RoundConnection,
  now: number,
  settings: RoundSettings,
) {
  if (c.task_id === null || !c.final) return;
  Reflect.deleteProperty(state.finished_tasks, c.task_id);
  // the round's own object, not a spread copy (V8's slow path, on every close): nothing changes
  // a connection once it is final but its `final` flag, which holds for both
  state.finished_tasks[c.task_id] = { connection: c, finished_at: now };
  const ids = Object.keys(state.finished_tasks);
  for (const id of ids.slice(0, Math.max(0, ids.length - settings.finishedTasks)))
    Reflect.deleteProperty(state.finished_tasks, id);
}

export function applyTick(
  state: RoundsState,
  now: number,
  settings: RoundSettings,
): ProcessorOutput[] {
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
