import type { RefreshEvent, Subject } from '../normalize/types.js';

/**
 * Connection identity across a customer's events. A connection is a real identity, never a task:
 * - Bud: the provider (Bud refreshes and reports per provider), else the consent id while its
 *   provider is not known yet — `consent → provider` pairs are learned from every event that
 *   carries both (V2 sub-tasks, consent events), so a consent-only report (Bud's V1 examples) and a
 *   provider-only one (the seeds') meet once either has been seen beside the other;
 * - Yodlee: the provider account id (one user can hold two logins at one provider);
 * - none when the event names neither (the seeds' failure payload): then it is the customer's.
 * Keys: `p:<provider>` and `c:<consent or provider account>` (as earlier versions wrote them).
 */
export type ConsentProviders = Record<string, string>;

/** How many consent → provider pairs a customer keeps (oldest forgotten first). */
export const MAX_CONSENT_PAIRS = 100;

type Identified = Pick<RefreshEvent, 'source' | 'provider' | 'connection_id'>;

/** The connection key of an event, or undefined when it names no connection. */
export function connectionKey(pairs: ConsentProviders, e: Identified): string | undefined {
  if (e.source === 'BUD') {
    const provider =
      e.provider ?? (e.connection_id !== null ? pairs[e.connection_id] : undefined) ?? null;
    if (provider !== null) return `p:${provider}`;
  }
  if (e.connection_id !== null) return `c:${e.connection_id}`;
  if (e.provider !== null) return `p:${e.provider}`;
  return undefined;
}

/**
 * Learns the consent → provider pair a Bud event carries; returns the key the consent was known
 * under until now (`c:<consent>`), which the caller moves to the provider's key, or undefined
 * when nothing new was learned.
 */
export function learnConsentProvider(
  pairs: ConsentProviders,
  e: Identified,
): { from: string; to: string } | undefined {
  if (e.source !== 'BUD' || e.connection_id === null || e.provider === null) return undefined;
  if (pairs[e.connection_id] === e.provider) return undefined;
  Reflect.deleteProperty(pairs, e.connection_id); // re-insert: the newest pair is the last one
  pairs[e.connection_id] = e.provider;
  const keys = Object.keys(pairs);
  for (const old of keys.slice(0, Math.max(0, keys.length - MAX_CONSENT_PAIRS)))
    Reflect.deleteProperty(pairs, old);
  return { from: `c:${e.connection_id}`, to: `p:${e.provider}` };
}

/**
 * Moves `record[from]` to `record[to]`; when both exist, `merge(older, newer)` decides what
 * stays (`record[to]` is the newer: it was written under the identity now known).
 */
export function rekey<T>(
  record: Record<string, T>,
  from: string,
  to: string,
  merge: (moved: T, existing: T) => T,
): void {
  if (from === to || !Object.hasOwn(record, from)) return;
  const moved = record[from] as T;
  Reflect.deleteProperty(record, from);
  record[to] = Object.hasOwn(record, to) ? merge(moved, record[to] as T) : moved;
}

/**
 * What an event is about, as its mapper said (`subject`): the processors route it by this, not by
 * the source's name, so a new source's mapper decides how its events reach the rounds and the
 * alerts. A symbol this version does not know (UNKNOWN, or one a newer writer added) is read as
 * OTHER_TASK: no round, no alert.
 */
export type EventKind = Exclude<Subject, 'UNKNOWN'>;

const KINDS: ReadonlySet<string> = new Set<EventKind>([
  'REFRESH',
  'CONNECT',
  'CONNECTION',
  'OTHER_TASK',
]);

export function eventKind(e: Pick<RefreshEvent, 'source' | 'source_event' | 'subject'>): EventKind {
  // events written before the field existed have none (the processors decode with the writer's
  // schema: undefined, or null from a writer that had the field)
  const subject: string | null = e.subject ?? null;
  if (subject === null) return subjectBeforeTheField(e);
  // a symbol a newer writer added arrives as itself (no reader schema maps it to UNKNOWN)
  return KINDS.has(subject) ? (subject as EventKind) : 'OTHER_TASK';
}

/**
 * The subject of an event written before the normalizer said it (a record still in the topic at
 * the upgrade), as the versions before read it. Frozen: every event written since carries its
 * subject, and a new source never needs a line here.
 */
function subjectBeforeTheField(e: Pick<RefreshEvent, 'source' | 'source_event'>): EventKind {
  if (e.source === 'PLAID')
    return e.source_event.startsWith('plaid.transactions.') ? 'REFRESH' : 'CONNECTION';
  if (e.source !== 'BUD') return 'REFRESH';
  const s = e.source_event;
  if (s.startsWith('bud.consent.')) return 'CONNECTION';
  if (s === 'bud.v1.connect') return 'CONNECT';
  if (s === 'bud.v1.refresh' || s.startsWith('bud.v2.refresh.')) return 'REFRESH';
  return 'OTHER_TASK';
}

/**
 * Whether sibling reports of a round connection's refresh may still arrive apart (the round then
 * waits the settle time), as its report said (`siblings_may_follow`). Connections kept by the
 * versions before the field existed (null) are read as those versions did: a Yodlee process or a
 * Plaid Item reports whole, anything else may have siblings. Frozen, as above.
 */
export function siblingsMayFollow(c: {
  source: string;
  siblings_may_follow: boolean | null;
}): boolean {
  const said = c.siblings_may_follow ?? null;
  if (said !== null) return said;
  return !(c.source === 'YODLEE' || c.source === 'PLAID');
}

/** A consent reconfirmed or reauthorised, or a task that renewed it: the user acted. */
export function renewsConsent(
  e: Pick<RefreshEvent, 'source' | 'source_event' | 'outcome'>,
): boolean {
  if (e.outcome !== 'SUCCESS' || e.source !== 'BUD') return false;
  return (
    e.source_event === 'bud.consent.reconfirmed' ||
    e.source_event === 'bud.consent.reauthorised' ||
    e.source_event === 'bud.v1.connect' ||
    e.source_event === 'bud.v1.consent-refresh'
  );
}
