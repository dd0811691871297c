/**
 * Plaid re-deliveries in the ledger check: what a copy of a Plaid webhook stored by an attempt
 * that got no 2xx may repeat downstream, and so is allowed — at most one output of each kind per
 * copy, for its customer and Item only — and counted.
 */

/** A Plaid webhook's event stored by an attempt that got no 2xx (`plaidRedeliveries`). */
export interface Redelivered {
  readonly customerId: string;
  readonly connectionId: string | null;
  readonly provider: string | null;
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

/** The Plaid reports that make rounds (completions, signals). */
export const TRANSACTIONS = 'plaid.transactions.';
/** The Plaid reports that make WARNING alerts. */
export const EXPIRY_WARNINGS: ReadonlySet<string> = new Set([
  'plaid.item.pending_expiration',
  'plaid.item.pending_disconnect',
]);

/** Who a repeat is charged to: a customer and one of its Plaid Items (or a provider). */
export const owner = (customerId: string, id: string | null): string =>
  `${customerId}\u0000${id ?? ''}`;

/**
 * How many repeats of one kind of output the copies allow, per owner: one per copy. `allow`
 * answers compareKeys: a key found `extra` times too often is allowed when its owner (from the
 * expected outputs: undefined for one no copy can repeat) has that many repeats left, which it
 * then spends — one copy never excuses repeats of two different outputs.
 */
export function repeatBudget<T>(
  copies: readonly Redelivered[],
  ownerOfCopy: (e: Redelivered) => string | undefined,
  expected: readonly T[],
  keyOf: (x: T) => string,
  ownerOf: (x: T) => string | undefined,
): (key: string, extra: number) => boolean {
  const left = new Map<string, number>();
  for (const e of copies) {
    const o = ownerOfCopy(e);
    if (o !== undefined) left.set(o, (left.get(o) ?? 0) + 1);
  }
  const owners = new Map<string, string | undefined>();
  for (const x of expected) if (!owners.has(keyOf(x))) owners.set(keyOf(x), ownerOf(x));
  return (key, extra) => {
    const o = owners.get(key);
    const budget = o === undefined ? 0 : (left.get(o) ?? 0);
    if (o === undefined || budget < extra) return false;
    left.set(o, budget - extra);
    return true;
  };
}
