/**
 * The kafkajs exactly-once runner's consume loop and lifecycle — Kafka Streams' `StreamThread`:
 * it joins the consumer group, follows its events, and hands each fetched batch's chunks to the
 * {@link ChunkProcessor}.
 */
import type { Admin, Consumer, ConsumerGroupJoinEvent, EachBatchPayload } from 'kafkajs';
import { SetupError } from '../../lib/errors.js';
import { kafkaErrorType } from '../errors.js';
import { assignedLag } from '../lag.js';
import { fetchStableOffset } from '../offsets.js';
import { ChunkProcessor, chunkMessages } from './chunks.js';
import type { ExactlyOnceOptions, PartitionLag, ProcessResult, RunnerStatus } from './options.js';
import { Membership, OffsetFloors } from './ownership.js';
import { PartitionProducers } from './producers.js';

/**
 * Consume → process → produce with exactly-once semantics on kafkajs, which predates KIP-447:
 * each input partition gets its own transactional producer (`<prefix>.<topic>.<partition>`), so
 * when a partition moves, its new owner's producer fences the old one and aborts what it left
 * open. Each batch's outputs and its next input offset are committed in one transaction.
 *
 * kafkajs transaction bugs handled ({@link PartitionProducers}): a failed `abort()` leaves the
 * producer unusable (it is replaced: the new producer's InitProducerId aborts the open transaction
 * on the broker), and `sendOffsets` is not retried on CONCURRENT_TRANSACTIONS (retried there). Any
 * other failure aborts the transaction and retries the whole batch with backoff
 * ({@link ChunkProcessor}), so an outage never skips or doubles a record.
 */
export class ExactlyOnceRunner {
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly membership: Membership;
  private readonly producers: PartitionProducers;
  private readonly processor: ChunkProcessor;
  private stopped = false;
  /** Wakers of the partitions held until their transaction interval has passed. */
  private readonly holds = new Set<() => void>();

  constructor(private readonly options: ExactlyOnceOptions) {
    this.admin = options.kafka.admin();
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      readUncommitted: false,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      ...(options.partitionAssigners ? { partitionAssigners: options.partitionAssigners } : {}),
      rebalanceTimeout: 60_000,
      heartbeatInterval: 3000,
      // kafkajs heartbeats between fetches: an idle fetch must not outlast the heartbeat interval
      // by much (commits check that heartbeats are recent)
      maxWaitTimeInMs: 1000,
      maxBytesPerPartition: 2 * 1024 * 1024,
    });
    this.membership = new Membership(options);
    const floors = new OffsetFloors(this.admin, options.groupId);
    this.producers = new PartitionProducers(options, this.membership, floors);
    this.processor = new ChunkProcessor(options, this.producers, floors, () => this.isStopped());
  }

  get events() {
    return this.consumer.events;
  }

  on: Consumer['on'] = (event, listener) => this.consumer.on(event, listener);

  /** Called on every assignment (metrics, partition health). */
  onAssigned(listener: (assignment: Record<string, number[]>) => void): void {
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      listener(event.payload.memberAssignment);
    });
  }

  async start(): Promise<void> {
    await this.admin.connect();
    await this.assertStableOffsetsSupported();
    await this.consumer.connect();
    for (const topic of this.options.topics) await this.subscribe(topic);
    this.followGroup();
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // partitions have their own producers: their transactions' round trips overlap
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  /** Follows the group's events: membership, heartbeats, rebalances, assignments. */
  private followGroup(): void {
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      if (!event.payload.restart) this.membership.member = false;
    });
    this.consumer.on(this.consumer.events.STOP, () => {
      this.membership.member = false;
    });
    this.consumer.on(this.consumer.events.HEARTBEAT, () => {
      this.membership.lastHeartbeatAt = Date.now();
    });
    this.consumer.on(this.consumer.events.REBALANCING, () => {
      this.membership.rebalancing = true;
      this.endHolds();
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      this.onGroupJoin(event.payload);
    });
  }

  /** The group assigned partitions to this member. */
  private onGroupJoin({ memberAssignment, memberId }: ConsumerGroupJoinEvent['payload']): void {
    const rejoined = this.membership.join(memberAssignment, memberId);
    this.producers.reassign(memberAssignment, rejoined);
    this.options.onAssignment?.(memberAssignment, { rejoined });
  }

  /** A fetched batch of one partition: its chunks in turn, then its transaction interval. */
  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const batchStarted = Date.now();
    const chunks = chunkMessages(
      batch.messages,
      this.options.maxRecordsPerTransaction ?? 2000,
      this.options.maxBytesPerTransaction ?? 1024 * 1024,
    );
    for (const messages of chunks) {
      const chunk = {
        topic: batch.topic,
        partition: batch.partition,
        messages,
        highWatermark: batch.highWatermark,
      };
      if (!(await this.processor.runChunk(chunk, payload))) return;
    }
    await this.holdUntilInterval(batchStarted, payload);
  }

  /**
   * After a batch that took less than the transaction interval, keeps its partition (which
   * kafkajs does not fetch while its batch is in hand) for the rest of it, so that its next batch
   * gathers more records. Only when every assigned partition has a worker of its own: holding a
   * worker that another partition waits for would add that wait to its records.
   */
  private async holdUntilInterval(
    batchStarted: number,
    payload: Pick<EachBatchPayload, 'isRunning' | 'isStale'>,
  ): Promise<void> {
    const interval = this.options.minTransactionIntervalMs ?? 0;
    const wait = Math.min(batchStarted + interval - Date.now(), interval);
    if (wait <= 0 || this.isStopped() || !payload.isRunning() || payload.isStale()) return;
    const assigned = Object.values(this.membership.assignment).reduce(
      (n, parts) => n + parts.length,
      0,
    );
    if (assigned > (this.options.partitionsConsumedConcurrently ?? 1)) return;
    // a stop or a rebalance waits for every batch in hand: they end the hold at once
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.holds.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, wait);
      this.holds.add(wake);
    });
  }

  /** Ends every hold of {@link holdUntilInterval} now. */
  private endHolds(): void {
    for (const wake of [...this.holds]) wake();
  }

  /**
   * Committed offsets are read with require_stable (OffsetFetch v7, Kafka 2.5+); without it a
   * chunk could be processed twice. An older broker is refused at start, not at the first chunk.
   * Any other answer (a commit pending on that partition, a coordinator loading) is the chunks'
   * business.
   */
  private async assertStableOffsetsSupported(): Promise<void> {
    const [topic] = this.options.topics;
    if (topic === undefined) return;
    // until the broker answers one way or the other (a coordinator may still be loading)
    const deadline = Date.now() + (this.options.startupCheckTimeoutMs ?? 30_000);
    for (let backoff = 100; ; backoff = Math.min(backoff * 2, 2000)) {
      try {
        await fetchStableOffset(this.admin, this.options.groupId, topic, 0, { timeoutMs: 0 });
        return;
      } catch (err) {
        if (err instanceof Error && err.name === 'KafkaJSServerDoesNotSupportApiKey')
          throw new SetupError(
            `exactly-once processing needs Kafka 2.5 or later (${err.message}); upgrade the brokers`,
            { cause: err },
          );
        // UNSTABLE_OFFSET_COMMIT is an answer of v7: supported
        if (kafkaErrorType(err) === 'UNSTABLE_OFFSET_COMMIT') return;
        if (Date.now() + backoff > deadline) {
          this.options.logger.warn(
            { err },
            'could not check that the brokers read committed offsets stable (Kafka 2.5+); going on',
          );
          return;
        }
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
  }

  /**
   * On a fresh multi-broker cluster a topic just created is not known to every broker at once,
   * and kafkajs does not retry UNKNOWN_TOPIC_OR_PARTITION in `subscribe`: wait for it (bounded).
   */
  private async subscribe(topic: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (let backoff = 100; ; backoff = Math.min(backoff * 2, 2000)) {
      try {
        await this.consumer.subscribe({ topic, fromBeginning: true });
        return;
      } catch (err) {
        const type = kafkaErrorType(err);
        const unknown = type === 'UNKNOWN_TOPIC_OR_PARTITION' || type === 'LEADER_NOT_AVAILABLE';
        if (!unknown || Date.now() > deadline) throw err;
        this.options.logger.info({ topic, type, retryInMs: backoff }, 'topic not known yet');
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
  }

  /**
   * Creates (and so initialises) the producer serving `topic`/`partition` now: initialising fences
   * the partition's previous owner and completes or aborts what it left open, after which its
   * changelog can be read to the end.
   */
  async initProducer(topic: string, partition: number): Promise<void> {
    await this.producers.initProducer(topic, partition);
  }

  /**
   * Runs a transaction that consumes no input (timers firing): the records of `build` commit
   * together, on the producer that serves `topic`/`partition`, never concurrently with its batches.
   */
  transact(topic: string, partition: number, build: () => Promise<ProcessResult>): Promise<void> {
    return this.processor.transact(topic, partition, build);
  }

  /** Group membership, assignment and failing transactions: for readiness and metrics. */
  status(): RunnerStatus {
    return {
      member: this.membership.member && !this.stopped,
      assignment: this.membership.assignment,
      failingSince: this.processor.failingSince,
      lastHeartbeatAt: this.membership.lastHeartbeatAt,
      stopped: this.stopped,
    };
  }

  /**
   * Lag of the partitions assigned to this member: end offset minus the group's committed offset.
   * With transactions the end includes the last commit marker, so a caught-up partition shows a
   * lag of 1 — as Kafka's own kafka-consumer-groups tool does.
   */
  async lag(): Promise<PartitionLag[]> {
    const { groupId } = this.options;
    return assignedLag(
      this.admin,
      (topics) => this.admin.fetchOffsets({ groupId, topics }),
      this.membership.assignment,
    );
  }

  /** A method, not a field read: `stop()` flips it while a batch awaits. */
  private isStopped(): boolean {
    return this.stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.endHolds();
    await this.consumer.disconnect();
    await this.producers.dropAll();
    await this.admin.disconnect();
  }
}
