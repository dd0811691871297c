import type { Processor, ProcessorInput, ReduceResult } from '../types.js';
import { applyTick, missingTargets } from './close.js';
import { applyEvent } from './event.js';
import { applyRequest, rememberRequest } from './open.js';
import type { RoundSettings, RoundsState } from './state.js';
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
