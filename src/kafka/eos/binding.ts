/**
 * What the librdkafka engine needs of @confluentinc/kafka-javascript beyond its KafkaJS API, and
 * the small conversions between the two shapes: kept here so that the client's types stay in
 * src/kafka/eos/.
 */
import { KafkaJS } from '@confluentinc/kafka-javascript';
import type { Logger } from '../../lib/logger.js';
import type { ExactlyOnceOptions, TopicRecords } from '../exactly-once.js';
import type { InputOffset } from './transactions.js';

type Producer = KafkaJS.Producer;

/** What {@link TransactionGroup} uses of the client's binding: produce without a promise each. */
export interface RawProducer {
  produce(
    topic: string,
    partition: number,
    value: Buffer | null,
    key: Buffer | string | null,
    timestamp: number,
    opaque: { resolve(): void; reject(err: unknown): void },
    headers: Record<string, Buffer | string>[] | null,
  ): unknown;
}

/**
 * The producer's binding: its KafkaJS `send` awaits a promise per record, which costs more than
 * the record's processing; commit_transaction flushes and fails if any record failed anyway.
 */
export function internalClient(producer: Producer): RawProducer {
  return (producer as unknown as { _getInternalClient(): RawProducer })._getInternalClient();
}

export function asBuffer(value: Buffer | string | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? Buffer.from(value) : value;
}

/** kafkajs-shaped headers as the binding takes them: one `{ name: value }` per value. */
export function rdkafkaHeaders(
  headers: TopicRecords['messages'][number]['headers'],
): Record<string, Buffer | string>[] | null {
  if (!headers) return null;
  const list: Record<string, Buffer | string>[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) list.push({ [name]: v });
  }
  return list;
}

export function mergeOffsets(
  lists: readonly (readonly InputOffset[])[],
): { topic: string; partitions: { partition: number; offset: string }[] }[] {
  const byTopic = new Map<string, Map<number, string>>();
  for (const list of lists)
    for (const { topic, partition, offset } of list) {
      const partitions = byTopic.get(topic) ?? new Map<number, string>();
      const known = partitions.get(partition);
      if (known === undefined || BigInt(offset) > BigInt(known)) partitions.set(partition, offset);
      byTopic.set(topic, partitions);
    }
  return [...byTopic].map(([topic, partitions]) => ({
    topic,
    partitions: [...partitions].map(([partition, offset]) => ({ partition, offset })),
  }));
}

const flag = (err: unknown, key: 'retriable' | 'abortable' | 'fatal'): boolean =>
  typeof err === 'object' &&
  err !== null &&
  key in err &&
  (err as Record<string, unknown>)[key] === true;

export function isRetriable(err: unknown): boolean {
  return flag(err, 'retriable') && !flag(err, 'fatal');
}

/**
 * librdkafka flags a commit error that left the transaction unwritten as abortable; any other
 * (fatal, or retriable past our retries) may have reached the coordinator's EndTxn.
 */
export function isAbortable(err: unknown): boolean {
  return flag(err, 'abortable') && !flag(err, 'fatal');
}

/** A committed offset, if there is one (the client answers null or -1001 when none). */
export function offsetOf(value: unknown): bigint | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const offset = BigInt(value);
  return offset >= 0n ? offset : undefined;
}

export function countByTopic(records: readonly TopicRecords[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { topic, messages } of records) counts[topic] = (counts[topic] ?? 0) + messages.length;
  return counts;
}

/** The client's logs, routed into pino (warnings and errors only). */
export function librdkafkaLogger(logger: Logger): KafkaJS.Logger {
  const log = logger.child({ component: 'kafka' });
  const self: KafkaJS.Logger = {
    info: (message, extra) => {
      log.debug(extra ?? {}, message);
    },
    error: (message, extra) => {
      log.error(extra ?? {}, message);
    },
    warn: (message, extra) => {
      log.warn(extra ?? {}, message);
    },
    debug: () => undefined,
    namespace: () => self,
    setLogLevel: () => undefined,
  };
  return self;
}

/**
 * The consumer of an engine instance: read_committed (offsets read stable), no auto-commit (the
 * transactions commit), the range assignor (equal partition counts are co-partitioned: partition
 * p of every input to one member), batches of at most a transaction's records.
 */
export function consumerConfig(
  options: Pick<ExactlyOnceOptions, 'groupId' | 'sessionTimeoutMs' | 'maxRecordsPerTransaction'>,
  onRebalance: (
    code: number,
    assignment: { topic: string; partition: number }[],
    lost: boolean,
  ) => Promise<unknown>,
): KafkaJS.ConsumerConstructorConfig {
  return {
    kafkaJS: {
      groupId: options.groupId,
      fromBeginning: true,
      autoCommit: false,
      readUncommitted: false,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      rebalanceTimeout: 60_000,
      partitionAssigners: [KafkaJS.PartitionAssigners.range],
    },
    'js.consumer.max.batch.size': options.maxRecordsPerTransaction ?? 2000,
    // librdkafka prefetches up to this per partition (default 64 MB: an RSS of 1 GB measured)
    'queued.max.messages.kbytes': 16_384,
    rebalance_cb: (
      err: { code: number },
      assignment: { topic: string; partition: number }[],
      fns: { assignmentLost(): boolean },
    ) => onRebalance(err.code, assignment, fns.assignmentLost()),
  };
}

/**
 * An error the binding threw (a bare librdkafka error with a numeric code) as the client's KafkaJS
 * layer names it (`type` from the code), so that src/kafka/errors.ts can classify it.
 */
export function asKafkaError(err: unknown): unknown {
  if (typeof err !== 'object' || err === null) return err;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code !== 'number' || 'type' in err) return err;
  return new KafkaJS.KafkaJSError(typeof message === 'string' ? message : String(code), { code });
}

/**
 * The group's committed offsets of `assignment`, through the consumer (not the admin client: its
 * OffsetFetch to the coordinator trips librdkafka#4605 when it times out during an outage).
 */
export async function committedOffsets(
  consumer: KafkaJS.Consumer,
  assignment: Readonly<Record<string, readonly number[]>>,
): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]> {
  const wanted = Object.entries(assignment).flatMap(([topic, partitions]) =>
    partitions.map((partition) => ({ topic, partition })),
  );
  if (wanted.length === 0) return [];
  const byTopic = new Map<string, { partition: number; offset: string }[]>();
  for (const c of await consumer.committed(wanted)) {
    const list = byTopic.get(c.topic) ?? [];
    list.push({ partition: c.partition, offset: String(offsetOf(c.offset) ?? -1n) });
    byTopic.set(c.topic, list);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

/**
 * Whether the group's committed offset of the partition reached `next` — read stable (librdkafka
 * under read_committed waits out a pending transactional commit): the outcome of a commit that
 * failed without saying. Retried for about 5 s while the coordinator does not answer.
 */
export async function hasCommitted(
  consumer: KafkaJS.Consumer,
  topic: string,
  partition: number,
  next: string,
  stopped: () => boolean,
): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      const [committed] = await consumer.committed([{ topic, partition }]);
      const at = offsetOf(committed?.offset);
      return at !== undefined && at >= BigInt(next);
    } catch (err) {
      if (attempt >= 20 || stopped()) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
