import type { IHeaders, Kafka, KafkaMessage } from 'kafkajs';
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
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(options.dlqTopic);
  await admin.disconnect();
  const remaining = new Map(
    ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]),
  );
  const byCode: Record<string, number> = {};
  let scanned = 0;
  let replayed = 0;
  if (remaining.size === 0) return { scanned, replayed, byCode };

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
            const out: {
              topic: string;
              key: Buffer | null;
              value: Buffer | null;
              headers: IHeaders;
            }[] = [];
            for (const m of batch.messages) {
              const end = remaining.get(batch.partition);
              if (end === undefined || BigInt(m.offset) >= end) continue;
              scanned += 1;
              const { code, matches } = matchDeadLetter(m, options.filter);
              if (!matches) continue;
              const topic = headerText(m.headers, HEADER.originTopic);
              // a letter written without its value (too large) has nothing to replay
              if (!topic || headerText(m.headers, HEADER.valueOmitted) !== undefined) continue;
              byCode[code] = (byCode[code] ?? 0) + 1;
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
            if (!options.dryRun && out.length > 0) {
              const byTopic = new Map<string, typeof out>();
              for (const r of out) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r]);
              await producer.sendBatch({
                acks: -1,
                topicMessages: [...byTopic].map(([topic, messages]) => ({
                  topic,
                  messages: messages.map(({ key, value, headers }) => ({ key, value, headers })),
                })),
              });
            }
            replayed += out.length;
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
  return { scanned, replayed: options.dryRun ? 0 : replayed, byCode };
}
