import type { ActionRequired } from '../../normalize/types.js';

/** Settings of reconnect alerts. */
export interface AlertSettings {
  /** A customer with no raised alert and no activity for this long is forgotten. @default 7776000000 */
  readonly stateTtlMs: number;
  /** How many recent event ids a customer remembers to drop re-deliveries. @default 500 */
  readonly recentEventIds: number;
  /** How many recently succeeded task ids a customer remembers (a later failure of one is stale). @default 50 */
  readonly recentSucceededTasks: number;
  /** A success naming no connection ends the customer-level alert only this long after its last failure (or as that task's own success). @default 7200000 */
  readonly customerQuietMs: number;
}

export const DEFAULT_ALERT_SETTINGS: AlertSettings = {
  stateTtlMs: 90 * 24 * 60 * 60_000,
  recentEventIds: 500,
  recentSucceededTasks: 50,
  customerQuietMs: 2 * 60 * 60_000,
};

export interface ConnectionAlertState {
  provider: string | null;
  connection_id: string | null;
  raised: boolean;
  action_required: ActionRequired;
  result_code: string | null;
  /** The source's reason for the raise (Bud's consent-revoked reason), or null. */
  reason: string | null;
  first_failed_at: number | null;
  /** The newest source time applied: an older report never overrides it. */
  occurred_at: number;
  /** Customer-level episode: the failed task ids (a success of one ends it). */
  failed_task_ids: string[];
  /** Customer-level episode: when its last failure was applied (processing time). */
  last_failed_at: number | null;
}

/** One customer's alert state (changelog value). */
export interface AlertsState {
  customer_id: string;
  /** By connection key (`identity.ts`); `customer` for the alert of failures naming no connection. */
  connections: Record<string, ConnectionAlertState>;
  /** Bud consent id → provider, learned from events carrying both. */
  consent_providers: Record<string, string>;
  /** Task ids whose success was seen, oldest first: a later failure of one changes nothing. */
  succeeded_tasks: string[];
  recent_event_ids: string[];
  touched_at: number;
}
