import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import { LIMITS, recordSize } from '../contract/limits.js';
import { HEADER } from '../contract/headers.js';

/** Headers the DLQ adds to a raw record (asyncapi.yaml, src/contract/headers.ts). */
export const DLQ_HEADERS = [
  HEADER.errorCode,
  HEADER.errorMessage,
  HEADER.originTopic,
  HEADER.originPartition,
  HEADER.originOffset,
] as const;

/** The dead-letter record: the input's key, bytes and headers, plus why and where it came from. */
export function deadLetter(
  input: KafkaMessage,
  origin: { topic: string; partition: number },
  error: { code: string; message: string },
  maxBytes: number = LIMITS.deadLetterBytes,
): Message {
  const letter: Message = {
    key: input.key,
    value: input.value,
    headers: {
      ...input.headers,
      [HEADER.errorCode]: error.code,
      [HEADER.errorMessage]: error.message.slice(0, 1000),
      [HEADER.originTopic]: origin.topic,
      [HEADER.originPartition]: String(origin.partition),
      [HEADER.originOffset]: input.offset,
    },
  };
  // a dead letter must always be writable, or its partition would stop behind it: the value
  // stays at its origin (topic, partition, offset), for as long as that topic keeps it
  if (recordSize(letter) <= maxBytes) return letter;
  return {
    ...letter,
    value: null,
    headers: { ...letter.headers, [HEADER.valueOmitted]: String(input.value?.length ?? 0) },
  };
}

export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/** The record's original headers, without what the DLQ added (for replay). */
export function originalHeaders(headers: IHeaders | undefined): IHeaders {
  const out: IHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (
      value !== undefined &&
      name !== HEADER.valueOmitted &&
      !(DLQ_HEADERS as readonly string[]).includes(name)
    )
      out[name] = value;
  }
  return out;
}
