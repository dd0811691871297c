/** Enum symbols of the canonical model (schemas/RefreshEvent.avsc). */
export type Source = 'BUD' | 'YODLEE' | 'PLAID';
/** `UNKNOWN`: the event is no report of a refresh (a Plaid access warning). */
export type Phase = 'UNKNOWN' | 'IN_PROGRESS' | 'COMPLETED';
/** `UNKNOWN`: the event is no report of a refresh (a Plaid access warning). */
export type Outcome = 'UNKNOWN' | 'PENDING' | 'SUCCESS' | 'PARTIAL' | 'FAILED';
export type ActionRequired =
  /** The source's code is not one refreshbus knows (a Plaid error code added later). */
  | 'UNKNOWN'
  | 'NONE'
  | 'RECONNECT'
  | 'UPDATE_CREDENTIALS'
  | 'PROVIDE_MFA'
  | 'ACT_AT_PROVIDER'
  | 'RETRY_LATER'
  | 'UNSUPPORTED'
  /** Access works today but stops at `access_expires_at` unless the user reconnects. */
  | 'RECONNECT_SOON';
/**
 * What an event is about (schemas/RefreshEvent.avsc `subject`): the processors read this, never
 * the source's name. `UNKNOWN` is a symbol a newer writer added.
 */
export type Subject = 'UNKNOWN' | 'REFRESH' | 'CONNECT' | 'CONNECTION' | 'OTHER_TASK';

/** The canonical event, as encoded with schemas/RefreshEvent.avsc (times in epoch milliseconds). */
export interface RefreshEvent {
  event_id: string;
  source: Source;
  source_event: string;
  customer_id: string;
  provider: string | null;
  connection_id: string | null;
  task_id: string | null;
  parent_task_id: string | null;
  phase: Phase;
  outcome: Outcome;
  result_code: string | null;
  action_required: ActionRequired;
  reconnect_required: boolean;
  has_new_transactions: boolean | null;
  data_updated_at: number | null;
  /**
   * Whether this report ends its task: true = nothing the source retries will change it; false =
   * a temporary failure the source may still retry; null = not said (events of older versions).
   */
  final: boolean | null;
  /** The source's reason beside its code (Bud's consent-revoked `reason`), or null. */
  reason: string | null;
  /** This event's position among the events its delivery fanned out to (0-based). */
  delivery_index: number;
  /** How many events its delivery fanned out to (Bud V2 sub-tasks, Yodlee provider accounts). */
  delivery_count: number;
  occurred_at: number;
  received_at: number;
  ingest_id: string;
  raw_topic: string;
  raw_partition: number;
  raw_offset: number;
  /**
   * When access to the connection stops unless the user reconnects (Plaid's
   * `consent_expiration_time` or `disconnect_time`); null when the source does not say.
   */
  access_expires_at: number | null;
  /** What the event is about; null on events written before the field existed. */
  subject: Subject | null;
  /**
   * A refresh the source may report in other webhooks arriving apart (true: a round waits the
   * settle time), or all of it in this delivery (false); null on events written before.
   */
  siblings_may_follow: boolean | null;
}

/**
 * Which customer a source's connection belongs to, for sources whose webhooks name only the
 * connection (Plaid: the `item_id`). The client registers each connection; the normalizer never
 * guesses at one it does not know.
 */
export interface ConnectionDirectory {
  /**
   * The customer `connectionId` of `source` (lower-case, as the ingest's route names it: `plaid`)
   * is registered to, or undefined when it is not registered.
   */
  customerOf(source: string, connectionId: string): string | undefined;
}

/** A directory that knows no connection: a sound Plaid refresh webhook is UNREGISTERED_CONNECTION. */
export const EMPTY_DIRECTORY: ConnectionDirectory = Object.freeze({
  customerOf: (): string | undefined => undefined,
});

/** What a report says of its refresh's result: the fields every mapper decides per report. */
export type MappedResult = Pick<
  MappedFields,
  | 'phase'
  | 'outcome'
  | 'result_code'
  | 'action_required'
  | 'reconnect_required'
  | 'has_new_transactions'
  | 'final'
>;

/** What a mapper reads: the raw record and what the ingest said about it. */
export interface RawWebhook {
  /** `ob-source` header: `bud`, `yodlee`, … */
  readonly source: string | undefined;
  readonly value: Buffer;
  readonly receivedAt: number;
  readonly ingestId: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** Why a raw record cannot be mapped; the DLQ's `ob-error-code`. */
export type RejectionCode =
  | 'UNKNOWN_SOURCE'
  | 'INVALID_JSON'
  | 'UNKNOWN_SHAPE'
  | 'UNSUPPORTED_EVENT'
  | 'UNUSED_EVENT'
  | 'MISSING_FIELD'
  | 'INVALID_FIELD'
  /**
   * The webhook names a connection (a Plaid Item) that no customer is registered to: dead-lettered,
   * and replayable once the client has registered it (the webhook itself is sound).
   */
  | 'UNREGISTERED_CONNECTION'
  /** An id or name longer, or a fan-out larger, than the contract's limits (contract/limits.ts). */
  | 'LIMIT_EXCEEDED';

/** A mapper's answer: events (zero or more), or why the record is poison. Never a throw. */
export type MapResult =
  | { readonly ok: true; readonly events: RefreshEvent[] }
  | { readonly ok: false; readonly code: RejectionCode; readonly message: string };

/** The fields a mapper decides; the rest (ids, lineage, receipt) are filled in by `finish`. */
export type MappedFields = Omit<
  RefreshEvent,
  | 'event_id'
  | 'received_at'
  | 'ingest_id'
  | 'raw_topic'
  | 'raw_partition'
  | 'raw_offset'
  | 'occurred_at'
  | 'delivery_index'
  | 'delivery_count'
  | 'access_expires_at'
  | 'subject'
  | 'siblings_may_follow'
> & {
  /** When it happened, if the source says; otherwise the receipt time is used. */
  occurred_at: number | null;
  /** When access stops unless the user reconnects; absent = the source does not say (null). */
  access_expires_at?: number | null;
  /** Every mapper says what its event is about (never null for a new event). */
  subject: Subject;
  /** Every mapper says whether sibling reports of the refresh may follow apart. */
  siblings_may_follow: boolean;
};
