import type { ActionRequired, Outcome } from '../../normalize/types.js';

/**
 * The ingest routes the simulator calls: webhooks and refresh requests are POSTed; a Plaid Item
 * is registered with `PUT /connections/plaid/{item_id}` (the call's `path` names the Item).
 */
export type Route =
  | '/webhooks/bud'
  | '/webhooks/yodlee'
  | '/webhooks/plaid'
  | '/refresh-requests'
  | '/connections/plaid';

/**
 * What one simulated customer goes through in the day (see `scenarios.ts` for each one's calls
 * and what a person expects to come out).
 */
export const SCENARIOS = [
  'bud-v1-hosted',
  'bud-v2-hosted',
  'bud-requested',
  'bud-retry',
  'bud-reconnect',
  'bud-consent',
  'bud-connect-after-revoke',
  'bud-stale-failure',
  'bud-unnamed-failure',
  'yodlee-refresh',
  'yodlee-single-account',
  'yodlee-password',
  'late-delivery',
  'dead-letter',
  'plaid-sync',
  'plaid-login-repaired',
  'plaid-pending-expiration',
  'plaid-unregistered',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** One HTTP call of the simulated day, as data. */
export interface SimCall {
  /** Unique within the run (`<customer>#<n>`); the Standard Webhooks `webhook-id` is built from it. */
  readonly id: string;
  /** When to send it: milliseconds after the run starts. */
  readonly atMs: number;
  readonly route: Route;
  /** The URL path, where it is not the route itself (`/connections/plaid/<item_id>`). */
  readonly path?: string;
  /** The exact bytes to send (JSON text): what is signed, stored and mapped. */
  readonly body: string;
  readonly scenario: ScenarioName;
  readonly customerId: string;
  /** What the call is in its scenario, for people reading a ledger. */
  readonly note: string;
  /**
   * The id of an earlier call that must be answered before this one is sent, where their order
   * changes what comes out. Calls without one leave at their time, concurrently.
   */
  readonly after?: string;
  /** On a second delivery of the same webhook: the id of the first. */
  readonly duplicateOf?: string;
  /** Delivered after a call the source produced later (its source time is older). */
  readonly late?: true;
}

/** One connection of an expected completion, as the output record names it. */
export interface ExpectedConnection {
  readonly provider: string | null;
  readonly connectionId: string | null;
  readonly outcome: Outcome;
  readonly actionRequired: ActionRequired;
}

/** A CustomerRefreshCompleted a person expects from the scenario. */
export interface ExpectedCompletion {
  readonly customerId: string;
  readonly closeReason: 'ALL_REPORTED' | 'REQUESTED_TASKS_DONE';
  /** Sorted by provider, then connection id. */
  readonly connections: readonly ExpectedConnection[];
  readonly allSucceeded: boolean;
  readonly anyNewTransactions: boolean;
}

/** A NewTransactionsAvailable a person expects. */
export interface ExpectedSignal {
  readonly customerId: string;
  /** Sorted. */
  readonly providers: readonly string[];
}

/** A ReconnectAlert a person expects. */
export interface ExpectedAlert {
  readonly customerId: string;
  readonly provider: string | null;
  readonly connectionId: string | null;
  readonly status: 'RAISED' | 'CLEARED' | 'WARNING';
  readonly actionRequired: ActionRequired;
  /**
   * The source's reason the alert carries (Bud's consent-revoked `reason`, Plaid's
   * `error_message`), or null. Ledgers written before alerts carried one have none: read as null.
   */
  readonly reason?: string | null;
  /** A WARNING: when access stops (epoch ms), as the source said; otherwise null or absent. */
  readonly expiresAt?: number | null;
}

/**
 * An event of a webhook whose event ids include the ingest id (Plaid's bodies carry no delivery
 * id): known before the run by what it is, its id only once the ingest has answered.
 */
export interface ExpectedEvent {
  readonly customerId: string;
  readonly connectionId: string | null;
  readonly sourceEvent: string;
}

/** What the processors must write: of a customer's episode, or of a whole day. */
export interface ExpectedOutputs {
  readonly completions: readonly ExpectedCompletion[];
  readonly newTransactions: readonly ExpectedSignal[];
  readonly alerts: readonly ExpectedAlert[];
}

/**
 * What must come out of the pipeline for a simulated day, computed with the calls and kept as
 * data (it is written to `--ledger` files and read back by checks). Outputs are what a person
 * expects from each scenario, never what the reducers happen to do.
 */
export interface Ledger extends ExpectedOutputs {
  readonly runId: string;
  readonly seed: number;
  /** Epoch ms the day's source times are laid from. */
  readonly startTime: number;
  /** The processors' timings the call schedule was laid out for. */
  readonly timing: DayTiming;
  readonly customers: readonly { readonly id: string; readonly scenario: ScenarioName }[];
  /** Per webhook call id: the canonical event ids it must produce (none for requests and dead letters). */
  readonly events: Readonly<Record<string, readonly string[]>>;
  /**
   * Per Plaid webhook call id: the events each acknowledged delivery of it must produce (their
   * ids include the ingest id). Ledgers written before Plaid have none.
   */
  readonly deliveryEvents?: Readonly<Record<string, readonly ExpectedEvent[]>>;
  /** Ids of the calls the normalizer must dead-letter. */
  readonly deadLetters: readonly string[];
  /** Per dead-lettered call id: the error code it must carry (`ob-error-code`), when known. */
  readonly deadLetterCodes?: Readonly<Record<string, string>>;
  /**
   * The day's Plaid Items: the customer whose day each is in (registered to them, or never
   * registered). Plaid's raw records and dead letters are keyed by the Item, not the customer.
   */
  readonly plaidItems?: Readonly<Record<string, string>>;
}

/**
 * The processors' round timings the schedule must respect (their ROUND_* settings): siblings are
 * sent well within `settleMs` of each other, a retry well within `retryGraceMs` of its failure.
 */
export interface DayTiming {
  readonly settleMs: number;
  readonly retryGraceMs: number;
}

/** How one call went: one entry of the delivery log (what "every 2xx is stored" is checked against). */
export interface Delivery {
  readonly callId: string;
  readonly customerId: string;
  readonly route: Route;
  /** The Standard Webhooks message id, the same on every attempt. */
  readonly webhookId: string;
  /** The last answer's status; null when none came (network errors to the end, or stopped before sending). */
  readonly status: number | null;
  readonly attempts: number;
  /** The ingest id of a 2xx answer (`{"status":"accepted","id":…}`): the stored record's `ob-ingest-id`. */
  readonly ingestId: string | null;
  /** Epoch ms of the first attempt, or null when never sent. */
  readonly firstSentAt: number | null;
  /** Epoch ms the 2xx answer arrived, or null. */
  readonly acknowledgedAt: number | null;
  /** What went wrong with the last attempt, when it was not a 2xx. */
  readonly error?: string;
}
