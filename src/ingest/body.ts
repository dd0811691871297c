import { z } from 'zod';
import { LIMITS } from '../contract/limits.js';
import { HttpError } from './errors.js';

/** An id or name a client sends (customer, provider, task, connection): within the contract's limit. */
export const idText = z.string().min(1).max(LIMITS.idLength);

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** A request body as JSON; not UTF-8 or not JSON is the client's error (400 INVALID_JSON). */
export function parseJson(raw: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new HttpError('INVALID_JSON', 'body is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError('INVALID_JSON', 'body is not valid JSON');
  }
}
