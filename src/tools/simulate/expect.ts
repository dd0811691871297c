/**
 * The ledger's expectations of a day whose calls are placed: what each webhook's events must be,
 * which calls are dead-lettered, and the scenarios' outputs, made times where they were offsets.
 */
import { mapRawWebhook } from '../../normalize/mappers/index.js';
import type { ConnectionDirectory } from '../../normalize/types.js';
import type { PlacedEpisode } from './day.js';
import type { EpisodeAlert } from './scenarios.js';
import type { ExpectedAlert, ExpectedEvent, Ledger, Route, SimCall } from './types.js';

/** The `ob-source` the ingest stores each webhook route's records with. */
const SOURCE_OF: Readonly<Partial<Record<Route, string>>> = {
  '/webhooks/bud': 'bud',
  '/webhooks/yodlee': 'yodlee',
  '/webhooks/plaid': 'plaid',
};

/** The source a webhook call's raw record carries, or undefined for a client call. */
export const sourceOfRoute = (route: Route): string | undefined => SOURCE_OF[route];

const REGISTRATION_PATH = '/connections/plaid/';

/** The Plaid Item a call is about: a Plaid webhook's `item_id`, a registration's path. */
export function plaidItemOf(call: Pick<SimCall, 'route' | 'path' | 'body'>): string | undefined {
  if (call.route === '/connections/plaid' && call.path?.startsWith(REGISTRATION_PATH))
    return decodeURIComponent(call.path.slice(REGISTRATION_PATH.length));
  if (call.route !== '/webhooks/plaid') return undefined;
  try {
    const item = (JSON.parse(call.body) as { item_id?: unknown }).item_id;
    return typeof item === 'string' ? item : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Items the day's calls register, and to whom, as the normalizer's table will hold them. The
 * scenarios send an Item's webhooks only once its registration is answered, so every webhook of a
 * registered Item is attributed; an Item never registered is not.
 */
export function registeredItems(calls: Iterable<SimCall>): ConnectionDirectory {
  const owners = new Map<string, string>();
  for (const call of calls) {
    const item = call.route === '/connections/plaid' ? plaidItemOf(call) : undefined;
    if (item === undefined) continue;
    const { customer_id: customer } = JSON.parse(call.body) as { customer_id: string };
    owners.set(item, customer);
  }
  return { customerOf: (source, id) => (source === 'plaid' ? owners.get(id) : undefined) };
}

/** A scenario's alert in the ledger: a WARNING's expiry a time, now that the episode is placed. */
function alertAt(a: EpisodeAlert, episodeStart: number): ExpectedAlert {
  const { expiresAfterMs, ...rest } = a;
  return expiresAfterMs === undefined
    ? rest
    : { ...rest, expiresAt: episodeStart + expiresAfterMs };
}

type Expected = Omit<Ledger, 'runId' | 'seed' | 'startTime' | 'timing' | 'customers'>;

/**
 * What the ledger expects of the placed day. Event ids are made from what the source said, never
 * from receipt or lineage, so the mapper gives them here as the normalizer will — except Plaid's,
 * which include the ingest id (its bodies carry no delivery id): those are expected by what they
 * are (customer, Item, kind), for each delivery the ingest acknowledges.
 */
export function expectedOutputs(placed: readonly PlacedEpisode[], startTime: number): Expected {
  const directory = registeredItems(placed.flatMap((p) => p.calls.map((c) => c.call)));
  const events: Record<string, string[]> = {};
  const deliveryEvents: Record<string, ExpectedEvent[]> = {};
  const deadLetters: string[] = [];
  const deadLetterCodes: Record<string, string> = {};
  const plaidItems: Record<string, string> = {};
  for (const { episode, calls } of placed) {
    for (const { call, step } of calls) {
      const item = plaidItemOf(call);
      if (item !== undefined) plaidItems[item] = call.customerId;
      if (episode.deadLetters.includes(step)) {
        deadLetters.push(call.id);
        const code = episode.deadLetterCodes?.[step];
        if (code !== undefined) deadLetterCodes[call.id] = code;
        continue;
      }
      const source = sourceOfRoute(call.route);
      if (source === undefined) continue;
      const result = mapRawWebhook(
        {
          source,
          value: Buffer.from(call.body),
          receivedAt: startTime + call.atMs,
          ingestId: call.id,
          topic: 'simulated',
          partition: 0,
          offset: 0,
        },
        directory,
      );
      // a webhook the mapper refuses has no events; the check then reports an unexpected dead
      // letter
      const mapped = result.ok ? result.events : [];
      if (source === 'plaid')
        deliveryEvents[call.id] = mapped.map((e) => ({
          customerId: e.customer_id,
          connectionId: e.connection_id,
          sourceEvent: e.source_event,
        }));
      else events[call.id] = mapped.map((e) => e.event_id);
    }
  }
  return {
    events,
    deliveryEvents,
    deadLetters,
    deadLetterCodes,
    plaidItems,
    completions: placed.flatMap((p) => p.episode.completions),
    newTransactions: placed.flatMap((p) => p.episode.newTransactions),
    alerts: placed.flatMap((p) => p.episode.alerts.map((a) => alertAt(a, startTime + p.start))),
  };
}
