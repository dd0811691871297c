import type { Batch, Consumer, Kafka, Message, Producer, Transaction } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import type { Logger } from '../lib/logger.js';

/** Records to write in the same transaction as a batch's input offsets. */
export interface TopicRecords {
  readonly topic: string;
  readonly messages: Message[];
}

/** Turns one input batch (one partition) into output records; throw only for infrastructure trouble. */
export type BatchProcessor = (batch: Batch) => Promise<TopicRecords[]>;

export interface ExactlyOnceOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Transactional ids are `<prefix>.<topic>.<partition>`: one per input partition (pre-KIP-447 fencing). */
  readonly transactionalIdPrefix: string;
  readonly process: BatchProcessor;
  readonly logger: Logger;
  /** Largest backoff between retries of a failed transaction. @default 30000 */
  readonly maxBackoffMs?: number;
  readonly sessionTimeoutMs?: number;
  readonly transactionTimeoutMs?: number;
  /** Called after each committed transaction (metrics). */
  readonly onCommitted?: (info: {
    topic: string;
    partition: number;
    records: number;
    outputs: number;
    seconds: number;
  }) => void;
}

const errorType = (err: unknown): string | undefined =>
  typeof err === 'object' && err !== null && 'type' in err && typeof err.type === 'string'
    ? err.type
    : undefined;

const FENCED = new Set([
  'INVALID_PRODUCER_EPOCH',
  'PRODUCER_FENCED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
]);

/**
 * Consume → process → produce with exactly-once semantics on kafkajs, which predates KIP-447:
 * each input partition gets its own transactional producer (`<prefix>.<topic>.<partition>`), so
 * when a partition moves, its new owner's producer fences the old one and aborts what it left
 * open. Each batch's outputs and its next input offset are committed in one transaction.
 *
 * kafkajs transaction bugs handled here: a failed `abort()` leaves the producer unusable (it is
 * replaced: the new producer's InitProducerId aborts the open transaction on the broker), and
 * `sendOffsets` is not retried on CONCURRENT_TRANSACTIONS (retried here). Any other failure
 * aborts the transaction and retries the whole batch with backoff, so an outage never skips or
 * doubles a record.
 */
export class ExactlyOnceRunner {
  private readonly consumer: Consumer;
  private readonly producers = new Map<string, Promise<Producer>>();
  private stopped = false;

  constructor(private readonly options: ExactlyOnceOptions) {
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      readUncommitted: false,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      rebalanceTimeout: 60_000,
      heartbeatInterval: 3000,
      maxBytesPerPartition: 2 * 1024 * 1024,
    });
  }

  get events() {
    return this.consumer.events;
  }

  on: Consumer['on'] = (event, listener) => this.consumer.on(event, listener);

  async start(): Promise<void> {
    await this.consumer.connect();
    for (const topic of this.options.topics)
      await this.consumer.subscribe({ topic, fromBeginning: true });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      // producers of partitions this member lost are closed; their new owner fences them anyway
      const assigned = new Set(
        Object.entries(event.payload.memberAssignment).flatMap(([topic, parts]) =>
          parts.map((p) => `${topic}.${p}`),
        ),
      );
      for (const key of [...this.producers.keys()]) {
        if (!assigned.has(key)) void this.dropProducer(key);
      }
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async (payload) => {
        const { batch } = payload;
        if (batch.messages.length === 0) return;
        let backoff = 250;
        for (;;) {
          if (this.stopped || !payload.isRunning() || payload.isStale()) return;
          try {
            await this.commitBatch(batch);
            payload.resolveOffset(batch.lastOffset());
            return;
          } catch (err) {
            const type = errorType(err);
            if (type && FENCED.has(type)) {
              // another member owns this partition now: leave it to them
              this.options.logger.warn(
                { topic: batch.topic, partition: batch.partition, type },
                'producer fenced',
              );
              await this.dropProducer(`${batch.topic}.${batch.partition}`);
              return;
            }
            this.options.logger.warn(
              { err, topic: batch.topic, partition: batch.partition, retryInMs: backoff },
              'transaction failed; retrying the batch',
            );
            await new Promise((r) => setTimeout(r, backoff));
            backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 30_000);
            await payload.heartbeat().catch(() => undefined);
          }
        }
      },
    });
  }

  private producerFor(topic: string, partition: number): Promise<Producer> {
    const key = `${topic}.${partition}`;
    let producer = this.producers.get(key);
    if (!producer) {
      const p = this.options.kafka.producer({
        transactionalId: `${this.options.transactionalIdPrefix}.${key}`,
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: this.options.transactionTimeoutMs ?? 60_000,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      producer = p.connect().then(() => p);
      producer.catch(() => this.producers.delete(key));
      this.producers.set(key, producer);
    }
    return producer;
  }

  private async dropProducer(key: string): Promise<void> {
    const producer = this.producers.get(key);
    this.producers.delete(key);
    await producer?.then((p) => p.disconnect()).catch(() => undefined);
  }

  private async commitBatch(batch: Batch): Promise<void> {
    const started = process.hrtime.bigint();
    const outputs = await this.options.process(batch);
    const producer = await this.producerFor(batch.topic, batch.partition);
    const txn = await producer.transaction();
    try {
      const topicMessages = outputs.filter((o) => o.messages.length > 0);
      if (topicMessages.length > 0) await txn.sendBatch({ topicMessages, acks: -1 });
      await this.sendOffsets(txn, batch);
      await txn.commit();
    } catch (err) {
      await this.abort(txn, batch);
      throw err;
    }
    this.options.onCommitted?.({
      topic: batch.topic,
      partition: batch.partition,
      records: batch.messages.length,
      outputs: outputs.reduce((n, o) => n + o.messages.length, 0),
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    });
  }

  private async sendOffsets(txn: Transaction, batch: Batch): Promise<void> {
    const offsets = {
      consumerGroupId: this.options.groupId,
      topics: [
        {
          topic: batch.topic,
          partitions: [
            { partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() },
          ],
        },
      ],
    };
    for (let attempt = 0; ; attempt++) {
      try {
        await txn.sendOffsets(offsets);
        return;
      } catch (err) {
        if (errorType(err) !== 'CONCURRENT_TRANSACTIONS' || attempt >= 10) throw err;
        await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
      }
    }
  }

  private async abort(txn: Transaction, batch: Batch): Promise<void> {
    try {
      await txn.abort();
    } catch (err) {
      // kafkajs cannot recover a producer whose abort failed: replace it
      this.options.logger.warn(
        { err, topic: batch.topic, partition: batch.partition },
        'abort failed; replacing the producer',
      );
      await this.dropProducer(`${batch.topic}.${batch.partition}`);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.consumer.disconnect();
    await Promise.all([...this.producers.keys()].map((key) => this.dropProducer(key)));
  }
}
