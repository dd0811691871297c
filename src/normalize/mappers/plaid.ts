import { LIMITS } from '../../contract/limits.js';
import type {
  ConnectionDirectory,
  MapResult,
  MappedFields,
  MappedResult,
  RawWebhook,
} from '../types.js';
import { field, finish, flag, lookup, reject, text, time } from './common.js';
import type { PlaidKind } from './plaid-codes.js';
import {
  PLAID_KINDS,
  PLAID_UNUSED_CODES,
  PLAID_UNUSED_TYPES,
  plaidErrorCode,
} from './plaid-codes.js';

/** The source the directory is asked about: the canonical Source symbol. */

/** Plaid's webhook types and codes are upper snake case (`TRANSACTIONS`, `SYNC_UPDATES_AVAILABLE`). */
const NAME = /^[A-Z][A-Z0-9_]{0,63}$/;

/** Plaid's `error` on a webhook, as sent. */
interface PlaidError {
  readonly code: string | null;
  readonly message: string | null;
  readonly codeReason: string | null;
}

/**
 * The `error` a webhook carries: a PlaidError object, or the code alone (INITIAL_UPDATE's schema
 * types it as a string); null when there is none (`error: null`, absent, or saying nothing).
 */
function errorOf(body: unknown): PlaidError | null {
  const error = field(body, 'error');
  if (typeof error === 'string') {
    const code = text(error);
    return code === null ? null : { code, message: null, codeReason: null };
  }
  const found: PlaidError = {
    code: text(field(error, 'error_code')),
    message: text(field(error, 'error_message')),
    codeReason: text(field(error, 'error_code_reason')),
  };
  return found.code === null && found.message === null ? null : found;
}

/** `new_transactions` when it is a count. */
function newTransactions(body: unknown): number | null {
  const n = field(body, 'new_transactions');
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

type Classified =
  | { readonly ok: true; readonly kind: PlaidKind; readonly type: string; readonly code: string }
  | { readonly ok: false; readonly result: MapResult };

const quoted = (s: string) => JSON.stringify(s.slice(0, 100));
const refused = (result: MapResult): Classified => ({ ok: false, result });

/**
 * What the webhook is, from `webhook_type` and `webhook_code` alone (before any lookup of its
 * Item): not a Plaid body (UNKNOWN_SHAPE), a malformed name (MISSING_FIELD, INVALID_FIELD), a
 * genuine webhook that is no refresh signal (UNUSED_EVENT), one refreshbus does not know
 * (UNSUPPORTED_EVENT), or one it maps.
 */
function classify(body: unknown): Classified {
  const type = field(body, 'webhook_type');
  if (typeof type !== 'string')
    return refused(reject('UNKNOWN_SHAPE', 'a Plaid body is an object with a "webhook_type"'));
  if (!NAME.test(type))
    return refused(reject('INVALID_FIELD', `webhook_type ${quoted(type)} is not a Plaid name`));
  const code = field(body, 'webhook_code');
  if (code === undefined || code === null)
    return refused(reject('MISSING_FIELD', 'webhook_code is missing'));
  if (typeof code !== 'string' || !NAME.test(code))
    return refused(
      reject(
        'INVALID_FIELD',
        `webhook_code ${typeof code === 'string' ? quoted(code) : `(a ${typeof code})`} is not a Plaid name`,
      ),
    );
  const kind = lookup(lookup(PLAID_KINDS, type) ?? {}, code);
  if (kind) return { ok: true, kind, type, code };
  if (PLAID_UNUSED_TYPES.has(type) || (lookup(PLAID_UNUSED_CODES, type) ?? []).includes(code))
    return refused(
      reject('UNUSED_EVENT', `Plaid ${type} ${code} is genuine but not a refresh signal`),
    );
  return refused(reject('UNSUPPORTED_EVENT', `Plaid ${type} ${code} is not supported`));
}

/** What a webhook says of its Item; the rest of the event is fixed by the mapper. */
type Decided = MappedResult & Pick<MappedFields, 'reason' | 'access_expires_at'>;

/** A failure with Plaid's error code (plaid-codes.ts); an unknown or absent code is carried as sent. */
function failure(error: PlaidError | null, hasNew: boolean | null = null): Decided {
  const meaning = plaidErrorCode(error?.code ?? null);
  return {
    phase: 'COMPLETED',
    outcome: 'FAILED',
    result_code: error?.code ?? null,
    action_required: meaning.action,
    reconnect_required: meaning.reconnect,
    has_new_transactions: hasNew,
    // each Plaid webhook reports a finished update of its Item; Plaid retries on its own schedule
    // and reports that attempt in a webhook of its own: no report waits for a retry (as Yodlee's
    // finished process), so one Item's failure never holds another Item's round
    final: true,
    reason: error?.message ?? null,
    access_expires_at: null,
  };
}

const settled = (over: Partial<Decided>): Decided => ({
  phase: 'COMPLETED',
  outcome: 'SUCCESS',
  result_code: null,
  action_required: 'NONE',
  reconnect_required: false,
  has_new_transactions: null,
  final: true,
  reason: null,
  access_expires_at: null,
  ...over,
});

/**
 * The mapping table (docs in schemas/RefreshEvent.avsc): new transaction data is a final
 * SUCCESS (SYNC_UPDATES_AVAILABLE always has new data to pull; the legacy updates when
 * `new_transactions` > 0); ITEM ERROR is a FAILED classified by its code; LOGIN_REPAIRED ends a
 * reconnect episode (SUCCESS); a revoked permission needs the user (FAILED, RECONNECT); a
 * pending expiration or disconnection is no refresh report (phase and outcome UNKNOWN) but a
 * warning: RECONNECT_SOON, with when access stops.
 */
function decide(kind: PlaidKind, code: string, body: unknown, error: PlaidError | null): Decided {
  switch (kind) {
    case 'sync':
    case 'legacy-update': {
      const count = newTransactions(body);
      const hasNew = kind === 'sync' ? true : count === null ? null : count > 0;
      // an update reporting an error: a failure, its new data still worth fetching
      return error ? failure(error, hasNew) : settled({ has_new_transactions: hasNew });
    }
    case 'item-error':
      return failure(error);
    case 'login-repaired':
      return settled({ result_code: error?.code ?? code });
    case 'revoked':
      return settled({
        outcome: 'FAILED',
        result_code: error?.code ?? code,
        action_required: 'RECONNECT',
        reconnect_required: true,
        reason: error?.message ?? null,
      });
    case 'expiring':
      return settled({
        phase: 'UNKNOWN',
        outcome: 'UNKNOWN',
        result_code: code,
        action_required: 'RECONNECT_SOON',
        reason: text(field(body, 'reason')),
        access_expires_at:
          time(field(body, 'consent_expiration_time')) ?? time(field(body, 'disconnect_time')),
      });
  }
}

/** The `item_id`, or why it cannot name an Item. */
function itemOf(body: unknown): string | MapResult {
  const item = field(body, 'item_id');
  if (item === undefined || item === null) return reject('MISSING_FIELD', 'item_id is missing');
  const id = typeof item === 'string' ? text(item) : null;
  if (id === null) return reject('INVALID_FIELD', 'item_id is not a non-empty string');
  if (id.length > LIMITS.idLength)
    return reject(
      'LIMIT_EXCEEDED',
      `connection_id is ${String(id.length)} characters long; at most ${String(LIMITS.idLength)}`,
    );
  return id;
}

/**
 * Any Plaid body (`{webhook_type, webhook_code, item_id, …}`): one event for the Item, attributed
 * to the customer the client registered the Item to. The webhook's kind is checked before the
 * Item is looked up, so junk is refused for what it is and a genuine but unused webhook is
 * UNUSED_EVENT whether or not its Item is registered; an Item `directory` does not know is
 * UNREGISTERED_CONNECTION (replayable once it is registered), never guessed at.
 *
 * Plaid's bodies carry no time and no delivery id, and an Item's steady-state webhooks repeat the
 * same body (every SYNC_UPDATES_AVAILABLE, every ITEM_LOGIN_REQUIRED): `occurred_at` is the receipt
 * time, and the event id includes the ingest id, so each webhook Plaid sends is an event of its
 * own. A delivery Plaid re-sends (no 2xx within 10 s) then becomes a second event — a repeated
 * fetch-now signal, an alert transition already made: harmless, where one id for identical bodies
 * dropped genuine later webhooks as re-deliveries.
 */
export function mapPlaid(
  raw: RawWebhook,
  body: unknown,
  directory: ConnectionDirectory,
): MapResult {
  const what = classify(body);
  if (!what.ok) return what.result;
  const item = itemOf(body);
  if (typeof item !== 'string') return item;
  const customer = directory.customerOf('plaid', item);
  if (typeof customer !== 'string' || customer.length === 0)
    return reject(
      'UNREGISTERED_CONNECTION',
      `Plaid Item ${JSON.stringify(item)} is not registered to a customer; replay once it is`,
    );
  const error = errorOf(body);
  const decided = decide(what.kind, what.code, body, error);
  const fields: MappedFields = {
    source: 'PLAID',
    source_event: `plaid.${what.type.toLowerCase()}.${what.code.toLowerCase()}`,
    customer_id: customer,
    provider: text(field(body, 'institution_id')),
    connection_id: item,
    task_id: null, // Plaid names no task: a webhook is about its Item
    parent_task_id: null,
    data_updated_at: null,
    occurred_at: null, // no body time says when it happened: the receipt time stands in
    ...decided,
    // TRANSACTIONS webhooks report an update of the Item's data; ITEM webhooks (errors, repairs,
    // revocations, expiry warnings) are about its access: alerts only, never a refresh round
    subject: what.type === 'TRANSACTIONS' ? 'REFRESH' : 'CONNECTION',
    // each Item refreshes on its own and one webhook reports its update whole: nothing to wait for
    siblings_may_follow: false,
  };
  // what else Plaid said that tells two webhooks apart (a re-delivery repeats all of it)
  const said = [
    newTransactions(body),
    flag(field(body, 'initial_update_complete')),
    flag(field(body, 'historical_update_complete')),
    text(field(body, 'account_id')),
    error?.codeReason ?? null,
    decided.reason,
    decided.access_expires_at,
    text(field(body, 'environment')),
    raw.ingestId,
  ];
  return { ok: true, events: [finish(raw, fields, said)] };
}
