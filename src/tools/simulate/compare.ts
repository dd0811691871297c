import type {
  CustomerRefreshCompleted,
  NewTransactionsAvailable,
  ReconnectAlert,
} from '../../processors/types.js';
import type { Section } from './keys.js';
import { compareKeys } from './keys.js';
import { compareAlerts, compareCompletions, compareSignals } from './outputs.js';
import { plaidRedeliveries } from './redeliveries.js';
import type { Delivery, ExpectedEvent, Ledger } from './types.js';

export type { Section };
export { compareKeys };

/** What a run's customers left on the topics (read_committed), as the check reads it. */
export interface Observed {
  /**
   * Records on the raw, requests and connections topics: the ingest id each was stored under
   * (keyed by customer, a Plaid webhook by its Item, a registration `plaid:<item_id>`).
   */
  readonly stored: readonly { readonly ingestId: string | null; readonly key: string }[];
  readonly events: readonly {
    readonly eventId: string;
    readonly ingestId: string;
    readonly customerId: string;
    readonly connectionId: string | null;
    readonly provider: string | null;
    readonly sourceEvent: string;
  }[];
  readonly deadLetters: readonly {
    readonly ingestId: string | null;
    readonly key: string;
    /** Its `ob-error-code`. */
    readonly code?: string | null;
  }[];
  readonly completions: readonly CustomerRefreshCompleted[];
  readonly newTransactions: readonly NewTransactionsAvailable[];
  readonly alerts: readonly ReconnectAlert[];
  /** Records of the run's customers that could not be decoded (each one fails the check). */
  readonly undecodable?: readonly string[];
}

/** The ledger check, as data. */
export interface CheckReport {
  /** True when no section has anything missing, duplicated or unexpected, and all was decodable. */
  readonly ok: boolean;
  /** Every webhook and request answered 2xx, on the raw or requests topic, once (by ingest id). */
  readonly stored: Section;
  /** Every expected canonical event, once per stored delivery (by event id and ingest id). */
  readonly events: Section;
  readonly deadLetters: Section;
  readonly completions: Section;
  readonly newTransactions: Section;
  readonly alerts: Section;
  /**
   * Copies stored by attempts that were not answered 2xx (a 503 does not promise the record was
   * not written, so the sender's retry may store a webhook twice): allowed, and counted here.
   */
  readonly unacknowledgedCopies: number;
  /**
   * Outputs repeated by such a copy of a Plaid webhook: its event is a second one (Plaid's bodies
   * cannot tell a re-delivery from a new webhook), so its completion, signal or warning may be
   * too — allowed once per copy, for that customer and Item, and counted here.
   */
  readonly plaidRepeats: number;
  readonly undecodable: readonly string[];
}

/** An event known by what it is (a Plaid webhook's: its id includes the ingest id), as text. */
const eventText = (e: ExpectedEvent) =>
  `${e.sourceEvent} of ${e.customerId}/${e.connectionId ?? '-'}`;

/** The deliveries answered 2xx, and each one's name in a report, by its ingest id. */
interface Acknowledged {
  readonly deliveries: readonly (Delivery & { ingestId: string })[];
  /** The call stored under each ingest id. */
  readonly callOf: ReadonlyMap<string, string>;
  readonly label: (ingestId: string) => string;
}

function acknowledgedOf(deliveries: readonly Delivery[]): Acknowledged {
  const acknowledged = deliveries.filter(
    (d): d is Delivery & { ingestId: string } => d.ingestId !== null,
  );
  const callOf = new Map(acknowledged.map((d) => [d.ingestId, d.callId]));
  const label = (ingestId: string) => `${callOf.get(ingestId) ?? '?'} (ingest ${ingestId})`;
  return { deliveries: acknowledged, callOf, label };
}

/** A section, and the copies found of attempts that were not answered 2xx (left out of it). */
interface Counted {
  readonly section: Section;
  readonly unacknowledgedCopies: number;
}

/** Each delivery answered 2xx, on the raw (or requests) topic exactly once. */
function compareStored(acks: Acknowledged, observed: Observed): Counted {
  let unacknowledgedCopies = 0;
  const found = observed.stored.flatMap((s) => {
    if (s.ingestId !== null && acks.callOf.has(s.ingestId))
      return [{ key: s.ingestId, label: acks.label(s.ingestId) }];
    unacknowledgedCopies++;
    return [];
  });
  const section = compareKeys(
    acks.deliveries.map((d) => ({ key: d.ingestId, label: acks.label(d.ingestId) })),
    found,
  );
  return { section, unacknowledgedCopies };
}

/**
 * Each acknowledged webhook's expected events, exactly once for its ingest id: by event id, or,
 * for a Plaid webhook (whose event ids include the ingest id), by what each event is.
 */
function compareEvents(ledger: Ledger, acks: Acknowledged, observed: Observed): Counted {
  let unacknowledgedCopies = 0;
  const byWhat = ledger.deliveryEvents ?? {};
  const known = new Set(Object.values(ledger.events).flat());
  const knownWhat = new Set(Object.values(byWhat).flat().map(eventText));
  const whatIngests = new Set(
    acks.deliveries.filter((d) => d.callId in byWhat).map((d) => d.ingestId),
  );
  const expected = acks.deliveries.flatMap((d) => [
    ...(ledger.events[d.callId] ?? []).map((id) => ({
      key: `${id}@${d.ingestId}`,
      label: `event ${id} of ${acks.label(d.ingestId)}`,
    })),
    ...(byWhat[d.callId] ?? []).map((e) => ({
      key: `${eventText(e)}@${d.ingestId}`,
      label: `event (${eventText(e)}) of ${acks.label(d.ingestId)}`,
    })),
  ]);
  const found = observed.events.flatMap((e) => {
    const what = eventText(e);
    const acknowledged = acks.callOf.has(e.ingestId);
    if (!acknowledged && (known.has(e.eventId) || knownWhat.has(what))) {
      unacknowledgedCopies++;
      return [];
    }
    const label = `event ${e.eventId} (${what}) (ingest ${e.ingestId})`;
    if (whatIngests.has(e.ingestId)) return [{ key: `${what}@${e.ingestId}`, label }];
    return [{ key: `${e.eventId}@${e.ingestId}`, label }];
  });
  return { section: compareKeys(expected, found), unacknowledgedCopies };
}

/**
 * Each expected dead letter exactly once, no other; with the error code the ledger names, where
 * it names one. A Plaid webhook's dead letter is keyed by its Item, whose customer the ledger
 * knows.
 */
function compareDeadLetters(ledger: Ledger, acks: Acknowledged, observed: Observed): Counted {
  let unacknowledgedCopies = 0;
  const deadLetterCalls = new Set(ledger.deadLetters);
  const codes = ledger.deadLetterCodes ?? {};
  const dlqCustomers = new Set(
    acks.deliveries.filter((d) => deadLetterCalls.has(d.callId)).map((d) => d.customerId),
  );
  const ownerOf = (key: string) => ledger.plaidItems?.[key] ?? key;
  const withCode = (ingestId: string, code: string | null | undefined) => {
    const call = acks.callOf.get(ingestId);
    return call !== undefined && codes[call] !== undefined
      ? `${ingestId} ${code ?? '-'}`
      : ingestId;
  };
  const section = compareKeys(
    acks.deliveries
      .filter((d) => deadLetterCalls.has(d.callId))
      .map((d) => {
        const code = codes[d.callId];
        const label = acks.label(d.ingestId);
        return { key: withCode(d.ingestId, code), label: code ? `${label} ${code}` : label };
      }),
    observed.deadLetters.flatMap((r) => {
      if (r.ingestId !== null && !acks.callOf.has(r.ingestId) && dlqCustomers.has(ownerOf(r.key))) {
        unacknowledgedCopies++;
        return [];
      }
      const id = r.ingestId ?? '?';
      return [
        {
          key: withCode(id, r.code),
          label: `dead letter of ${r.key} (ingest ${id})${r.code ? ` ${r.code}` : ''}`,
        },
      ];
    }),
  );
  return { section, unacknowledgedCopies };
}

/**
 * Compares what a run left on the topics with its ledger and delivery log. Pure.
 *
 * - stored: each delivery answered 2xx is on the raw (requests, connections) topic exactly once;
 * - events: each such webhook's expected events exist exactly once for its ingest id — the
 *   normalizer's exactly-once — and no event id outside the ledger appears (a Plaid webhook's
 *   event is known by its customer, Item and kind: its id includes the ingest id);
 * - completions, signals, alerts: each expected one exactly once, nothing else for the run's
 *   customers (outputs are compared by content: the customer, the outcome per connection…);
 * - dead letters: each expected one exactly once, with its code where the ledger names one, no
 *   other.
 */
export function compareWithLedger(
  ledger: Ledger,
  deliveries: readonly Delivery[],
  observed: Observed,
): CheckReport {
  const acks = acknowledgedOf(deliveries);
  const stored = compareStored(acks, observed);
  const events = compareEvents(ledger, acks, observed);
  const deadLetters = compareDeadLetters(ledger, acks, observed);
  const again = plaidRedeliveries(observed.events, (id) => acks.callOf.has(id));
  const sections = {
    stored: stored.section,
    events: events.section,
    deadLetters: deadLetters.section,
    completions: compareCompletions(ledger, observed, again),
    newTransactions: compareSignals(ledger, observed, again),
    alerts: compareAlerts(ledger, observed, again),
  };
  const plaidRepeats =
    sections.completions.allowedRepeats +
    sections.newTransactions.allowedRepeats +
    sections.alerts.allowedRepeats;
  const unacknowledgedCopies =
    stored.unacknowledgedCopies + events.unacknowledgedCopies + deadLetters.unacknowledgedCopies;
  const undecodable = observed.undecodable ?? [];
  const ok =
    undecodable.length === 0 &&
    Object.values(sections).every(
      (s) => s.missing.length === 0 && s.duplicated.length === 0 && s.unexpected.length === 0,
    );
  return { ok, ...sections, unacknowledgedCopies, plaidRepeats, undecodable };
}

/** True when nothing expected is missing any more (more may still arrive: duplicates, extras). */
export function nothingMissing(report: CheckReport): boolean {
  return [
    report.stored,
    report.events,
    report.deadLetters,
    report.completions,
    report.newTransactions,
    report.alerts,
  ].every((s) => s.missing.length === 0);
}
