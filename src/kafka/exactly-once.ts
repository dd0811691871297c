import type {
  Admin,
  Consumer,
  ConsumerConfig,
  EachBatchPayload,
  Kafka,
  KafkaMessage,
  Message,
  Producer,
  Transaction,
} from 'kafkajs';
import type { Logger } from '../lib/logger.js';
import { SetupError } from '../lib/errors.js';
import { FENCED_TYPES, ProcessingError, classify, failureOf, kafkaErrorType } from './errors.js';
import type { ErrorClass } from './errors.js';
import { assignedLag } from './lag.js';
import { fetchStableOffset } from './offsets.js';
import { KeyHashPartitioner } from './partitioner.js';

/** Records to write in the same transaction as a batch's input offsets. */
export interface TopicRecords {
  readonly topic: string;
  readonly messages: Message[];
}

/** A slice of one input partition, processed and committed as one transaction. */
export interface InputChunk {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly KafkaMessage[];
  /** The partition's end offset when the batch was fetched (what is known to be waiting). */
  readonly highWatermark?: string;
}

/** Output records, and what to do once (and only if) their transaction committed. */
export interface ProcessResult {
  readonly records: TopicRecords[];
  readonly afterCommit?: () => void;
}

/** Turns one input chunk into output records; throw only for infrastructure trouble. */
export type BatchProcessor = (chunk: InputChunk) => Promise<TopicRecords[] | ProcessResult>;

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

const asResult = (r: TopicRecords[] | ProcessResult): ProcessResult =>
  Array.isArray(r) ? { records: r } : r;

/**
 * Splits a fetched batch into transactions of at most `maxRecords` records and about `maxBytes`
 * input bytes: kafkajs hands over up to maxBytesPerPartition at once, and one transaction's output
 * for a partition must stay under the broker's message.max.bytes.
 */
export function chunkMessages<T extends { value: Buffer | null }>(
  messages: readonly T[],
  maxRecords: number,
  maxBytes: number,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = m.value?.length ?? 0;
    if (current.length > 0 && (current.length >= maxRecords || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export interface ExactlyOnceOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Transactional ids are `<prefix>.<topic>.<partition>`: one per input partition (pre-KIP-447 fencing). */
  readonly transactionalIdPrefix: string;
  readonly process: BatchProcessor;
  readonly logger: Logger;
  /** Largest backoff between retries of a failed transaction. @default 10000 */
  readonly maxBackoffMs?: number;
  /** Most input records per transaction. @default 2000 */
  readonly maxRecordsPerTransaction?: number;
  /** About the most input bytes per transaction. @default 1048576 */
  readonly maxBytesPerTransaction?: number;
  /**
   * Least time between the starts of two transactions of one partition's batches: after a commit
   * the partition is not fetched again until then, so that under load its records gather into
   * fewer, larger transactions (each costs the broker about eight writes whatever its size).
   * A backlog's chunks are not held apart, and nothing is held while partitions outnumber
   * `partitionsConsumedConcurrently`. @default 0
   */
  readonly minTransactionIntervalMs?: number;
  /** How long start-up tries to learn whether the brokers can read offsets stable. @default 30000 */
  readonly startupCheckTimeoutMs?: number;
  /** Input partitions processed at the same time (each with its own producer). @default 1 */
  readonly partitionsConsumedConcurrently?: number;
  readonly sessionTimeoutMs?: number;
  readonly transactionTimeoutMs?: number;
  /**
   * Which transactional producer serves an input partition (suffix of the transactional id).
   * Default `<topic>.<partition>`; co-partitioned inputs that share state use `p<partition>` so
   * one producer — and one fence — covers the partition's state. @default `${topic}.${partition}`
   */
  readonly producerKey?: (topic: string, partition: number) => string;
  /** Kafka partition assigners (e.g. a co-partitioned one); default kafkajs's round robin. */
  readonly partitionAssigners?: ConsumerConfig['partitionAssigners'];
  /** Called on every assignment, before any batch of it is processed (restore state here). */
  readonly onAssignment?: (
    assignment: Record<string, number[]>,
    info: {
      /**
       * This member was dropped from the group (session timeout) and joined again as a new
       * member: partitions it holds again may have had another owner meanwhile.
       */
      rejoined: boolean;
    },
  ) => void;
  /** Awaited before a chunk is processed (e.g. until its partition's state is restored). */
  readonly beforeChunk?: (chunk: InputChunk) => Promise<void>;
  /** Called after each committed transaction (metrics); `records` is 0 for timer transactions. */
  readonly onCommitted?: (info: CommittedTransaction) => void;
  /**
   * Called when the producer serving `topic`/`partition` was fenced: another member owns it now
   * and may have written since. State derived from what this member committed is stale; it must
   * be read again from the changelog if the partition comes back.
   */
  readonly onFenced?: (topic: string, partition: number) => void;
  /**
   * Called when a commit of the producer serving `topic`/`partition` failed without saying
   * whether it landed (see CommitOutcomeUnknownError): state built from this member's commits
   * may lack it and must be read again from the changelog before the partition's next
   * transaction.
   */
  readonly onCommitUncertain?: (topic: string, partition: number) => void;
  /** Called when a transaction failed and was aborted (it is retried; metrics). */
  readonly onFailed?: (info: { topic: string; partition: number; type: string }) => void;
  /**
   * The dead-letter records of an input record that can never be processed (src/kafka/errors.ts:
   * deterministic, or unknown after `maxUnknownAttempts`): written with the input's offset in one
   * transaction, so the partition moves on. Without it such a record is retried for ever.
   */
  readonly deadLetter?: (
    origin: { topic: string; partition: number },
    message: KafkaMessage,
    failure: { code: string; message: string },
  ) => TopicRecords[];
  /** Called once a dead letter committed (metrics, the alert on unknown failures). */
  readonly onDeadLettered?: (info: {
    topic: string;
    partition: number;
    code: string;
    kind: ErrorClass;
  }) => void;
  /** Attempts of a chunk failing for an unknown reason before its record is dead-lettered. @default 5 */
  readonly maxUnknownAttempts?: number;
}

/** What one committed transaction did. */
export interface CommittedTransaction {
  readonly topic: string;
  readonly partition: number;
  /** Input records consumed (0 for a transaction without input, e.g. timers firing). */
  readonly records: number;
  /** Output records produced, per topic. */
  readonly outputs: Readonly<Record<string, number>>;
  /** From the start of processing to the commit's acknowledgement. */
  readonly seconds: number;
}

/** Whether a runner is doing its job: what readiness and metrics report. */
export interface RunnerStatus {
  /** A member of its consumer group with a current assignment. */
  readonly member: boolean;
  /** Input partitions assigned to this member, per topic. */
  readonly assignment: Readonly<Record<string, readonly number[]>>;
  /** Since when (epoch ms) transactions have been failing without one succeeding, if they are. */
  readonly failingSince: number | undefined;
  /** Epoch ms of the last successful heartbeat (or group join): the last word from the group. */
  readonly lastHeartbeatAt: number;
  readonly stopped: boolean;
}

/** Records between a partition's committed offset and its end (transaction markers included). */
export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

/**
 * Awaits `work`, calling `heartbeat` every second meanwhile (kafkajs heartbeats only between
 * batches). A heartbeat that reports a rebalance throws: the batch ends and `work` goes on.
 */
export async function whileHeartbeating(
  work: Promise<void>,
  heartbeat: () => Promise<void>,
  everyMs = 1000,
): Promise<void> {
  let done = false;
  const finished = work.finally(() => {
    done = true;
  });
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      finished,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, everyMs);
      }),
    ]).finally(() => {
      clearTimeout(timer);
    });
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set when work settles
    if (done) return finished;
    await heartbeat();
  }
}

const countByTopic = (records: readonly TopicRecords[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const { topic, messages } of records)
    if (messages.length > 0) counts[topic] = (counts[topic] ?? 0) + messages.length;
  return counts;
};

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
 * Not sure this member still owns its partitions: no successful heartbeat for most of a session
 * timeout (the coordinator may have dropped it and given them to another member), or a
 * rebalance under way. The transaction is aborted and retried once that clears.
 */
export class OwnershipUncertainError extends Error {
  readonly type = 'OWNERSHIP_UNCERTAIN';
  constructor(reason: string) {
    super(`not committing: ${reason}`);
    this.name = 'OwnershipUncertainError';
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
  /** Producer keys fenced since the last assignment that included them. */
  private readonly fenced = new Set<string>();
  private readonly admin: Admin;
  /**
   * Committed input offsets per `topic:partition`, read after a producer was (re)created. Before
   * KIP-447 a consumer may fetch its start offset while the previous owner's commit is still
   * pending, and a commit whose outcome was unknown may have landed: once the new producer is
   * initialised (which completes or aborts what its transactional id left open), the group's
   * committed offset is the truth, and records below it are skipped.
   */
  private readonly committedFloor = new Map<string, bigint>();
  /** One transaction at a time per producer: batches and timer transactions queue here. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private stopped = false;
  private member = false;
  private memberId: string | undefined;
  private lastHeartbeatAt = 0;
  private rebalancing = false;
  private assignment: Record<string, number[]> = {};
  private failingSince: number | undefined;
  /** Wakers of the partitions held until their transaction interval has passed. */
  private readonly holds = new Set<() => void>();

  private key(topic: string, partition: number): string {
    return this.options.producerKey?.(topic, partition) ?? `${topic}.${partition}`;
  }

  private locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    this.locks.set(
      key,
      next.catch(() => undefined),
    );
    return next;
  }

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
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      if (!event.payload.restart) this.member = false;
    });
    this.consumer.on(this.consumer.events.STOP, () => {
      this.member = false;
    });
    this.consumer.on(this.consumer.events.HEARTBEAT, () => {
      this.lastHeartbeatAt = Date.now();
    });
    this.consumer.on(this.consumer.events.REBALANCING, () => {
      this.rebalancing = true;
      this.endHolds();
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      this.member = true;
      this.rebalancing = false;
      this.lastHeartbeatAt = Date.now();
      this.assignment = event.payload.memberAssignment;
      const rejoined = this.memberId !== undefined && this.memberId !== event.payload.memberId;
      this.memberId = event.payload.memberId;
      if (rejoined) {
        // producers of an earlier membership may be stale; the next use initialises afresh
        for (const key of [...this.producers.keys()]) void this.dropProducer(key);
      }
      // producers of partitions this member lost are closed; their new owner fences them anyway
      const assigned = new Set(
        Object.entries(event.payload.memberAssignment).flatMap(([topic, parts]) =>
          parts.map((p) => this.key(topic, p)),
        ),
      );
      for (const key of [...this.producers.keys()]) {
        if (!assigned.has(key)) void this.dropProducer(key);
      }
      // assigned again by the group: this member may initialise (and so fence) afresh
      for (const key of assigned) this.fenced.delete(key);
      this.options.onAssignment?.(event.payload.memberAssignment, { rejoined });
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // partitions have their own producers: their transactions' round trips overlap
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatch: async (payload) => {
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
          if (!(await this.runChunk(chunk, payload))) return;
        }
        await this.holdUntilInterval(batchStarted, payload);
      },
    });
  }

  /**
   * Processes and commits one chunk, retrying as its failures' class says (src/kafka/errors.ts):
   * transient ones with backoff for as long as they last; a record that fails deterministically —
   * or for an unknown reason `maxUnknownAttempts` times — is found by trying the chunk's records
   * one at a time, and dead-lettered with its offset in one transaction. False when the batch must
   * end (stopped, a rebalance, fenced).
   */
  private async runChunk(
    chunk: InputChunk,
    payload: Pick<EachBatchPayload, 'heartbeat' | 'isRunning' | 'isStale' | 'resolveOffset'>,
  ): Promise<boolean> {
    const last = chunk.messages[chunk.messages.length - 1]?.offset;
    if (last === undefined) return true;
    const { topic, partition } = chunk;
    let backoff = 250;
    let unknown = 0;
    /** Set once the chunk's one record is known to be poison: only its dead letter is left. */
    let poison: { err: unknown; kind: ErrorClass } | undefined;
    for (;;) {
      if (this.isStopped() || !payload.isRunning() || payload.isStale()) return false;
      try {
        if (poison) await this.deadLetterChunk(chunk, last, poison.err, poison.kind);
        else {
          // outside the producer's lock: it may initialise the producer (which takes the
          // lock); heartbeating meanwhile, as a large state's restore outlasts a session
          const before = this.options.beforeChunk?.(chunk);
          if (before) await whileHeartbeating(before, () => payload.heartbeat());
          await this.commitChunk(chunk, last);
        }
      } catch (err) {
        const kind = classify(err);
        const type = kafkaErrorType(err) ?? (kind === 'transient' ? 'UNKNOWN' : kind.toUpperCase());
        this.failingSince ??= Date.now();
        this.options.onFailed?.({ topic, partition, type });
        if (kind === 'fenced') {
          // another member owns this partition now: leave it to them
          if (!(err instanceof FencedError))
            this.options.logger.warn(
              { topic, partition, type },
              'producer fenced; leaving the partition to its new owner',
            );
          await this.fence(topic, partition);
          // kafkajs fetches the partition again until the rebalance reaches this member
          await new Promise((r) => setTimeout(r, 500));
          return false;
        }
        if (kind === 'unknown') unknown += 1;
        const maxUnknown = this.options.maxUnknownAttempts ?? 5;
        if (
          !poison &&
          this.options.deadLetter &&
          (kind === 'deterministic' || (kind === 'unknown' && unknown >= maxUnknown))
        ) {
          if (chunk.messages.length > 1) {
            // which record? each alone: the others commit as they would have
            this.options.logger.warn(
              { topic, partition, kind, records: chunk.messages.length },
              'a chunk failed for a reason that will not go away; trying its records one by one',
            );
            for (const m of chunk.messages)
              if (!(await this.runChunk({ ...chunk, messages: [m] }, payload))) return false;
            return true;
          }
          poison = { err, kind };
          continue;
        }
        this.options.logger.warn(
          { err, topic, partition, kind, retryInMs: backoff },
          'transaction failed; retrying',
        );
        // wait, but keep the group membership alive meanwhile; a rebalance ends the batch
        // (the heartbeat throws, kafkajs rejoins) and the next owner starts from the
        // committed offset: the aborted chunk is neither lost nor doubled
        const until = Date.now() + backoff;
        while (Date.now() < until && !this.isStopped()) {
          await new Promise((r) => setTimeout(r, Math.min(1000, until - Date.now())));
          await payload.heartbeat();
        }
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 10_000);
        continue;
      }
      this.failingSince = undefined;
      payload.resolveOffset(last);
      // once committed, a chunk is never processed again here, even if this heartbeat reports a
      // rebalance (it then propagates and kafkajs rejoins)
      await payload.heartbeat();
      return true;
    }
  }

  /** Commits the dead letter of a one-record chunk with its offset: the partition moves on. */
  private deadLetterChunk(
    chunk: InputChunk,
    lastOffset: string,
    err: unknown,
    kind: ErrorClass,
  ): Promise<void> {
    const key = this.key(chunk.topic, chunk.partition);
    return this.locked(key, async () => {
      const [message] = chunk.messages;
      const deadLetter = this.options.deadLetter;
      if (!message || !deadLetter) return;
      const producer = await this.producerFor(key);
      if (BigInt(message.offset) < (await this.floorOf(chunk.topic, chunk.partition))) return;
      const failure = failureOf(err, kind);
      const records = deadLetter(
        { topic: chunk.topic, partition: chunk.partition },
        message,
        failure,
      );
      await this.runTransaction(producer, key, chunk.topic, chunk.partition, records, (txn) =>
        this.sendOffsets(txn, chunk, lastOffset),
      );
      this.committedFloor.set(`${chunk.topic}:${chunk.partition}`, BigInt(lastOffset) + 1n);
      // the record's origin and the reason; never its bytes
      this.options.logger.error(
        {
          topic: chunk.topic,
          partition: chunk.partition,
          offset: message.offset,
          code: failure.code,
          kind,
          reason: failure.message.slice(0, 300),
        },
        'input record dead-lettered',
      );
      this.options.onDeadLettered?.({
        topic: chunk.topic,
        partition: chunk.partition,
        code: failure.code,
        kind,
      });
    });
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
    const assigned = Object.values(this.assignment).reduce((n, parts) => n + parts.length, 0);
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

  private async fence(topic: string, partition: number): Promise<void> {
    const key = this.key(topic, partition);
    const first = !this.fenced.has(key);
    this.fenced.add(key);
    await this.dropProducer(key);
    if (first) this.options.onFenced?.(topic, partition);
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

  private producerFor(key: string): Promise<Producer> {
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
      producer = p.connect().then(() => p);
      producer.catch(() => this.producers.delete(key));
      this.producers.set(key, producer);
      this.committedFloor.clear(); // re-read: the new producer may have completed a pending commit
    }
    return producer;
  }

  private async dropProducer(key: string): Promise<void> {
    const producer = this.producers.get(key);
    this.producers.delete(key);
    await producer?.then((p) => p.disconnect()).catch(() => undefined);
  }

  private commitChunk(chunk: InputChunk, lastOffset: string): Promise<void> {
    return this.locked(this.key(chunk.topic, chunk.partition), () =>
      this.commitChunkNow(chunk, lastOffset),
    );
  }

  private async commitChunkNow(input: InputChunk, lastOffset: string): Promise<void> {
    let chunk = input;
    const started = process.hrtime.bigint();
    const key = this.key(chunk.topic, chunk.partition);
    const producer = await this.producerFor(key);
    const floor = await this.floorOf(chunk.topic, chunk.partition);
    const fresh = chunk.messages.filter((m) => BigInt(m.offset) >= floor);
    if (fresh.length === 0) return; // already committed (by us before an unknown outcome, or by the previous owner)
    chunk = { ...chunk, messages: fresh };
    let result: ProcessResult;
    try {
      result = asResult(await this.options.process(chunk));
    } catch (err) {
      throw new ProcessingError(err);
    }
    const outputs = result.records;
    await this.runTransaction(producer, key, chunk.topic, chunk.partition, outputs, (txn) =>
      this.sendOffsets(txn, chunk, lastOffset),
    );
    this.committedFloor.set(`${chunk.topic}:${chunk.partition}`, BigInt(lastOffset) + 1n);
    result.afterCommit?.();
    this.options.onCommitted?.({
      topic: chunk.topic,
      partition: chunk.partition,
      records: chunk.messages.length,
      outputs: countByTopic(outputs),
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    });
  }

  private async sendOffsets(
    txn: Transaction,
    chunk: InputChunk,
    lastOffset: string,
  ): Promise<void> {
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

  private async floorOf(topic: string, partition: number): Promise<bigint> {
    const id = `${topic}:${partition}`;
    const known = this.committedFloor.get(id);
    if (known !== undefined) return known;
    // stable: the previous owner's (or our own unknown) commit may not be applied yet
    const committed = await fetchStableOffset(this.admin, this.options.groupId, topic, partition);
    const floor = committed < 0n ? 0n : committed;
    this.committedFloor.set(id, floor);
    return floor;
  }

  /**
   * Creates (and so initialises) the producer serving `topic`/`partition` now: initialising fences
   * the partition's previous owner and completes or aborts what it left open, after which its
   * changelog can be read to the end.
   */
  async initProducer(topic: string, partition: number): Promise<void> {
    const key = this.key(topic, partition);
    await this.locked(key, () => this.producerFor(key));
  }

  /**
   * Runs a transaction that consumes no input (timers firing): the records of `build` commit
   * together, on the producer that serves `topic`/`partition`, never concurrently with its batches.
   */
  transact(topic: string, partition: number, build: () => Promise<ProcessResult>): Promise<void> {
    const key = this.key(topic, partition);
    return this.locked(key, async () => {
      const started = process.hrtime.bigint();
      const result = await build();
      const topicMessages = result.records.filter((o) => o.messages.length > 0);
      if (topicMessages.length === 0) {
        result.afterCommit?.();
        return;
      }
      const producer = await this.producerFor(key);
      try {
        await this.runTransaction(producer, key, topic, partition, topicMessages);
      } catch (err) {
        const type = kafkaErrorType(err) ?? 'UNKNOWN';
        this.options.onFailed?.({ topic, partition, type });
        if (FENCED_TYPES.has(type)) await this.fence(topic, partition);
        throw err;
      }
      result.afterCommit?.();
      this.options.onCommitted?.({
        topic,
        partition,
        records: 0,
        outputs: countByTopic(topicMessages),
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
      });
    });
  }

  /**
   * Writes `records` (and whatever `beforeCommit` adds, e.g. the input offsets) in one transaction
   * and commits it. A failure before the commit aborts it; a failed commit may have landed
   * (CommitOutcomeUnknownError), unless the producer was fenced.
   */
  private async runTransaction(
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
      this.assertOwnership();
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

  /**
   * The last check before a commit. kafkajs predates KIP-447: its offset commits carry no group
   * generation, so the broker cannot refuse a member the group has dropped (a "zombie" that has
   * not noticed yet). Fencing covers a zombie whose producer the new owner has initialised; this
   * covers the window before that: a member is dropped only after a session timeout without a
   * heartbeat, so one that heartbeated within most of that time is still a member.
   */
  private assertOwnership(): void {
    if (this.rebalancing) throw new OwnershipUncertainError('a rebalance is under way');
    const silentMs = Date.now() - this.lastHeartbeatAt;
    const limitMs = 0.8 * (this.options.sessionTimeoutMs ?? 30_000);
    if (silentMs > limitMs)
      throw new OwnershipUncertainError(
        `no successful heartbeat for ${String(silentMs)} ms (the session times out at ${String(this.options.sessionTimeoutMs ?? 30_000)} ms)`,
      );
  }

  /** Group membership, assignment and failing transactions: for readiness and metrics. */
  status(): RunnerStatus {
    return {
      member: this.member && !this.stopped,
      assignment: this.assignment,
      failingSince: this.failingSince,
      lastHeartbeatAt: this.lastHeartbeatAt,
      stopped: this.stopped,
    };
  }

  /**
   * Lag of the partitions assigned to this member: end offset minus the group's committed offset.
   * With transactions the end includes the last commit marker, so a caught-up partition shows a
   * lag of 1 — as Kafka's own kafka-consumer-groups tool does.
   */
  async lag(): Promise<PartitionLag[]> {
    return assignedLag(this.admin, this.options.groupId, this.assignment);
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

  /** A method, not a field read: `stop()` flips it while a batch awaits. */
  private isStopped(): boolean {
    return this.stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.endHolds();
    await this.consumer.disconnect();
    await Promise.all([...this.producers.keys()].map((key) => this.dropProducer(key)));
    await this.admin.disconnect();
  }
}
