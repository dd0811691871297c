/**
 * Plaid's Items: registered to the customer by the client (`PUT /connections/plaid/{item_id}`)
 * before Plaid sends anything for them, then their Transactions and Item webhooks — bodies shaped
 * as Plaid's own examples (docs/sources.md, "Plaid") — and an Item the client never registered.
 */
import type { Random } from '../random.js';
import type { Episode, EpisodeAlert, ScenarioContext, SourceClock, Step } from './episode.js';
import { DAY, RECONNECT_GAP_MS, alert, connection, round, rounds } from './episode.js';

/** A Plaid Item of the customer, and the Plaid user it belongs to. */
interface PlaidItem {
  /**
   * Opaque to everyone but Plaid; the simulator's start with the customer id, so a run's Items
   * are never another run's and its records are told apart by key as the customers' are.
   */
  readonly id: string;
  readonly userId: string;
}

/** Between an Item's registration and its first webhook (sent only once registered). */
const REGISTER_GAP_MS = 50;
/** How long before access stops Plaid warns (PENDING_EXPIRATION: 7 days before). */
const WARNING_LEAD_MS = 7 * DAY;

/** `ITEM_LOGIN_REQUIRED`'s `error_message`, as Plaid sends it: the reason its alert carries. */
const LOGIN_REQUIRED_MESSAGE =
  "the login details of this item have changed (credentials, MFA, or required user action) and a user login is required to update this information. use Link's update mode to restore the item to a good state";

/** The customer's Plaid user and `count` Items of it. */
function plaidItems(rng: Random, customerId: string, count: number): PlaidItem[] {
  const userId = `usr_${rng.token(14)}`;
  return Array.from({ length: count }, () => ({ id: `${customerId}-${rng.token(24)}`, userId }));
}

/** The fields every Item webhook of Plaid's examples starts with. */
const itemWebhook = (item: PlaidItem, type: string, code: string) => ({
  webhook_type: type,
  webhook_code: code,
  item_id: item.id,
  user_id: item.userId,
});

/** SYNC_UPDATES_AVAILABLE (SyncUpdatesAvailableWebhook): new data to pull with /transactions/sync. */
const syncUpdatesAvailable = (item: PlaidItem, historicalComplete: boolean) => ({
  ...itemWebhook(item, 'TRANSACTIONS', 'SYNC_UPDATES_AVAILABLE'),
  initial_update_complete: true,
  historical_update_complete: historicalComplete,
  environment: 'production',
});

/** DEFAULT_UPDATE (DefaultUpdateWebhook) of the legacy /transactions/get: no `user_id`. */
const defaultUpdate = (item: PlaidItem, newTransactions: number) => ({
  webhook_type: 'TRANSACTIONS',
  webhook_code: 'DEFAULT_UPDATE',
  item_id: item.id,
  error: null,
  new_transactions: newTransactions,
  environment: 'production',
});

/** ITEM ERROR with ITEM_LOGIN_REQUIRED (ItemErrorWebhook): an OAuth token invalidated, or not. */
const itemLoginRequired = (item: PlaidItem, oauth: boolean) => ({
  ...itemWebhook(item, 'ITEM', 'ERROR'),
  error: {
    display_message: oauth
      ? "The user's OAuth connection to this institution has been invalidated."
      : null,
    error_code: 'ITEM_LOGIN_REQUIRED',
    error_code_reason: oauth ? 'OAUTH_INVALID_TOKEN' : null,
    error_message: LOGIN_REQUIRED_MESSAGE,
    error_type: 'ITEM_ERROR',
    status: 400,
  },
  environment: 'production',
});

/** LOGIN_REPAIRED (ItemLoginRepairedWebhook): the Item works again without the client's Link. */
const loginRepaired = (item: PlaidItem) => ({
  ...itemWebhook(item, 'ITEM', 'LOGIN_REPAIRED'),
  environment: 'production',
});

/** The step that registers `item` to the customer: the client's call, before Plaid's webhooks. */
const registration = (customerId: string, item: PlaidItem, offsetMs: number): Step => ({
  offsetMs,
  route: '/connections/plaid',
  path: `/connections/plaid/${item.id}`,
  note: `the client registers its new Plaid Item to the customer`,
  body: () => ({ connection_id: item.id, customer_id: customerId }),
});

/** The Item's round of one Transactions report: completed at once, signalled when there is data. */
const itemRound = (customerId: string, item: PlaidItem, newData: boolean) =>
  round(customerId, 'ALL_REPORTED', [
    { ...connection(null, item.id, 'SUCCESS'), newData: newData },
  ]);

/** One Item's calls for `plaid-sync`, appended to `steps`, and the rounds they make. */
function syncedItem(
  rng: Random,
  customerId: string,
  item: PlaidItem,
  steps: Step[],
  start: number,
): ReturnType<typeof rounds> {
  const registered = steps.push(registration(customerId, item, start)) - 1;
  const at = start + REGISTER_GAP_MS;
  if (rng.chance(0.25)) {
    // an Item on the legacy /transactions/get: no new transactions is no signal
    const n = rng.chance(0.3) ? 0 : rng.int(1, 40);
    steps.push({
      offsetMs: at,
      route: '/webhooks/plaid',
      after: registered,
      note: `DEFAULT_UPDATE: ${n} new transactions`,
      body: () => defaultUpdate(item, n),
    });
    return itemRound(customerId, item, n > 0);
  }
  const body = syncUpdatesAvailable(item, rng.chance(0.7));
  const again = rng.chance(0.4);
  steps.push({
    offsetMs: at,
    route: '/webhooks/plaid',
    after: registered,
    note: 'SYNC_UPDATES_AVAILABLE',
    body: () => body,
  });
  if (!again) return itemRound(customerId, item, true);
  steps.push({
    offsetMs: at + RECONNECT_GAP_MS,
    route: '/webhooks/plaid',
    after: steps.length - 1,
    note: 'SYNC_UPDATES_AVAILABLE again, the same body (more new data later)',
    body: () => body,
  });
  return rounds(itemRound(customerId, item, true), itemRound(customerId, item, true));
}

/**
 * A customer links 1–2 Items; the client registers each, then Plaid reports its transactions:
 * SYNC_UPDATES_AVAILABLE, now and then sent again later with the same body (a second report, not
 * a re-delivery), or, for an Item on the legacy API, DEFAULT_UPDATE with a count (0: no new data).
 * Expect a completion per report, ALL_REPORTED at once with the Item alone (another Item is not
 * waited for), a signal (no providers: Plaid names none) for each with new data, and no alert.
 */
export function plaidSync({ rng, customerId }: ScenarioContext): Episode {
  const items = plaidItems(rng, customerId, rng.pick([1, 1, 2]));
  const steps: Step[] = [];
  const made = items.map((item, i) =>
    syncedItem(rng, customerId, item, steps, i * 3 * REGISTER_GAP_MS),
  );
  return { steps, deadLetters: [], ...rounds(...made), alerts: [] };
}

/**
 * An Item needs the user's login: ITEM ERROR (ITEM_LOGIN_REQUIRED, with Plaid's message). Later
 * it works again — LOGIN_REPAIRED (repaired outside the client's Link), or only its next report
 * shows it (repaired in the client's Link update mode, of which Plaid sends no webhook) — and
 * SYNC_UPDATES_AVAILABLE follows. Expect an alert RAISED (RECONNECT, Plaid's message as its
 * reason) then CLEARED, and one completion with a signal: the error opens no round.
 */
export function plaidLoginRepaired({ rng, customerId }: ScenarioContext): Episode {
  const [item] = plaidItems(rng, customerId, 1) as [PlaidItem];
  const oauth = rng.chance(0.5);
  const repaired = rng.chance(0.7);
  const body = syncUpdatesAvailable(item, true);
  const steps: Step[] = [
    registration(customerId, item, 0),
    {
      offsetMs: REGISTER_GAP_MS,
      route: '/webhooks/plaid',
      after: 0,
      note: `ITEM ERROR: ITEM_LOGIN_REQUIRED${oauth ? ' (OAuth token invalidated)' : ''}`,
      body: () => itemLoginRequired(item, oauth),
    },
  ];
  if (repaired)
    steps.push({
      offsetMs: REGISTER_GAP_MS + RECONNECT_GAP_MS,
      route: '/webhooks/plaid',
      after: 1,
      note: 'LOGIN_REPAIRED',
      body: () => loginRepaired(item),
    });
  steps.push({
    offsetMs: REGISTER_GAP_MS + 2 * RECONNECT_GAP_MS,
    route: '/webhooks/plaid',
    after: steps.length - 1,
    note: `SYNC_UPDATES_AVAILABLE${repaired ? '' : ' (the login was repaired in Link: no webhook says so)'}`,
    body: () => body,
  });
  return {
    steps,
    deadLetters: [],
    ...itemRound(customerId, item, true),
    alerts: [
      alert(customerId, null, item.id, 'RAISED', 'RECONNECT', LOGIN_REQUIRED_MESSAGE),
      alert(customerId, null, item.id, 'CLEARED', 'NONE'),
    ],
  };
}

/**
 * Access to an Item will stop: PENDING_EXPIRATION (its consent expires in 7 days) or
 * PENDING_DISCONNECT (Plaid says why: the institution migrates, or its token expires). The Item
 * still works: its SYNC_UPDATES_AVAILABLE follows. Expect a WARNING (RECONNECT_SOON, with when
 * access stops and Plaid's reason), one completion with a signal, and no CLEARED: a warning is
 * no episode, and no round is opened by it.
 */
export function plaidPendingExpiration({ rng, customerId }: ScenarioContext): Episode {
  const [item] = plaidItems(rng, customerId, 1) as [PlaidItem];
  const disconnect = rng.chance(0.4);
  const reason = disconnect
    ? rng.pick(['INSTITUTION_MIGRATION', 'INSTITUTION_TOKEN_EXPIRATION'])
    : null;
  const warnedAt = REGISTER_GAP_MS;
  const expiresAfterMs = warnedAt + WARNING_LEAD_MS;
  const warning = (at: SourceClock) =>
    disconnect
      ? {
          ...itemWebhook(item, 'ITEM', 'PENDING_DISCONNECT'),
          reason,
          disconnect_time: at(expiresAfterMs),
          environment: 'production',
        }
      : {
          ...itemWebhook(item, 'ITEM', 'PENDING_EXPIRATION'),
          consent_expiration_time: at(expiresAfterMs),
          environment: 'production',
        };
  const expected: EpisodeAlert = {
    ...alert(customerId, null, item.id, 'WARNING', 'RECONNECT_SOON', reason),
    expiresAfterMs,
  };
  return {
    steps: [
      registration(customerId, item, 0),
      {
        offsetMs: warnedAt,
        route: '/webhooks/plaid',
        after: 0,
        note: disconnect ? `PENDING_DISCONNECT (${reason ?? ''})` : 'PENDING_EXPIRATION',
        body: warning,
      },
      {
        offsetMs: warnedAt + RECONNECT_GAP_MS,
        route: '/webhooks/plaid',
        after: 1,
        note: 'SYNC_UPDATES_AVAILABLE: the warned Item still works',
        body: () => syncUpdatesAvailable(item, true),
      },
    ],
    deadLetters: [],
    ...itemRound(customerId, item, true),
    alerts: [expected],
  };
}

/**
 * Plaid reports on an Item the client never registered (it did not call the connections route
 * after exchanging the Item's token): SYNC_UPDATES_AVAILABLE or an ITEM ERROR. It is never
 * attributed by guess: expect one dead letter, UNREGISTERED_CONNECTION (replayable once the Item
 * is registered), and nothing else.
 */
export function plaidUnregistered({ rng, customerId }: ScenarioContext): Episode {
  const [item] = plaidItems(rng, customerId, 1) as [PlaidItem];
  const error = rng.chance(0.3);
  return {
    steps: [
      {
        offsetMs: 0,
        route: '/webhooks/plaid',
        note: `${error ? 'ITEM ERROR' : 'SYNC_UPDATES_AVAILABLE'} of an Item the client never registered`,
        body: () => (error ? itemLoginRequired(item, true) : syncUpdatesAvailable(item, false)),
      },
    ],
    deadLetters: [0],
    deadLetterCodes: { 0: 'UNREGISTERED_CONNECTION' },
    completions: [],
    newTransactions: [],
    alerts: [],
  };
}
