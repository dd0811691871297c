import { randomUUID } from 'node:crypto';
import type { Batch, Consumer, IHeaders, Kafka } from 'kafkajs';

/** Silence after which a restore takes the end to have been compacted away. */
const QUIET_END_MS = 15_000;

/** Called for each record restored, in order; a null value is a deletion. */
type Apply = (
  topic: string,
  partition: number,
  key: string,
  value: Buffer | null,
  headers: IHeaders | undefined,
) => void;

/** What a restore's watchdog, its group events and its batches share. */
interface Progress {
  /** The end offset of each wanted partition (by `topic:partition`) not read to it yet. */
  readonly remaining: Map<string, bigint>;
  joined: boolean;
  lastActivity: number;
  records: number;
}

/**
 * Reads the given partitions of compacted changelog topics from their start to their end
 * (read_committed) and calls `apply(topic, partition, key, value, headers)` for each record in
 * order; a null value is a deletion. Call it after the partition's transactional producer is initialised,
 * so no transaction of a previous owner is left open to hide the end of the log.
 *
 * kafkajs cannot assign partitions by hand, so a throwaway consumer group subscribes to the topics,
 * pauses every partition but the wanted ones as soon as it joins (before its first fetch), and is
 * deleted afterwards.
 */
export async function restoreChangelogs(
  kafka: Kafka,
  topics: readonly string[],
  partitions: ReadonlySet<number>,
  apply: Apply,
): Promise<{ records: number }> {
  const remaining = await endOffsets(kafka, topics, partitions);
  if (remaining.size === 0) return { records: 0 };

  const groupId = `refreshbus-restore-${randomUUID()}`;
  const consumer = restoreConsumer(kafka, groupId);
  await consumer.connect();
  const progress: Progress = { remaining, joined: false, lastActivity: Date.now(), records: 0 };
  let watchdog: NodeJS.Timeout | undefined;
  try {
    for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
    followGroup(consumer, progress);
    await new Promise<void>((resolve, reject) => {
      // every offset up to the end is reported (records to eachBatch, markers and aborted
      // records as batch events); only records compacted away at the very end of a partition are
      // not, so a long silence after the join also ends the restore. Short silences are normal
      // on a loaded machine and must not end it early: that would lose state.
      watchdog = setInterval(() => {
        if (
          remaining.size === 0 ||
          (progress.joined && Date.now() - progress.lastActivity > QUIET_END_MS)
        )
          resolve();
      }, 50);
      consumer
        .run({
          autoCommit: false,
          eachBatch: ({ batch }) => {
            applyBatch(batch, progress, apply);
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    clearInterval(watchdog);
    await consumer.disconnect();
    await deleteGroup(kafka, groupId);
  }
  return { records: progress.records };
}

/** The end offset of each wanted partition that holds records, by `topic:partition`. */
async function endOffsets(
  kafka: Kafka,
  topics: readonly string[],
  partitions: ReadonlySet<number>,
): Promise<Map<string, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  const remaining = new Map<string, bigint>();
  try {
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        if (partitions.has(p.partition) && BigInt(p.high) > BigInt(p.low))
          remaining.set(`${topic}:${p.partition}`, BigInt(p.high));
      }
    }
  } finally {
    await admin.disconnect();
  }
  return remaining;
}

/** The throwaway group's consumer. */
function restoreConsumer(kafka: Kafka, groupId: string): Consumer {
  return kafka.consumer({
    groupId,
    readUncommitted: false,
    // 1 MiB, not more: larger fetch responses left the allocator holding more after the restore
    // (RSS 246 → 195 MB at 100k customers with 4 → 1 MiB, bench:process --quick)
    maxBytesPerPartition: 1024 * 1024,
    // at the end of a partition a fetch waits this long for more: kafkajs's default (5 s) made
    // every restore take at least that long
    maxWaitTimeInMs: 100,
  });
}

/** Pauses the unwanted partitions at the join, and notes partitions read to their end. */
function followGroup(consumer: Consumer, progress: Progress): void {
  const { remaining } = progress;
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    progress.joined = true;
    progress.lastActivity = Date.now();
    // the only member gets every partition: read just the wanted ones
    const others = Object.entries(event.payload.memberAssignment)
      .map(([topic, assigned]) => ({
        topic,
        partitions: assigned.filter((p) => !remaining.has(`${topic}:${p}`)),
      }))
      .filter((t) => t.partitions.length > 0);
    if (others.length > 0) consumer.pause(others);
  });
  // a fetch holding only the final commit marker never reaches eachBatch, but is reported here
  consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
    progress.lastActivity = Date.now();
    const id = `${event.payload.topic}:${event.payload.partition}`;
    const end = remaining.get(id);
    if (end !== undefined && BigInt(event.payload.lastOffset) + 1n >= end) remaining.delete(id);
  });
}

/** Applies a batch's records below its partition's end. */
function applyBatch(batch: Batch, progress: Progress, apply: Apply): void {
  progress.lastActivity = Date.now();
  const id = `${batch.topic}:${batch.partition}`;
  const end = progress.remaining.get(id);
  if (end === undefined) return;
  for (const m of batch.messages) {
    if (BigInt(m.offset) >= end) break;
    if (m.key) apply(batch.topic, batch.partition, m.key.toString(), m.value, m.headers);
    progress.records += 1;
  }
  if (BigInt(batch.lastOffset()) + 1n >= end) progress.remaining.delete(id);
}

/** Deletes the throwaway group (best effort). */
async function deleteGroup(kafka: Kafka, groupId: string): Promise<void> {
  const cleanup = kafka.admin();
  await cleanup.connect();
  await cleanup.deleteGroups([groupId]).catch(() => undefined);
  await cleanup.disconnect();
}
