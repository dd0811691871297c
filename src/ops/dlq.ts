import type { KafkaMessage } from 'kafkajs';
import { headerText } from '../normalize/dlq.js';
import { utf8Text } from './records.js';
import { HEADER } from '../contract/headers.js';

/** One dead letter as `dlq list` prints it: why and where from, never the body. */
export interface DeadLetterLine {
  readonly partition: number;
  readonly offset: string;
  /** When it was dead-lettered (the DLQ record's timestamp). */
  readonly timestamp: string;
  readonly code: string;
  readonly message: string | null;
  readonly origin: {
    readonly topic: string | null;
    readonly partition: number | null;
    readonly offset: string | null;
  };
  readonly key: string | null;
  readonly source?: string;
  readonly ingestId?: string;
  /** Set when this record is itself a replay that failed again. */
  readonly replayedFrom?: string;
  readonly bodyBytes: number;
}

/** The DLQ headers of a record (`ob-error-*`, `ob-origin-*`, src/normalize/dlq.ts) as one line. */
export function deadLetterLine(
  partition: number,
  message: KafkaMessage,
  code: string,
): DeadLetterLine {
  const h = (name: string) => headerText(message.headers, name);
  const originPartition = Number(h(HEADER.originPartition));
  const ms = Number(message.timestamp);
  const optional = (name: keyof DeadLetterLine, header: string) => {
    const v = h(header);
    return v === undefined ? {} : { [name]: v };
  };
  return {
    partition,
    offset: message.offset,
    timestamp: Number.isFinite(ms) ? new Date(ms).toISOString() : message.timestamp,
    code,
    message: h(HEADER.errorMessage) ?? null,
    origin: {
      topic: h(HEADER.originTopic) ?? null,
      partition:
        Number.isInteger(originPartition) && h(HEADER.originPartition) !== undefined
          ? originPartition
          : null,
      offset: h(HEADER.originOffset) ?? null,
    },
    key: message.key === null ? null : (utf8Text(message.key) ?? message.key.toString('base64')),
    ...optional('source', HEADER.source),
    ...optional('ingestId', HEADER.ingestId),
    ...optional('replayedFrom', HEADER.replayedFrom),
    bodyBytes: message.value?.length ?? 0,
  };
}

/** `3 dead letters listed (of 5 in openbanking.refresh.dlq): INVALID_JSON 2, UNKNOWN_SOURCE 1`. */
export function dlqSummary(
  topic: string,
  listed: number,
  scanned: number,
  byCode: Readonly<Record<string, number>>,
): string {
  const codes = Object.entries(byCode)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const noun = listed === 1 ? 'dead letter' : 'dead letters';
  return `${listed} ${noun} listed (of ${scanned} read from ${topic})${codes ? `: ${codes}` : ''}`;
}
