import type { ActionRequired, Outcome, RefreshEvent } from '../normalize/types.js';
import type { StateCodec } from '../state/codec.js';

/** The RefreshRequested value (schemas/RefreshRequested.avsc). */
export interface RefreshRequestedValue {
  request_id: string;
  customer_id: string;
  providers: string[];
  task_ids: string[];
  /** Absent in records written before the field existed. */
  idempotency_key?: string | null;
  requested_at: number;
}

/** What a processor is fed: a canonical event, a client's request, or the passing of time. */
export type ProcessorInput =
  | { readonly kind: 'event'; readonly event: RefreshEvent }
  | { readonly kind: 'request'; readonly request: RefreshRequestedValue }
  | { readonly kind: 'tick' };

export interface ConnectionResult {
  provider: string | null;
  connection_id: string | null;
  task_id: string | null;
  outcome: Outcome;
  result_code: string | null;
  action_required: ActionRequired;
  reconnect_required: boolean;
  has_new_transactions: boolean | null;
}

export interface CustomerRefreshCompleted {
  customer_id: string;
  round_id: string;
  opened_at: number;
  closed_at: number;
  close_reason: 'ALL_REPORTED' | 'REQUESTED_TASKS_DONE' | 'TIMED_OUT';
  connections: ConnectionResult[];
  missing: string[];
  /** Connections not listed (at most LIMITS.outputList are). */
  connections_omitted: number;
  /** Missing targets not listed. */
  missing_omitted: number;
  all_succeeded: boolean;
  any_new_transactions: boolean;
}

export interface NewTransactionsAvailable {
  customer_id: string;
  round_id: string;
  providers: string[];
  task_ids: string[];
  providers_omitted: number;
  task_ids_omitted: number;
  detected_at: number;
}

export interface ReconnectAlert {
  alert_id: string;
  customer_id: string;
  provider: string | null;
  connection_id: string | null;
  status: 'RAISED' | 'CLEARED' | 'WARNING';
  action_required: ActionRequired;
  result_code: string | null;
  reason: string | null;
  first_failed_at: number | null;
  at: number;
  /** WARNING: when access stops unless the user reconnects; null otherwise, or when not said. */
  expires_at: number | null;
}

/** An output record of a processor, tagged by the topic family it goes to. */
export type ProcessorOutput =
  | { readonly kind: 'completed'; readonly value: CustomerRefreshCompleted }
  | { readonly kind: 'new-transactions'; readonly value: NewTransactionsAvailable }
  | { readonly kind: 'alert'; readonly value: ReconnectAlert };

/** Inputs a processor deliberately set aside, counted by the host in a metric. */
export type ProcessorNote =
  /** a failure reported for a task whose success was already seen (a retried delivery that lost the race) */
  | 'stale-failure-after-success'
  /** a refresh request whose Idempotency-Key was already applied for the customer (a client's retry) */
  | 'duplicate-request';

export interface ReduceResult<S> {
  state: S | undefined;
  outputs: ProcessorOutput[];
  notes?: ProcessorNote[];
}

/**
 * A processor over one customer's state, deterministic: the same state, input and time give the
 * same result. `state` undefined = nothing known (or forgotten).
 */
export interface Processor<S> {
  readonly name: string;
  /** How the state is written to the changelog and kept by the host. */
  readonly codec: StateCodec<S>;
  /**
   * The caller hands `state` over: reduce may change it in place and return it. The host and the
   * driver pass a copy decoded for the call (or the result of the previous call), never one they
   * still use — a defensive deep copy here took 10 % of the processors' CPU (structuredClone).
   */
  reduce(state: S | undefined, input: ProcessorInput, now: number): ReduceResult<S>;
  /** The next deadline after `now` at which `reduce` wants a tick, or undefined. */
  nextTimer(state: S, now: number): number | undefined;
}

/** Actions that mean the user must do something before the connection works again. */
export const USER_ACTIONS: ReadonlySet<ActionRequired> = new Set([
  'RECONNECT',
  'UPDATE_CREDENTIALS',
  'PROVIDE_MFA',
  'ACT_AT_PROVIDER',
]);
