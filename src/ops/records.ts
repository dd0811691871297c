import type { IHeaders, KafkaMessage } from 'kafkajs';
import { messageOf } from './errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes as UTF-8 text, or undefined when they are not valid UTF-8. */
export function utf8Text(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The Confluent wire format: magic byte 0, then the schema id (4 bytes, big-endian), then Avro. */
export function confluentSchemaId(value: Buffer | null): number | undefined {
  if (!value || value.length < 5 || value[0] !== 0) return undefined;
  return value.readInt32BE(1);
}

/** A decoded Avro value made JSON-safe: bytes as base64, bigints as strings. */
export function jsonSafe(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = jsonSafe(v);
    return out;
  }
  return value;
}

/** Header values as text (`{ base64 }` for bytes that are not UTF-8); arrays keep every value. */
export function headersJson(headers: IHeaders | undefined): Record<string, unknown> | undefined {
  const entries = Object.entries(headers ?? {}).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return undefined;
  const one = (v: Buffer | string): unknown => {
    if (typeof v === 'string') return v;
    const text = utf8Text(v);
    return text ?? { base64: v.toString('base64') };
  };
  return Object.fromEntries(
    entries.map(([name, v]) => [name, Array.isArray(v) ? v.map(one) : one(v as Buffer | string)]),
  );
}

/** One record as `tail` prints it. */
export interface RecordLine {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: string;
  readonly key: string | null;
  readonly keyEncoding?: 'base64';
  readonly headers?: Record<string, unknown>;
  /** The Avro record as JSON; else the bytes as UTF-8 text (base64 when not UTF-8); null for a tombstone. */
  readonly value: unknown;
  readonly valueEncoding?: 'base64';
  /** Set for Avro values in the Confluent wire format. */
  readonly schemaId?: number;
  /** Why an Avro-looking value could not be decoded (then shown as base64). */
  readonly decodeError?: string;
}

function isoTime(timestamp: string): string {
  const ms = Number(timestamp);
  return Number.isFinite(ms) && ms >= 0 ? new Date(ms).toISOString() : timestamp;
}

/**
 * A record as one JSON-ready object: Avro values (magic byte + schema id) decoded with `decode`
 * (by their schema id), other values as UTF-8 text or base64.
 */
export async function recordLine(
  topic: string,
  partition: number,
  message: KafkaMessage,
  decode: (value: Buffer) => Promise<unknown>,
): Promise<RecordLine> {
  const keyText = message.key === null ? undefined : utf8Text(message.key);
  const key =
    message.key === null
      ? { key: null }
      : keyText !== undefined
        ? { key: keyText }
        : { key: message.key.toString('base64'), keyEncoding: 'base64' as const };
  const headers = headersJson(message.headers);
  const base = {
    topic,
    partition,
    offset: message.offset,
    timestamp: isoTime(message.timestamp),
    ...key,
    ...(headers ? { headers } : {}),
  };
  const value = message.value;
  if (value === null) return { ...base, value: null };
  const schemaId = confluentSchemaId(value);
  if (schemaId !== undefined) {
    try {
      return { ...base, schemaId, value: jsonSafe(await decode(value)) };
    } catch (err) {
      return {
        ...base,
        schemaId,
        value: value.toString('base64'),
        valueEncoding: 'base64',
        decodeError: messageOf(err),
      };
    }
  }
  const text = utf8Text(value);
  return text !== undefined
    ? { ...base, value: text }
    : { ...base, value: value.toString('base64'), valueEncoding: 'base64' };
}
