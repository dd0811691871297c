/**
 * One classification of what can go wrong while a chunk of input is processed and committed
 * (docs/reliability.md, "Poison inputs"):
 * - `transient`: the infrastructure (Kafka, the registry, a restore in progress); retried with
 *   backoff for as long as it lasts, and visible meanwhile (per-partition stall, readiness);
 * - `deterministic`: the input itself (a record the broker will never take, bytes that are not a
 *   record of ours, a reducer or encoder that throws on it); dead-lettered at once;
 * - `unknown`: anything else thrown by the processing step; retried a few times, then
 *   dead-lettered, and counted apart so that it alerts;
 * - `fenced`: another member owns the partition now.
 */
export type ErrorClass = 'transient' | 'deterministic' | 'unknown' | 'fenced';

/** An input that can never be processed; `code` is the dead letter's `ob-error-code`. */
export class PoisonError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PoisonError';
  }
}

/** A failure of the domain's processing step (not of Kafka): unknown unless its cause says. */
export class ProcessingError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'ProcessingError';
  }
}

/** A state or resource not ready yet (a partition's restore under way): wait and retry. */
export class NotReadyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotReadyError';
  }
}

/** Kafka error types a record (or record batch) gets for what it is, whatever is retried. */
const RECORD_REFUSED = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD']);

export const FENCED_TYPES: ReadonlySet<string> = new Set([
  'INVALID_PRODUCER_EPOCH',
  'PRODUCER_FENCED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  // librdkafka's own: the producer was fenced
  '_FENCED',
]);

/** librdkafka's names (`ERR_MSG_SIZE_TOO_LARGE`) as Kafka's protocol names them. */
const LIBRDKAFKA_NAMES: Readonly<Record<string, string>> = {
  MSG_SIZE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  _MSG_TIMED_OUT: 'REQUEST_TIMED_OUT',
};

/** A Kafka error type in the protocol's words, whichever client named it. */
export function protocolType(type: string): string {
  const bare = type.startsWith('ERR_') ? type.slice(4) : type;
  return LIBRDKAFKA_NAMES[bare] ?? bare;
}

/** Errors of the registry's client that say the bytes are not in its wire format. */
const NOT_OUR_FORMAT = new Set(['ConfluentSchemaRegistryArgumentError']);

/**
 * The registry's client reports a network failure as a response of status 400 (mappersmith's
 * client error, its message the socket's); the registry itself never answers 400 to a schema
 * read. 5xx, 429 and refused credentials are the registry's trouble too.
 */
const REGISTRY_TROUBLE = (status: number) =>
  status >= 500 || status === 429 || status === 401 || status === 403 || status === 400;

const NETWORK =
  /ECONNREFUSED|ECONNRESET|ECONNABORTED|ETIMEDOUT|EHOSTUNREACH|EHOSTDOWN|ENETUNREACH|ENETDOWN|ENOTFOUND|EPIPE|EAI_AGAIN|fetch failed|socket hang up|Timeout \(/i;

/** The error, its causes and aggregated errors, outermost first (bounded: causes may cycle). */
function chain(err: unknown): unknown[] {
  const seen: unknown[] = [];
  const queue = [err];
  while (queue.length > 0 && seen.length < 16) {
    const e = queue.shift();
    if (e === undefined || e === null || seen.includes(e)) continue;
    seen.push(e);
    if (typeof e !== 'object') continue;
    if ('cause' in e) queue.push(e.cause);
    if ('errors' in e && Array.isArray(e.errors)) queue.push(...(e.errors as unknown[]));
  }
  return seen;
}

const prop = (e: unknown, key: string): unknown =>
  typeof e === 'object' && e !== null && key in e ? (e as Record<string, unknown>)[key] : undefined;

/** The Kafka error type (`MESSAGE_TOO_LARGE`, …) anywhere in the error's chain, if any. */
export function kafkaErrorType(err: unknown): string | undefined {
  for (const e of chain(err)) {
    const type = prop(e, 'type');
    if (typeof type === 'string') return protocolType(type);
  }
  return undefined;
}

/** The schema registry could not be reached, or answered 5xx, 429 or refused us: its trouble. */
export function registryUnreachable(err: unknown): boolean {
  for (const e of chain(err)) {
    const status = prop(e, 'status');
    if (
      prop(e, 'name') === 'ResponseError' &&
      typeof status === 'number' &&
      REGISTRY_TROUBLE(status)
    )
      return true;
    const code = prop(e, 'code');
    const message = prop(e, 'message');
    if (typeof code === 'string' && NETWORK.test(code)) return true;
    if (typeof message === 'string' && NETWORK.test(message)) return true;
  }
  return false;
}

/** See {@link ErrorClass}. */
export function classify(err: unknown): ErrorClass {
  const links = chain(err);
  for (const e of links) {
    if (e instanceof PoisonError) return 'deterministic';
    const raw = prop(e, 'type');
    const type = typeof raw === 'string' ? protocolType(raw) : undefined;
    if (typeof type === 'string' && FENCED_TYPES.has(type)) return 'fenced';
    if (typeof type === 'string' && RECORD_REFUSED.has(type)) return 'deterministic';
  }
  // only what the processing step threw can be the input's fault; Kafka's and the runner's own
  // errors are the infrastructure's, however they are shaped
  if (!(err instanceof ProcessingError)) return 'transient';
  for (const e of links) {
    if (e instanceof NotReadyError) return 'transient';
    const name = prop(e, 'name');
    if (typeof name === 'string' && name.startsWith('KafkaJS')) return 'transient';
    if (typeof name === 'string' && NOT_OUR_FORMAT.has(name)) return 'deterministic';
    // the registry answering 5xx, 429 or refusing our credentials: its trouble, not the input's
    const status = prop(e, 'status');
    if (name === 'ResponseError' && typeof status === 'number' && REGISTRY_TROUBLE(status))
      return 'transient';
    const code = prop(e, 'code');
    const message = prop(e, 'message');
    if (typeof code === 'string' && NETWORK.test(code)) return 'transient';
    if (typeof message === 'string' && NETWORK.test(message)) return 'transient';
  }
  return 'unknown';
}

/** The dead letter's code and message for an error classified deterministic or unknown. */
export function failureOf(err: unknown, kind: ErrorClass): { code: string; message: string } {
  const poison = chain(err).find((e): e is PoisonError => e instanceof PoisonError);
  if (poison) return { code: poison.code, message: poison.message };
  const type = kafkaErrorType(err);
  const message =
    err instanceof ProcessingError || !(err instanceof Error)
      ? String(prop(err, 'message') ?? err)
      : err.message;
  if (kind === 'deterministic' && type) return { code: type, message };
  if (kind === 'deterministic') return { code: 'UNDECODABLE', message };
  return { code: 'PROCESSING_FAILED', message };
}
