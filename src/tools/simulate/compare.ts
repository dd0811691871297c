import type {
  CustomerRefreshCompleted,
  NewTransactionsAvailable,
  ReconnectAlert,
} from '../../processors/types.js';
import type { Delivery, ExpectedCompletion, ExpectedEvent, Ledger } from './types.js';

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

/** One kind of record, compared: each list names what is missing, extra or there too often. */
export interface Section {
  readonly expected: number;
  /** Records of the run's customers found. */
  readonly found: number;
  /** Expected records found exactly once. */
  readonly matched: number;
  readonly missing: readonly string[];
  /** Expected once, found more often (the same output twice breaks exactly-once). */
  readonly duplicated: readonly string[];
  /** Found, not expected: an output that contradicts the ledger. */
  readonly unexpected: readonly string[];
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
  readonly undecodable: readonly string[];
}

/**
 * Compares expected keys with found keys (a key may be expected more than once): what is
 * missing, found too often, or not expected at all.
 */
export function compareKeys(
  expected: readonly { key: string; label: string }[],
  found: readonly { key: string; label: string }[],
): Section {
  const want = new Map<string, { label: string; n: number }>();
  for (const e of expected) {
    const w = want.get(e.key);
    if (w) w.n++;
    else want.set(e.key, { label: e.label, n: 1 });
  }
  const got = new Map<string, { label: string; n: number }>();
  for (const f of found) {
    const g = got.get(f.key);
    if (g) g.n++;
    else got.set(f.key, { label: f.label, n: 1 });
  }
  const missing: string[] = [];
  const duplicated: string[] = [];
  const unexpected: string[] = [];
  let matched = 0;
  for (const [key, w] of want) {
    const n = got.get(key)?.n ?? 0;
    matched += Math.min(n, w.n);
    if (n < w.n) missing.push(w.n - n > 1 ? `${w.label} (×${w.n - n})` : w.label);
    if (n > w.n) duplicated.push(`${w.label} (×${n})`);
  }
  for (const [key, g] of got) {
    if (!want.has(key)) unexpected.push(g.n > 1 ? `${g.label} (×${g.n})` : g.label);
  }
  return {
    expected: expected.length,
    found: found.length,
    matched,
    missing,
    duplicated,
    unexpected,
  };
}

const connectionText = (c: {
  provider: string | null;
  connectionId: string | null;
  outcome: string;
  actionRequired: string;
}) =>
  `${c.provider ?? '-'}/${c.connectionId ?? '-'}:${c.outcome}${c.actionRequired === 'NONE' ? '' : `/${c.actionRequired}`}`;

/** A completion as text: what a person checks (round ids and times are the pipeline's own). */
export function completionText(c: ExpectedCompletion): string {
  return [
    c.customerId,
    c.closeReason,
    c.connections.map(connectionText).join(' '),
    c.allSucceeded ? 'all succeeded' : 'not all succeeded',
    c.anyNewTransactions ? 'new data' : 'no new data',
  ].join(' | ');
}

/** An output completion in the ledger's terms. */
export function asExpectedCompletion(c: CustomerRefreshCompleted): ExpectedCompletion & {
  missing: readonly string[];
} {
  return {
    customerId: c.customer_id,
    closeReason: c.close_reason as ExpectedCompletion['closeReason'],
    connections: c.connections
      .map((x) => ({
        provider: x.provider,
        connectionId: x.connection_id,
        outcome: x.outcome,
        actionRequired: x.action_required,
      }))
      .sort(
        (a, b) =>
          (a.provider ?? '').localeCompare(b.provider ?? '') ||
          (a.connectionId ?? '').localeCompare(b.connectionId ?? ''),
      ),
    allSucceeded: c.all_succeeded,
    anyNewTransactions: c.any_new_transactions,
    missing: c.missing,
  };
}

// an alert's reason and expiry are shown only when there is one: ledgers and records written
// before alerts carried them have none
const alertText = (a: {
  customerId: string;
  provider: string | null;
  connectionId: string | null;
  status: string;
  actionRequired: string;
  reason?: string | null | undefined;
  expiresAt?: number | null | undefined;
}) =>
  `${a.customerId} | ${a.status} ${a.actionRequired} | ${a.provider ?? '-'}/${a.connectionId ?? '-'}${a.reason ? ` | reason ${a.reason}` : ''}${typeof a.expiresAt === 'number' ? ` | expires ${new Date(a.expiresAt).toISOString()}` : ''}`;

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

/** The completions, by content. */
const compareCompletions = (ledger: Ledger, observed: Observed) =>
  compareKeys(
    ledger.completions.map((c) => ({ key: completionText(c), label: completionText(c) })),
    observed.completions.map((c) => {
      const x = asExpectedCompletion(c);
      const text =
        completionText(x) + (x.missing.length ? ` | missing ${x.missing.join(', ')}` : '');
      return { key: text, label: `${text} (round ${c.round_id})` };
    }),
  );

const signalText = (customerId: string, providers: readonly string[]) =>
  `${customerId} | ${[...providers].sort().join(', ')}`;

/** The new-transactions signals: the customer and the providers named. */
const compareSignals = (ledger: Ledger, observed: Observed) =>
  compareKeys(
    ledger.newTransactions.map((s) => ({
      key: signalText(s.customerId, s.providers),
      label: signalText(s.customerId, s.providers),
    })),
    observed.newTransactions.map((s) => ({
      key: signalText(s.customer_id, s.providers),
      label: `${signalText(s.customer_id, s.providers)} (round ${s.round_id})`,
    })),
  );

/** The alerts, by content. */
const compareAlerts = (ledger: Ledger, observed: Observed) =>
  compareKeys(
    ledger.alerts.map((a) => ({ key: alertText(a), label: alertText(a) })),
    observed.alerts.map((a) => {
      const text = alertText({
        customerId: a.customer_id,
        provider: a.provider,
        connectionId: a.connection_id,
        status: a.status,
        actionRequired: a.action_required,
        reason: a.reason,
        expiresAt: a.expires_at,
      });
      return { key: text, label: `${text} (alert ${a.alert_id})` };
    }),
  );

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
  const sections = {
    stored: stored.section,
    events: events.section,
    deadLetters: deadLetters.section,
    completions: compareCompletions(ledger, observed),
    newTransactions: compareSignals(ledger, observed),
    alerts: compareAlerts(ledger, observed),
  };
  const unacknowledgedCopies =
    stored.unacknowledgedCopies + events.unacknowledgedCopies + deadLetters.unacknowledgedCopies;
  const undecodable = observed.undecodable ?? [];
  const ok =
    undecodable.length === 0 &&
    Object.values(sections).every(
      (s) => s.missing.length === 0 && s.duplicated.length === 0 && s.unexpected.length === 0,
    );
  return { ok, ...sections, unacknowledgedCopies, undecodable };
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
