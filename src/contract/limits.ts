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
  /**
   * Bytes of one record a service writes (key, value and headers): under the broker's default
   * `message.max.bytes` (1,048,588, a whole record batch). A record over it is the input's fault:
   * its input is dead-lettered `RECORD_TOO_LARGE`.
   */
  recordBytes: 1_000_000,
  /**
   * Bytes of a dead letter, under its topic's `max.message.bytes` (2 MiB, as the raw topic's):
   * a larger one is written without its value (`ob-value-omitted`), which stays at its origin.
   */
  deadLetterBytes: 2_000_000,
} as const;

/** Bytes of a record as the broker counts them, near enough (key, value, header names and values). */
export function recordSize(record: {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Readonly<Record<string, Buffer | string | (Buffer | string)[] | undefined>>;
}): number {
  const bytes = (v: Buffer | string | null | undefined) =>
    v === null || v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;
  let size = bytes(record.key) + bytes(record.value) + 64;
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    size += Buffer.byteLength(name);
    for (const v of Array.isArray(value) ? value : [value]) size += bytes(v);
  }
  return size;
}

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
