import type { ConnectionResult } from '../types.js';

/** Settings of refresh rounds; every threshold has a documented default (README). */
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
}

export const DEFAULT_ROUND_SETTINGS: RoundSettings = {
  settleMs: 2 * 60_000,
  retryGraceMs: 45 * 60_000,
  quietDeadlineMs: 2 * 60 * 60_000,
  knownConnectionTtlMs: 30 * 24 * 60 * 60_000,
  stateTtlMs: 90 * 24 * 60 * 60_000,
  recentEventIds: 500,
};

/** A connection's last word within a round. */
export interface RoundConnection extends ConnectionResult {
  readonly key: string;
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

/** One customer's round state (changelog value). */
export interface RoundsState {
  customer_id: string;
  open: Round | null;
  /** Connections seen before, by key, with when they were last seen. */
  known: Record<
    string,
    { provider: string | null; connection_id: string | null; last_seen_at: number }
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
