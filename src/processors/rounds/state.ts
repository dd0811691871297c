import type { ConnectionResult } from '../types.js';

/** Settings of refresh rounds; every threshold has a documented default (docs/configuration.md). */
export interface RoundSettings {
  /** A round opened without a RefreshRequested stays open at least this long, so sibling webhooks join it. @default 120000 */
  readonly settleMs: number;
  /** A temporary failure (RETRY_LATER) becomes final this long after it was first seen, unless a retry reports. @default 2700000 */
  readonly retryGraceMs: number;
  /** A round with nothing new for this long closes as TIMED_OUT, listing what is missing. @default 7200000 */
  readonly quietDeadlineMs: number;
  /** A connection not seen for this long is no longer expected in new rounds. @default 2592000000 */
  readonly knownConnectionTtlMs: number;
  /** A customer with no open round and no activity for this long is forgotten. @default 7776000000 */
  readonly stateTtlMs: number;
  /** How many recent event ids a customer remembers to drop re-deliveries. @default 500 */
  readonly recentEventIds: number;
  /** How long a finished task's result is remembered (a request naming it, a stale failure of it). @default 86400000 */
  readonly finishedTaskTtlMs: number;
  /** How many finished tasks a customer remembers at most. @default 50 */
  readonly finishedTasks: number;
}

export const DEFAULT_ROUND_SETTINGS: RoundSettings = {
  settleMs: 2 * 60_000,
  retryGraceMs: 45 * 60_000,
  quietDeadlineMs: 2 * 60 * 60_000,
  knownConnectionTtlMs: 30 * 24 * 60 * 60_000,
  stateTtlMs: 90 * 24 * 60 * 60_000,
  recentEventIds: 500,
  finishedTaskTtlMs: 24 * 60 * 60_000,
  finishedTasks: 50,
};

/** A connection's last word within a round. */
export interface RoundConnection extends ConnectionResult {
  /** The connection key (`identity.ts`), or `t:<task id>` for a report that names no connection. */
  readonly key: string;
  /** The report's source (BUD, YODLEE, PLAID): read only for connections kept before `siblings_may_follow` existed. */
  source: string;
  /**
   * The report's `siblings_may_follow`: a round waits the settle time while any of its
   * connections says so; null when kept by a version before the field (identity.ts).
   */
  siblings_may_follow: boolean | null;
  parent_task_id: string | null;
  final: boolean;
  /** When a temporary failure was first seen (the retry grace runs from here). */
  temporaryFailureSince: number | null;
  occurred_at: number;
  new_data: boolean;
}

export interface Round {
  round_id: string;
  opened_at: number;
  last_activity_at: number;
  /** Set when a RefreshRequested opened or joined the round: then it expects exactly these. */
  requested: { providers: string[]; task_ids: string[] } | null;
  /** Targets learned from history and reports: connection keys. */
  expected: string[];
  connections: Record<string, RoundConnection>;
}

/** A task that finished (succeeded, or failed for good): its result, and when. */
export interface FinishedTask {
  connection: RoundConnection;
  finished_at: number;
}

/** One customer's round state (changelog value). */
export interface RoundsState {
  customer_id: string;
  open: Round | null;
  /** Bud consent id → provider, learned from events carrying both. */
  consent_providers: Record<string, string>;
  /** Finished tasks by task id, oldest first (a request naming one closes at once). */
  finished_tasks: Record<string, FinishedTask>;
  /** Deliveries that fanned out to several events, by ingest id: how many are still to come. */
  pending_deliveries: Record<string, number>;
  /** Bud connections seen before (real identities only), by key, with when they were last seen. */
  known: Record<
    string,
    {
      provider: string | null;
      connection_id: string | null;
      last_seen_at: number;
      /** Its last report (or consent event) said the user must act: not expected meanwhile. */
      needs_user: boolean;
    }
  >;
  /** Per connection: the data_updated_at of its last success (Yodlee new-data detection). */
  last_success_data_at: Record<string, number>;
  /** Per connection: the newest occurred_at seen (older reports never override newer). */
  last_occurred_at: Record<string, number>;
  /** Recent event ids, oldest first. */
  recent_event_ids: string[];
  last_closed: { round_id: string; closed_at: number } | null;
  touched_at: number;
}
