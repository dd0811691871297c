/**
 * What a scenario is made of: the episode a customer plays (its calls, and what a person expects
 * to come out of them), the times between calls, the providers, and the expected outputs.
 */
import type { ActionRequired, Outcome } from '../../../normalize/types.js';
import type { Random } from '../random.js';
import type {
  DayTiming,
  ExpectedAlert,
  ExpectedCompletion,
  ExpectedConnection,
  ExpectedOutputs,
  Route,
} from '../types.js';

/** The source's clock for an episode: the ISO time `offsetMs` after the episode starts. */
export type SourceClock = (offsetMs: number) => string;

/** One call of an episode, before it is placed in the day. */
export interface Step {
  /** When it is sent, after the episode starts. */
  readonly offsetMs: number;
  readonly route: Route;
  /** The URL path, where it is not the route itself (`/connections/plaid/<item_id>`). */
  readonly path?: string;
  readonly note: string;
  readonly late?: true;
  /**
   * Index of an earlier step that must be answered before this one is sent, where the order
   * changes what comes out (a retry after its failure, a late delivery after the newer report).
   * Steps without one are sent at their time, concurrently, as the sources do.
   */
  readonly after?: number;
  /** The body; times in it come from the source clock, so the day decides where episodes fall. */
  readonly body: (at: SourceClock) => unknown;
}

/**
 * An alert a scenario expects. A WARNING's expiry is where the episode's body puts it, on the
 * source clock: the day makes it a time once it has placed the episode.
 */
export interface EpisodeAlert extends Omit<ExpectedAlert, 'expiresAt'> {
  /** A WARNING: when access stops, in ms after the episode starts. */
  readonly expiresAfterMs?: number;
}

/** One customer's calls for the day and what a person expects to come out of them. */
export interface Episode extends Omit<ExpectedOutputs, 'alerts'> {
  readonly steps: readonly Step[];
  /** Indexes of the steps the normalizer must dead-letter. */
  readonly deadLetters: readonly number[];
  /** The error code each dead letter must carry, where the scenario says (by step index). */
  readonly deadLetterCodes?: Readonly<Record<number, string>>;
  readonly alerts: readonly EpisodeAlert[];
}

export interface ScenarioContext {
  readonly rng: Random;
  readonly customerId: string;
  readonly timing: DayTiming;
}

/** Bud's providers, as Bud names them, that customers' connections are drawn from. */
export const BUD_PROVIDERS = [
  'Capital_One',
  'Bank_Of_America',
  'Chase',
  'Wells_Fargo',
  'Monzo',
  'Starling',
  'Barclays',
  'HSBC',
  'Lloyds',
  'Santander',
  'Nationwide',
  'Revolut',
] as const;
/** Yodlee's provider ids that customers' accounts are drawn from. */
export const YODLEE_PROVIDER_IDS = [16441, 643, 5, 2852, 12938, 20719, 3860] as const;
export const MINUTE = 60_000;
export const DAY = 24 * 60 * MINUTE;

/**
 * Gaps between a customer's calls. Siblings of a round opened without a RefreshRequested must
 * reach the processors well within the settle window, and a retry well within the retry grace;
 * the other gaps (Yodlee notes, a reconnect, a late delivery) give the same outputs whatever
 * they are.
 */
export const siblingGapMs = (timing: DayTiming) =>
  Math.max(10, Math.min(100, Math.floor(timing.settleMs / 20)));
export const retryGapMs = (timing: DayTiming) =>
  Math.max(10, Math.min(1500, Math.floor(timing.retryGraceMs / 4)));
/**
 * Puts a call after the round before it has closed, where that lets a mistake show (a call that
 * must open no round would show up as a round of its own). The outputs expected are the same when
 * it reaches the processors sooner.
 */
export const afterRoundGapMs = (timing: DayTiming) => timing.settleMs + 2000;
export const YODLEE_GAP_MS = 200;
export const RECONNECT_GAP_MS = 1000;
export const LATE_GAP_MS = 300;

const sortConnections = (list: ExpectedConnection[]) =>
  list.sort(
    (a, b) =>
      (a.provider ?? '').localeCompare(b.provider ?? '') ||
      (a.connectionId ?? '').localeCompare(b.connectionId ?? ''),
  );

/** A connection as an expected completion lists it. */
export const connection = (
  provider: string | null,
  connectionId: string | null,
  outcome: Outcome,
  actionRequired: ActionRequired = 'NONE',
): ExpectedConnection => ({ provider, connectionId, outcome, actionRequired });

/** What a customer's rounds put out: their completions and signals. */
type Rounds = Pick<Episode, 'completions' | 'newTransactions'>;

/** Several rounds of one customer, in the order they close. */
export const rounds = (...parts: Rounds[]): Rounds => ({
  completions: parts.flatMap((p) => p.completions),
  newTransactions: parts.flatMap((p) => p.newTransactions),
});

/** One completion of the listed connections, and its signal when any brought new data. */
export function round(
  customerId: string,
  closeReason: ExpectedCompletion['closeReason'],
  connections: (ExpectedConnection & { newData: boolean })[],
): Rounds {
  const withNew = connections.filter((c) => c.newData);
  return {
    completions: [
      {
        customerId,
        closeReason,
        connections: sortConnections(
          connections.map((c) =>
            connection(c.provider, c.connectionId, c.outcome, c.actionRequired),
          ),
        ),
        allSucceeded: connections.every((c) => c.outcome === 'SUCCESS'),
        anyNewTransactions: withNew.length > 0,
      },
    ],
    newTransactions:
      withNew.length > 0
        ? [
            {
              customerId,
              providers: [
                ...new Set(withNew.flatMap((c) => (c.provider ? [c.provider] : []))),
              ].sort(),
            },
          ]
        : [],
  };
}

/** An expected alert. */
export const alert = (
  customerId: string,
  provider: string | null,
  connectionId: string | null,
  status: ExpectedAlert['status'],
  actionRequired: ActionRequired,
  reason: string | null = null,
): ExpectedAlert => ({ customerId, provider, connectionId, status, actionRequired, reason });
