/**
 * What a closing refresh round emits: its completion (CustomerRefreshCompleted) and, when it
 * brought new data, its new-transaction signal (NewTransactionsAvailable), each bounded to fit a
 * record.
 */
import { capList } from '../../contract/limits.js';
import type { ConnectionResult, ProcessorOutput } from '../types.js';
import type { Round, RoundConnection } from './state.js';

/** Why a round closed, as its completion says. */
export type CloseReason = 'ALL_REPORTED' | 'REQUESTED_TASKS_DONE' | 'TIMED_OUT';

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

/**
 * What a closing round emits: its completion, and a new-transaction signal when any of its
 * connections brought new data. `connections` are the round's, in key order.
 */
export function roundOutputs(
  customer: string,
  round: Round,
  reason: CloseReason,
  connections: RoundConnection[],
  missing: string[],
  now: number,
): ProcessorOutput[] {
  const withNewData = connections.filter((c) => c.new_data);
  const outputs: ProcessorOutput[] = [
    completed(customer, round, reason, connections, missing, withNewData.length > 0, now),
  ];
  if (withNewData.length > 0) outputs.push(newTransactions(customer, round, withNewData, now));
  return outputs;
}

/** The round's completion (CustomerRefreshCompleted). */
function completed(
  customer: string,
  round: Round,
  reason: CloseReason,
  connections: RoundConnection[],
  missing: string[],
  anyNewData: boolean,
  now: number,
): ProcessorOutput {
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
  return {
    kind: 'completed',
    value: {
      customer_id: customer,
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
      any_new_transactions: anyNewData,
    },
  };
}

/** The round's new-transaction signal (NewTransactionsAvailable), for the connections with new data. */
function newTransactions(
  customer: string,
  round: Round,
  withNewData: RoundConnection[],
  now: number,
): ProcessorOutput {
  const [providers, providersOmitted] = capList(
    [...new Set(withNewData.flatMap((c) => (c.provider ? [c.provider] : [])))].sort(),
  );
  const [taskIds, taskIdsOmitted] = capList(
    [...new Set(withNewData.flatMap((c) => (c.task_id ? [c.task_id] : [])))].sort(),
  );
  return {
    kind: 'new-transactions',
    value: {
      customer_id: customer,
      round_id: round.round_id,
      providers,
      task_ids: taskIds,
      providers_omitted: providersOmitted,
      task_ids_omitted: taskIdsOmitted,
      detected_at: now,
    },
  };
}
