/**
 * The ledger check of the processors' outputs — completions, new-transactions signals, alerts —
 * compared by content (round ids and times are the pipeline's own).
 */
import type { CustomerRefreshCompleted } from '../../processors/types.js';
import type { Observed } from './compare.js';
import { compareKeys } from './keys.js';
import type { Redelivered } from './redeliveries.js';
import { EXPIRY_WARNINGS, TRANSACTIONS, owner, repeatBudget } from './redeliveries.js';
import type { ExpectedCompletion, Ledger } from './types.js';

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

/** The completions, by content; a re-delivered Plaid report may repeat its Item's completion. */
export const compareCompletions = (
  ledger: Ledger,
  observed: Observed,
  again: readonly Redelivered[],
) =>
  compareKeys(
    ledger.completions.map((c) => ({ key: completionText(c), label: completionText(c) })),
    observed.completions.map((c) => {
      const x = asExpectedCompletion(c);
      const text =
        completionText(x) + (x.missing.length ? ` | missing ${x.missing.join(', ')}` : '');
      return { key: text, label: `${text} (round ${c.round_id})` };
    }),
    // a copy's report opens a round of its own: the completion of that Item alone
    repeatBudget(
      again,
      (e) =>
        e.sourceEvent.startsWith(TRANSACTIONS) ? owner(e.customerId, e.connectionId) : undefined,
      ledger.completions,
      completionText,
      (c) =>
        c.closeReason === 'ALL_REPORTED' && c.connections.length === 1
          ? owner(c.customerId, c.connections[0]?.connectionId ?? null)
          : undefined,
    ),
  );

const signalText = (customerId: string, providers: readonly string[]) =>
  `${customerId} | ${[...providers].sort().join(', ')}`;

/**
 * The new-transactions signals: the customer and the providers named; a re-delivered Plaid
 * report may repeat the signal of its Item's round alone (naming the Item's institution, or no
 * provider when Plaid named none).
 */
export const compareSignals = (ledger: Ledger, observed: Observed, again: readonly Redelivered[]) =>
  compareKeys(
    ledger.newTransactions.map((s) => ({
      key: signalText(s.customerId, s.providers),
      label: signalText(s.customerId, s.providers),
    })),
    observed.newTransactions.map((s) => ({
      key: signalText(s.customer_id, s.providers),
      label: `${signalText(s.customer_id, s.providers)} (round ${s.round_id})`,
    })),
    repeatBudget(
      again,
      (e) => (e.sourceEvent.startsWith(TRANSACTIONS) ? owner(e.customerId, e.provider) : undefined),
      ledger.newTransactions,
      (s) => signalText(s.customerId, s.providers),
      (s) => (s.providers.length <= 1 ? owner(s.customerId, s.providers[0] ?? null) : undefined),
    ),
  );

/** The alerts, by content; a re-delivered Plaid expiry warning may repeat its WARNING. */
export const compareAlerts = (ledger: Ledger, observed: Observed, again: readonly Redelivered[]) =>
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
    repeatBudget(
      again,
      (e) => (EXPIRY_WARNINGS.has(e.sourceEvent) ? owner(e.customerId, e.connectionId) : undefined),
      ledger.alerts,
      alertText,
      (a) => (a.status === 'WARNING' ? owner(a.customerId, a.connectionId) : undefined),
    ),
  );
