/**
 * The transactional producers of the kafkajs exactly-once runner — a task's `StreamsProducer` in
 * Kafka Streams under exactly-once before KIP-447: one per input partition (or per `producerKey`),
 * each with its lock (one transaction at a time) and its fence, and the one transaction that
 * commits a chunk's outputs with its input offsets.
 */
import type { Message, Producer, Transaction } from 'kafkajs';
import { FENCED_TYPES, kafkaErrorType } from '../errors.js';
import { KeyHashPartitioner } from '../partitioner.js';
import type { ExactlyOnceOptions, InputChunk, TopicRecords } from './options.js';
import type { Membership, OffsetFloors } from './ownership.js';

/**
 * Splits records into produce requests of about `maxBytes` each: kafkajs sends one record batch
 * per partition per request, which must stay under the broker's message.max.bytes (1 MiB by
 * default) however much one input fans out.
 */
export function splitForProduce(
  records: readonly TopicRecords[],
  maxBytes = 768 * 1024,
): TopicRecords[][] {
  const requests: TopicRecords[][] = [];
  let current = new Map<string, Message[]>();
  let bytes = 0;
  const flush = () => {
    if (current.size > 0)
      requests.push([...current].map(([topic, messages]) => ({ topic, messages })));
    current = new Map();
    bytes = 0;
  };
  for (const { topic, messages } of records) {
    for (const m of messages) {
      const size =
        (m.value?.length ?? 0) +
        (typeof m.key === 'string' ? m.key.length : (m.key?.length ?? 0)) +
        64;
      if (bytes > 0 && bytes + size > maxBytes) flush();
      const list = current.get(topic) ?? [];
      list.push(m);
      current.set(topic, list);
      bytes += size;
    }
  }
  flush();
  return requests;
}

/**
 * A fenced producer is not re-created until the group assigns its partition to this member again:
 * a member that lost a partition without noticing yet (a zombie) would otherwise fence the new
 * owner with a fresh producer and commit on top of state it never saw.
 */
export class FencedError extends Error {
  readonly type = 'PRODUCER_FENCED';
  constructor(key: string) {
    super(`the producer for ${key} was fenced; waiting for the group to assign it again`);
    this.name = 'FencedError';
  }
}

/**
 * A commit whose outcome is unknown: EndTxn failed (a coordinator died, a request timed out), yet
 * the coordinator may have committed. kafkajs cannot abort a transaction it began committing, so
 * the producer is replaced: the next one's InitProducerId completes or aborts what was left open,
 * the group's committed offset then tells which (records below it are skipped), and state built
 * from this member's commits is read again (`onCommitUncertain`).
 */
export class CommitOutcomeUnknownError extends Error {
  readonly type = 'COMMIT_OUTCOME_UNKNOWN';
  constructor(key: string, cause: unknown) {
    super(`the commit of ${key}'s transaction failed and may have landed; re-reading first`, {
      cause,
    });
    this.name = 'CommitOutcomeUnknownError';
  }
}

/**
 * Initialises `producer`'s transactional id now, as the Java client's initTransactions() does.
 * kafkajs's connect asks for an idempotent producer id only; the transactional InitProducerId —
 * which fences the id's previous producer and completes or aborts the transaction it left open —
 * waited for the first transaction, after the committed offsets were read. A transaction left
 * open by a producer replaced after an unknown commit outcome then kept them unstable
 * (UNSTABLE_OFFSET_COMMIT) until the broker timed it out (60 s): the partition stalled for a
 * minute and rounds split (cluster-broker-loss). An empty transaction begun and aborted sends
 * InitProducerId and nothing else (kafkajs sends no EndTxn for it).
 */
async function initTransactions(producer: Producer): Promise<Producer> {
  const empty = await producer.transaction();
  await empty.abort();
  return producer;
}

/**
 * The producers serving input partitions, keyed by `producerKey` (`<topic>.<partition>` by
 * default); the transactional id of each is `<prefix>.<key>`.
 */
export class PartitionProducers {
  private readonly producers = new Map<string, Promise<Producer>>();
  /** Producer keys fenced since the last assignment that included them. */
  private readonly fenced = new Set<string>();
  /** One transaction at a time per producer: batches and timer transactions queue here. */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly options: ExactlyOnceOptions,
    private readonly membership: Membership,
    private readonly floors: OffsetFloors,
  ) {}

  /** Which producer serves `topic`/`partition` (see `producerKey`). */
  key(topic: string, partition: number): string {
    return this.options.producerKey?.(topic, partition) ?? `${topic}.${partition}`;
  }

  /** Runs `fn` once every earlier transaction of producer `key` has settled. */
  locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    this.locks.set(
      key,
      next.catch(() => undefined),
    );
    return next;
  }

  /** The group assigned `assignment` to this member (`rejoined`: as a new member). */
  reassign(assignment: Record<string, number[]>, rejoined: boolean): void {
    if (rejoined) {
      // producers of an earlier membership may be stale; the next use initialises afresh
      for (const key of [...this.producers.keys()]) void this.dropProducer(key);
    }
    // producers of partitions this member lost are closed; their new owner fences them anyway
    const assigned = new Set(
      Object.entries(assignment).flatMap(([topic, parts]) => parts.map((p) => this.key(topic, p))),
    );
    for (const key of [...this.producers.keys()]) {
      if (!assigned.has(key)) void this.dropProducer(key);
    }
    // assigned again by the group: this member may initialise (and so fence) afresh
    for (const key of assigned) this.fenced.delete(key);
  }

  /**
   * Another member owns `topic`/`partition` now: its producer is closed, and not re-created until
   * the group assigns the partition to this member again ({@link FencedError}).
   */
  async fence(topic: string, partition: number): Promise<void> {
    const key = this.key(topic, partition);
    const first = !this.fenced.has(key);
    this.fenced.add(key);
    await this.dropProducer(key);
    if (first) this.options.onFenced?.(topic, partition);
  }

  producerFor(key: string): Promise<Producer> {
    if (this.fenced.has(key)) return Promise.reject(new FencedError(key));
    let producer = this.producers.get(key);
    if (!producer) {
      const p = this.options.kafka.producer({
        transactionalId: `${this.options.transactionalIdPrefix}.${key}`,
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: this.options.transactionTimeoutMs ?? 60_000,
        // kafkajs's DefaultPartitioner's choice, without its per-message Long arithmetic
        createPartitioner: KeyHashPartitioner,
        // a transaction begun right after the previous commit meets CONCURRENT_TRANSACTIONS until
        // the broker has written the commit markers (milliseconds); kafkajs retries it after its
        // default 300 ms (tulios/kafkajs#304), which bounds a partition to ~3 transactions/s.
        // The Java client retries this after 20 ms (KAFKA-5477).
        retry: { initialRetryTime: 20, multiplier: 1.5, maxRetryTime: 2000, retries: 12 },
      });
      producer = p.connect().then(() => initTransactions(p));
      producer.catch(() => this.producers.delete(key));
      this.producers.set(key, producer);
      this.floors.clear(); // re-read: the new producer may have completed a pending commit
    }
    return producer;
  }

  private async dropProducer(key: string): Promise<void> {
    const producer = this.producers.get(key);
    this.producers.delete(key);
    await producer?.then((p) => p.disconnect()).catch(() => undefined);
  }

  /** Creates (and so initialises) the producer serving `topic`/`partition` now, in its turn. */
  async initProducer(topic: string, partition: number): Promise<void> {
    const key = this.key(topic, partition);
    await this.locked(key, () => this.producerFor(key));
  }

  /**
   * Writes `records` (and whatever `beforeCommit` adds, e.g. the input offsets) in one transaction
   * and commits it. A failure before the commit aborts it; a failed commit may have landed
   * (CommitOutcomeUnknownError), unless the producer was fenced.
   */
  async runTransaction(
    producer: Producer,
    key: string,
    topic: string,
    partition: number,
    records: readonly TopicRecords[],
    beforeCommit?: (txn: Transaction) => Promise<void>,
  ): Promise<void> {
    const txn = await producer.transaction();
    let sending = false;
    try {
      sending = true;
      for (const topicMessages of splitForProduce(records))
        await txn.sendBatch({ topicMessages, acks: -1 });
      sending = false;
      await beforeCommit?.(txn);
      this.membership.assertOwnership();
    } catch (err) {
      await this.abort(txn, key);
      // a produce request that failed for some of its partitions (MESSAGE_TOO_LARGE, or a
      // partition's errors outlasting kafkajs's retries) may have written the others, yet kafkajs
      // rewinds the sequence numbers of all: the next transaction's records to those partitions
      // would be taken as duplicates of the aborted ones and dropped (seen: a dead letter missing
      // from a committed transaction). A new producer (a new epoch) starts its sequences afresh.
      if (sending) await this.dropProducer(key);
      throw err;
    }
    try {
      await txn.commit();
    } catch (err) {
      // kafkajs refuses to abort a transaction it began committing: replace the producer, whose
      // successor's InitProducerId completes or aborts it on the broker
      await this.dropProducer(key);
      const type = kafkaErrorType(err);
      if (type && FENCED_TYPES.has(type)) throw err;
      // (the next producer's creation clears the cached committed offsets: they are read again)
      this.options.onCommitUncertain?.(topic, partition);
      throw new CommitOutcomeUnknownError(key, err);
    }
  }

  /** Adds the offset after `lastOffset` of the chunk's partition to the transaction. */
  async sendOffsets(txn: Transaction, chunk: InputChunk, lastOffset: string): Promise<void> {
    const offsets = {
      consumerGroupId: this.options.groupId,
      topics: [
        {
          topic: chunk.topic,
          partitions: [
            { partition: chunk.partition, offset: (BigInt(lastOffset) + 1n).toString() },
          ],
        },
      ],
    };
    for (let attempt = 0; ; attempt++) {
      try {
        await txn.sendOffsets(offsets);
        return;
      } catch (err) {
        if (kafkaErrorType(err) !== 'CONCURRENT_TRANSACTIONS' || attempt >= 10) throw err;
        await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
      }
    }
  }

  private async abort(txn: Transaction, key: string): Promise<void> {
    try {
      await txn.abort();
    } catch (err) {
      // kafkajs cannot recover a producer whose abort failed: replace it
      this.options.logger.warn({ err, producer: key }, 'abort failed; replacing the producer');
      await this.dropProducer(key);
    }
  }

  /** Closes every producer (the runner stops). */
  async dropAll(): Promise<void> {
    await Promise.all([...this.producers.keys()].map((key) => this.dropProducer(key)));
  }
}
