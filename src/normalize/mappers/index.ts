import { LIMITS, cutText } from '../../contract/limits.js';
import type { ConnectionDirectory, MapResult, RawWebhook, RefreshEvent } from '../types.js';
import { EMPTY_DIRECTORY } from '../types.js';
import { mapBud } from './bud.js';
import { lookup, reject } from './common.js';
import { mapPlaid } from './plaid.js';
import { mapYodlee } from './yodlee.js';

/** By `ob-source`. Bud and Yodlee name the customer; Plaid's Item is looked up in the directory. */
const mappers: Record<
  string,
  (raw: RawWebhook, body: unknown, directory: ConnectionDirectory) => MapResult
> = {
  bud: mapBud,
  yodlee: mapYodlee,
  plaid: mapPlaid,
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Maps one raw webhook to canonical events, or says why it is poison. Pure: no I/O, no clock.
 * `directory` says which customer a connection belongs to where the body does not (Plaid Items);
 * without one, every sound Plaid refresh webhook is UNREGISTERED_CONNECTION.
 */
export function mapRawWebhook(
  raw: RawWebhook,
  directory: ConnectionDirectory = EMPTY_DIRECTORY,
): MapResult {
  const mapper = raw.source === undefined ? undefined : lookup(mappers, raw.source);
  if (!mapper)
    return reject(
      'UNKNOWN_SOURCE',
      `no mapper for ob-source ${JSON.stringify(raw.source ?? null)}`,
    );
  let body: unknown;
  try {
    body = JSON.parse(utf8.decode(raw.value));
  } catch {
    return reject('INVALID_JSON', 'the raw value is not UTF-8 JSON');
  }
  return withinLimits(mapper(raw, body, directory));
}

/** The event fields that hold an id or a name from the body. */
const ID_FIELDS = [
  'customer_id',
  'provider',
  'connection_id',
  'task_id',
  'parent_task_id',
  'result_code',
  'source_event',
] as const satisfies readonly (keyof RefreshEvent)[];

/**
 * Dead-letters a delivery that names an id longer, or fans out wider, than the contract allows
 * (an id cut short would name another customer or task); cuts free text to its limit. The
 * normalizer's records, and the processors' state and outputs built from them, stay bounded.
 */
function withinLimits(result: MapResult): MapResult {
  if (!result.ok) return result;
  const { events } = result;
  if (events.length > LIMITS.deliveryEvents)
    return reject(
      'LIMIT_EXCEEDED',
      `the delivery fans out to ${String(events.length)} events (sub-tasks or accounts); at most ${String(LIMITS.deliveryEvents)}`,
    );
  for (const event of events) {
    for (const name of ID_FIELDS) {
      const value = event[name];
      if (value !== null && value.length > LIMITS.idLength)
        return reject(
          'LIMIT_EXCEEDED',
          `${name} is ${String(value.length)} characters long; at most ${String(LIMITS.idLength)}`,
        );
    }
    if (event.reason !== null) event.reason = cutText(event.reason);
  }
  return result;
}
