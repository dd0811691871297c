import { randomUUID } from 'node:crypto';
import type { IHeaders, Kafka } from 'kafkajs';

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
/** Silence after which a restore takes the end to have been compacted away. */
const QUIET_END_MS = 15_000;

export async function restoreChangelogs(
  kafka: Kafka,
  topics: readonly string[],
  partitions: ReadonlySet<number>,
  apply: (
    topic: string,
    partition: number,
    key: string,
    value: Buffer | null,
    headers: IHeaders | undefined,
  ) => void,
): Promise<{ records: number }> {
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
  let records = 0;
  if (remaining.size === 0) return { records };

  const groupId = `refreshbus-restore-${randomUUID()}`;
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    // 1 MiB, not more: larger fetch responses left the allocator holding more after the restore
    // (RSS 246 → 195 MB at 100k customers with 4 → 1 MiB, bench:process --quick)
    maxBytesPerPartition: 1024 * 1024,
    // at the end of a partition a fetch waits this long for more: kafkajs's default (5 s) made
    // every restore take at least that long
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  let watchdog: NodeJS.Timeout | undefined;
  try {
    for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
    let joined = false;
    let lastActivity = Date.now();
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      joined = true;
      lastActivity = Date.now();
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
      lastActivity = Date.now();
      const id = `${event.payload.topic}:${event.payload.partition}`;
      const end = remaining.get(id);
      if (end !== undefined && BigInt(event.payload.lastOffset) + 1n >= end) remaining.delete(id);
    });
    await new Promise<void>((resolve, reject) => {
      // every offset up to the end is reported (records to eachBatch, markers and aborted
      // records as batch events); only records compacted away at the very end of a partition are
      // not, so a long silence after the join also ends the restore. Short silences are normal
      // on a loaded machine and must not end it early: that would lose state.
      watchdog = setInterval(() => {
        if (remaining.size === 0 || (joined && Date.now() - lastActivity > QUIET_END_MS)) resolve();
      }, 50);
      consumer
        .run({
          autoCommit: false,
          eachBatch: ({ batch }) => {
            lastActivity = Date.now();
            const id = `${batch.topic}:${batch.partition}`;
            const end = remaining.get(id);
            if (end === undefined) return Promise.resolve();
            for (const m of batch.messages) {
              if (BigInt(m.offset) >= end) break;
              if (m.key) apply(batch.topic, batch.partition, m.key.toString(), m.value, m.headers);
              records += 1;
            }
            if (BigInt(batch.lastOffset()) + 1n >= end) remaining.delete(id);
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    clearInterval(watchdog);
    await consumer.disconnect();
    const cleanup = kafka.admin();
    await cleanup.connect();
    await cleanup.deleteGroups([groupId]).catch(() => undefined);
    await cleanup.disconnect();
  }
  return { records };
}
