import type { MapResult, RawWebhook } from '../types.js';
import { mapBud } from './bud.js';
import { lookup, reject } from './common.js';
import { mapYodlee } from './yodlee.js';

const mappers: Record<string, (raw: RawWebhook, body: unknown) => MapResult> = {
  bud: mapBud,
  yodlee: mapYodlee,
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Maps one raw webhook to canonical events, or says why it is poison. Pure: no I/O, no clock. */
export function mapRawWebhook(raw: RawWebhook): MapResult {
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
  return mapper(raw, body);
}
