import type { PartitionLag } from './exactly-once.js';

/** A group's committed offsets of `topics`, by partition (`-1`, or none, when nothing is). */
export type CommittedOffsets = (
  topics: string[],
) => Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;

/** What reading lag needs of an admin client: end offsets (ListOffsets, any broker). */
export interface EndOffsetsAdmin {
  fetchTopicOffsets(topic: string): Promise<{ partition: number; high: string; low: string }[]>;
}

/**
 * Lag of the partitions assigned to a member: end offset minus the group's committed offset (the
 * start of the partition when nothing is committed). With transactions the end includes the last
 * commit marker, so a caught-up partition shows a lag of 1 — as Kafka's own kafka-consumer-groups
 * tool does. The committed offsets come from `committedOf`: the kafkajs engine asks its admin
 * (OffsetFetch); the librdkafka engine its consumer, never an admin request to the coordinator
 * (one that times out while the broker is down aborts the process: docs/kafka-engine.md).
 */
export async function assignedLag(
  admin: EndOffsetsAdmin,
  committedOf: CommittedOffsets,
  assignment: Readonly<Record<string, readonly number[]>>,
): Promise<PartitionLag[]> {
  const lags: PartitionLag[] = [];
  const topics = Object.keys(assignment);
  if (topics.length === 0) return lags;
  const committed = await committedOf(topics);
  for (const topic of topics) {
    const assigned = new Set(assignment[topic]);
    const done = committed.find((c) => c.topic === topic)?.partitions ?? [];
    for (const end of await admin.fetchTopicOffsets(topic)) {
      if (!assigned.has(end.partition)) continue;
      const at = done.find((d) => d.partition === end.partition)?.offset ?? '-1';
      const from = BigInt(at) < 0n ? BigInt(end.low) : BigInt(at);
      const lag = BigInt(end.high) - from;
      lags.push({ topic, partition: end.partition, lag: Number(lag < 0n ? 0n : lag) });
    }
  }
  return lags;
}
