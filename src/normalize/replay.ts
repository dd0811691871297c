import type { Batch, IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { headerText, originalHeaders } from './dlq.js';
import { HEADER } from '../contract/headers.js';

const IDLE_MS = 3000;

export interface ReplayFilter {
  /** Only records whose `ob-error-code` is one of these. */
  readonly codes?: readonly string[] | undefined;
  /** Only records dead-lettered at or after / before these times (the DLQ record's timestamp). */
  readonly since?: number | undefined;
  readonly until?: number | undefined;
}

/** A dead letter's `ob-error-code` (`UNKNOWN` when absent) and whether `filter` keeps it. */
export function matchDeadLetter(
  message: Pick<KafkaMessage, 'headers' | 'timestamp'>,
  filter: ReplayFilter,
): { code: string; matches: boolean } {
  const code = headerText(message.headers, HEADER.errorCode) ?? 'UNKNOWN';
  const at = Number(message.timestamp);
  const { codes, since, until } = filter;
  const matches =
    !(codes?.length && !codes.includes(code)) &&
    !(since !== undefined && at < since) &&
    !(until !== undefined && at >= until);
  return { code, matches };
}

export interface ReplayResult {
  readonly scanned: number;
  readonly replayed: number;
  readonly byCode: Record<string, number>;
}

/** A dead letter to republish: its original record, to the topic it came from. */
interface Replay {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

/** What a replay's batches share: the DLQ partitions not read to their end yet, and the counts. */
interface Scan {
  /** The end offset of each DLQ partition at the time of the call, until it is reached. */
  readonly remaining: Map<number, bigint>;
  readonly byCode: Record<string, number>;
  scanned: number;
  replayed: number;
}

/**
 * Re-drives dead-lettered records: reads the DLQ from its start to its end at the time of the
 * call (read_committed), and republishes each matching record — original key, bytes and headers,
 * plus `ob-replayed-from` — to the topic it came from (`ob-origin-topic`). The normalizer then maps
 * it again; a record replayed twice maps to the same event ids.
 */
export async function replayDlq(
  kafka: Kafka,
  options: { dlqTopic: string; filter: ReplayFilter; dryRun?: boolean; groupId: string },
): Promise<ReplayResult> {
  const remaining = await dlqEnds(kafka, options.dlqTopic);
  const scan: Scan = { remaining, byCode: {}, scanned: 0, replayed: 0 };
  if (remaining.size === 0)
    return { scanned: scan.scanned, replayed: scan.replayed, byCode: scan.byCode };

  const producer = kafka.producer({
    idempotent: true,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const consumer = kafka.consumer({ groupId: options.groupId, readUncommitted: false });
  await producer.connect();
  await consumer.connect();
  let watchdog: NodeJS.Timeout | undefined;
  try {
    await consumer.subscribe({ topic: options.dlqTopic, fromBeginning: true });
    // A transactional partition ends with a commit marker, which kafkajs never hands to
    // eachBatch: besides reaching the end offsets, the scan is over once the consumer has
    // joined and then had nothing more to read for a while.
    let joined = false;
    let lastActivity = Date.now();
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joined = true;
      lastActivity = Date.now();
    });
    await new Promise<void>((resolve, reject) => {
      watchdog = setInterval(() => {
        if (joined && Date.now() - lastActivity > IDLE_MS) resolve();
      }, 200);
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            lastActivity = Date.now();
            const out = lettersToReplay(batch, scan, options.filter);
            if (!options.dryRun && out.length > 0) await republish(producer, out);
            scan.replayed += out.length;
            const end = remaining.get(batch.partition);
            if (end !== undefined && BigInt(batch.lastOffset()) + 1n >= end)
              remaining.delete(batch.partition);
            if (remaining.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    clearInterval(watchdog);
    await consumer.disconnect();
    await producer.disconnect();
  }
  return {
    scanned: scan.scanned,
    replayed: options.dryRun ? 0 : scan.replayed,
    byCode: scan.byCode,
  };
}

/** The end offset of each DLQ partition that holds records. */
async function dlqEnds(kafka: Kafka, dlqTopic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(dlqTopic);
  await admin.disconnect();
  return new Map(
    ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]),
  );
}

/** The batch's letters below their partition's end that match `filter` and can be replayed. */
function lettersToReplay(batch: Batch, scan: Scan, filter: ReplayFilter): Replay[] {
  const out: Replay[] = [];
  for (const m of batch.messages) {
    const end = scan.remaining.get(batch.partition);
    if (end === undefined || BigInt(m.offset) >= end) continue;
    scan.scanned += 1;
    const { code, matches } = matchDeadLetter(m, filter);
    if (!matches) continue;
    const topic = headerText(m.headers, HEADER.originTopic);
    // a letter written without its value (too large) has nothing to replay
    if (!topic || headerText(m.headers, HEADER.valueOmitted) !== undefined) continue;
    scan.byCode[code] = (scan.byCode[code] ?? 0) + 1;
    out.push({
      topic,
      key: m.key,
      value: m.value,
      headers: {
        ...originalHeaders(m.headers),
        [HEADER.replayedFrom]: `${batch.topic}/${batch.partition}/${m.offset}`,
      },
    });
  }
  return out;
}

/** Sends the letters to their origin topics in one request. */
async function republish(producer: Producer, out: readonly Replay[]): Promise<void> {
  const byTopic = new Map<string, Replay[]>();
  for (const r of out) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r]);
  await producer.sendBatch({
    acks: -1,
    topicMessages: [...byTopic].map(([topic, messages]) => ({
      topic,
      messages: messages.map(({ key, value, headers }) => ({ key, value, headers })),
    })),
  });
}
