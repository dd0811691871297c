/**
 * What the kafkajs exactly-once runner is given and what it reports: its options, the chunks of
 * input it processes and the records they produce, its committed transactions, status and lag.
 */
import type { ConsumerConfig, Kafka, KafkaMessage, Message } from 'kafkajs';
import type { Logger } from '../../lib/logger.js';
import type { ErrorClass } from '../errors.js';

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
