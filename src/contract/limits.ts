/**
 * Size limits of the wire contract (docs/reliability.md, "Limits"). Each keeps one record well
 * under Kafka's default 1 MiB per record batch, whatever a sender puts in a body: an input over a
 * limit is refused (routes of the client's own) or dead-lettered with `LIMIT_EXCEEDED` (the
 * sources' webhooks, which are stored first: a source resends the same body, so refusing it would
 * only lose it); an output that would list more than a limit lists that many and says how many
 * more there were.
 */
export const LIMITS = {
  /**
   * Characters (UTF-16 code units, at most 3 UTF-8 bytes each) of an id or name taken from a body:
   * customer, task, parent task, connection, provider, result code, event type.
   */
  idLength: 256,
  /** Characters of free text (Bud's consent `reason`): a longer one is cut, ending in `…`. */
  textLength: 1024,
  /** Events one delivery fans out to (Bud V2 sub-tasks, Yodlee provider accounts). */
  deliveryEvents: 256,
  /** Providers, and task ids, one refresh request may name (each). */
  requestTargets: 100,
  /** Entries of each list in a processor's output (connections, missing, providers, task ids). */
  outputList: 100,
} as const;

/** `text` cut to `max` characters, the last one `…`, when longer; as it is otherwise. */
export function cutText(text: string, max: number = LIMITS.textLength): string {
  if (text.length <= max) return text;
  // never split a surrogate pair: its high half alone is not text
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 2)) ? max - 2 : max - 1;
  return `${text.slice(0, end)}…`;
}

/** The first `max` entries of `list`, and how many were left out. */
export function capList<T>(list: readonly T[], max: number = LIMITS.outputList): [T[], number] {
  return list.length <= max ? [[...list], 0] : [list.slice(0, max), list.length - max];
}
