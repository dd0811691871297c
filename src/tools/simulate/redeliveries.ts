/**
 * Plaid re-deliveries in the ledger check: what a copy of a Plaid webhook stored by an attempt
 * that got no 2xx may repeat downstream, and so is allowed (once per copy) and counted.
 */
/** A Plaid webhook's event stored by an attempt that got no 2xx (`plaidRedeliveries`). */
export interface Redelivered {
  readonly customerId: string;
  readonly connectionId: string | null;
  readonly sourceEvent: string;
}

/**
 * The events of Plaid webhooks stored by attempts that got no 2xx. Plaid re-sends a webhook whose
 * answer it did not get; its bodies carry no delivery id and repeat themselves, so refreshbus
 * cannot tell that re-delivery from a new webhook and makes it an event of its own
 * (docs/sources.md): if the first attempt was stored after all, its outputs may come twice.
 */
export function plaidRedeliveries(
  events: readonly (Redelivered & { readonly ingestId: string })[],
  acknowledged: (ingestId: string) => boolean,
): Redelivered[] {
  return events.filter((e) => e.sourceEvent.startsWith('plaid.') && !acknowledged(e.ingestId));
}

/** How many re-delivered events match, per key of the expected outputs they may repeat. */
export function allowance<T>(
  expected: readonly T[],
  keyOf: (x: T) => string,
  repeats: (x: T) => number,
): Map<string, number> {
  const allowed = new Map<string, number>();
  for (const x of expected) {
    const n = repeats(x);
    if (n > 0) allowed.set(keyOf(x), n);
  }
  return allowed;
}

/** The Plaid reports that make rounds (completions, signals). */
export const TRANSACTIONS = 'plaid.transactions.';
/** The Plaid reports that make WARNING alerts. */
export const EXPIRY_WARNINGS: ReadonlySet<string> = new Set([
  'plaid.item.pending_expiration',
  'plaid.item.pending_disconnect',
]);
