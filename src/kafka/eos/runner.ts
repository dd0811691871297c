/**
 * The consume loop of exactly-once processing on `@confluentinc/kafka-javascript` (librdkafka),
 * exactly-once v2 (KIP-447) — the part Kafka Streams calls `TaskExecutor`. Every assigned
 * partition is consumed concurrently; each chunk of input is processed and joins the instance's
 * one open transaction ({@link TransactionGroup}), whose commit carries the chunk's offsets with
 * the consumer's group metadata: a member the group has dropped cannot commit, so there is no
 * per-partition producer, offset floor or ownership check. Committed offsets are read stable by
 * librdkafka itself (read_committed). Failures are retried or dead-lettered as
 * src/kafka/errors.ts classifies them.
 */
import { randomUUID } from 'node:crypto';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import type { KafkaMessage } from 'kafkajs';
import { ProcessingError, classify, failureOf, kafkaErrorType } from '../errors.js';
import { chunkMessages } from '../exactly-once.js';
import type {
  ExactlyOnceOptions,
  InputChunk,
  PartitionLag,
  ProcessResult,
  RunnerStatus,
} from '../exactly-once.js';
import {
  hasCommitted,
  committedOffsets,
  consumerConfig,
  countByTopic,
  librdkafkaLogger,
  offsetOf,
} from './binding.js';
import { assignedLag } from '../lag.js';
import type { Attempt } from './outcomes.js';
import { StaleError, reportCommitted } from './outcomes.js';
import type { InputOffset, Work } from './transactions.js';
import { CommitOutcomeUnknownError, TransactionGroup } from './transactions.js';

export type EosRunnerOptions = Omit<
  ExactlyOnceOptions,
  'kafka' | 'partitionAssigners' | 'transactionalIdPrefix' | 'startupCheckTimeoutMs'
> & {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /**
   * The instance's transactional id is `<prefix>.<random>`: unique per running instance; what a
   * crashed instance left open the broker aborts after `transactionTimeoutMs`.
   */
  readonly transactionalIdPrefix: string;
  /** Longest a transaction stays open while work keeps joining. @default 100 */
  readonly commitIntervalMs?: number;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** See the module's comment. */
export class EosRunner {
  private readonly kafka: KafkaJS.Kafka;
  private readonly consumer: KafkaJS.Consumer;
  private readonly admin: KafkaJS.Admin;
  private readonly group: TransactionGroup;
  /** Bumped at every revocation: work begun under an older generation is not committed. */
  private generation = 0;
  private stopped = false;
  private member = false;
  private lost = false;
  private assignment: Record<string, number[]> = {};
  private failingSince: number | undefined;
  /** Last sign the cluster answers: a batch, a rebalance, a commit, a lag read. */
  private lastContactAt = Date.now();
  private readonly assignedListeners: ((assignment: Record<string, number[]>) => void)[] = [];
  /** The next offset to read of each partition as last committed by this member. */
  private readonly committedNext = new Map<string, string>();

  constructor(private readonly options: EosRunnerOptions) {
    this.kafka = new KafkaJS.Kafka({
      kafkaJS: {
        brokers: [...options.brokers],
        clientId: options.clientId,
        logLevel: KafkaJS.logLevel.WARN,
        logger: librdkafkaLogger(options.logger),
      },
    });
    this.consumer = this.kafka.consumer(
      consumerConfig(options, (code, assignment, lost) => this.onRebalance(code, assignment, lost)),
    );
    this.admin = this.kafka.admin();
    this.group = new TransactionGroup({
      kafka: this.kafka,
      transactionalId: `${options.transactionalIdPrefix}.${randomUUID().slice(0, 8)}`,
      consumer: this.consumer,
      logger: options.logger,
      commitIntervalMs: options.commitIntervalMs ?? 100,
      maxRecords: 20_000,
      transactionTimeoutMs: options.transactionTimeoutMs ?? 10_000,
    });
  }

  /** Called on every assignment (metrics, partition health). */
  onAssigned(listener: (assignment: Record<string, number[]>) => void): void {
    this.assignedListeners.push(listener);
  }

  private key(topic: string, partition: number): string {
    return this.options.producerKey?.(topic, partition) ?? `${topic}.${partition}`;
  }

  private async onRebalance(
    code: number,
    assignment: { topic: string; partition: number }[],
    lost: boolean,
  ): Promise<{ topic: string; partition: number }[] | undefined> {
    this.lastContactAt = Date.now();
    if (code === KafkaJS.ErrorCodes.ERR__REVOKE_PARTITIONS) {
      this.generation++;
      this.member = false;
      this.lost ||= lost;
      this.assignment = {};
      // what this member built for them commits under the generation it was built in; a member
      // the group dropped must not commit it at all (its partitions may be another's already)
      if (lost) this.group.discardWaiting();
      else await this.group.flush().catch(() => undefined);
      this.committedNext.clear();
      return undefined;
    }
    if (code !== KafkaJS.ErrorCodes.ERR__ASSIGN_PARTITIONS) return undefined;
    const byTopic: Record<string, number[]> = {};
    for (const { topic, partition } of assignment) (byTopic[topic] ??= []).push(partition);
    this.assignment = byTopic;
    this.member = true;
    const rejoined = this.lost;
    this.lost = false;
    this.options.onAssignment?.(byTopic, { rejoined });
    for (const listener of this.assignedListeners) listener(byTopic);
    // the assignment as given: the client then applies no seek left pending from a batch given up
    // while the partition was away (it would override the group's committed offset)
    return assignment;
  }

  async start(): Promise<void> {
    await this.admin.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.options.topics] });
    await this.consumer.run({
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        this.lastContactAt = Date.now();
        const generation = this.generation;
        const chunks = chunkMessages(
          batch.messages as unknown as KafkaMessage[],
          this.options.maxRecordsPerTransaction ?? 2000,
          this.options.maxBytesPerTransaction ?? 1024 * 1024,
        );
        for (const messages of chunks) {
          const chunk: InputChunk = {
            topic: batch.topic,
            partition: batch.partition,
            messages,
            highWatermark: batch.highWatermark,
          };
          const last = messages[messages.length - 1]?.offset;
          if (last === undefined) continue;
          // not resolved: the client seeks back to the first record not committed
          if (
            !(await this.runChunk(chunk, () => payload.isStale() || generation !== this.generation))
          )
            return;
          payload.resolveOffset(last);
        }
      },
    });
  }

  private isStopped(): boolean {
    return this.stopped;
  }

  /**
   * Processes and commits one chunk, retrying as its failures' class says; a record that fails
   * deterministically — or for an unknown reason `maxUnknownAttempts` times — is found by trying
   * the chunk's records one at a time and dead-lettered with its offset. False when the chunk
   * must be left (stopped, revoked).
   */
  private async runChunk(chunk: InputChunk, stale: () => boolean): Promise<boolean> {
    const { topic, partition } = chunk;
    const last = chunk.messages[chunk.messages.length - 1]?.offset;
    if (last === undefined) return true;
    const next = (BigInt(last) + 1n).toString();
    const attempt: Attempt = { backoff: 250, unknown: 0 };
    for (;;) {
      if (this.isStopped() || stale()) return false;
      const started = process.hrtime.bigint();
      const built: { result?: ProcessResult } = {};
      try {
        await this.options.beforeChunk?.(chunk);
        const poison = attempt.poison;
        await this.group.run(this.key(topic, partition), async () => {
          if (this.isStopped() || stale()) throw new StaleError();
          const work = await this.build(chunk, next, poison, built);
          if (this.isStopped() || stale()) throw new StaleError();
          return work;
        });
      } catch (err) {
        if (err instanceof StaleError) return false;
        if (err instanceof CommitOutcomeUnknownError) {
          this.committedNext.delete(`${topic}:${partition}`);
          // the group's committed offset (read stable) says whether it landed
          if (!(await hasCommitted(this.consumer, topic, partition, next, () => this.isStopped())))
            continue;
        } else {
          const decision = await this.afterFailure(err, chunk, attempt, stale);
          if (decision === 'retry') continue;
          if (decision === 'split') {
            for (const m of chunk.messages)
              if (!(await this.runChunk({ ...chunk, messages: [m] }, stale))) return false;
            return true;
          }
          return false;
        }
      }
      this.failingSince = undefined;
      this.lastContactAt = Date.now();
      this.committedNext.set(`${topic}:${partition}`, next);
      reportCommitted(this.options, chunk, attempt.poison, built.result, started);
      return true;
    }
  }

  /** The chunk's work: its outputs, or the dead letter of its one poison record; its offsets. */
  private async build(
    chunk: InputChunk,
    next: string,
    poison: Attempt['poison'],
    built: { result?: ProcessResult },
  ): Promise<Work> {
    const { topic, partition } = chunk;
    const offsets = [{ topic, partition, offset: next }];
    if (poison) {
      const [message] = chunk.messages;
      if (!message || !this.options.deadLetter) return { records: [], offsets };
      const failure = failureOf(poison.err, poison.kind);
      return { records: this.options.deadLetter({ topic, partition }, message, failure), offsets };
    }
    try {
      const out = await this.options.process(chunk);
      built.result = Array.isArray(out) ? { records: out } : out;
    } catch (err) {
      throw new ProcessingError(err);
    }
    return { records: built.result.records, offsets };
  }

  /**
   * What to do after a failed attempt (src/kafka/errors.ts): retry after a backoff, split the
   * chunk to find its poison record, retry as the record's dead letter, or leave (stopped).
   */
  private async afterFailure(
    err: unknown,
    chunk: InputChunk,
    attempt: Attempt,
    stale: () => boolean,
  ): Promise<'retry' | 'split' | 'leave'> {
    const { topic, partition } = chunk;
    const kind = classify(err);
    const type = kafkaErrorType(err) ?? (kind === 'transient' ? 'UNKNOWN' : kind.toUpperCase());
    this.failingSince ??= Date.now();
    this.options.onFailed?.({ topic, partition, type });
    if (kind === 'unknown') attempt.unknown++;
    const maxUnknown = this.options.maxUnknownAttempts ?? 5;
    const hopeless =
      kind === 'deterministic' || (kind === 'unknown' && attempt.unknown >= maxUnknown);
    if (!attempt.poison && this.options.deadLetter && hopeless) {
      if (chunk.messages.length === 1) {
        attempt.poison = { err, kind };
        return 'retry';
      }
      this.options.logger.warn(
        { topic, partition, kind, records: chunk.messages.length },
        'a chunk failed for a reason that will not go away; trying its records one by one',
      );
      return 'split';
    }
    this.options.logger.warn(
      { err, topic, partition, kind, retryInMs: attempt.backoff },
      'transaction failed; retrying',
    );
    const until = Date.now() + attempt.backoff;
    while (Date.now() < until && !this.isStopped() && !stale())
      await sleep(Math.min(250, until - Date.now()));
    attempt.backoff = Math.min(attempt.backoff * 2, this.options.maxBackoffMs ?? 10_000);
    return this.isStopped() ? 'leave' : 'retry';
  }

  /** The input offsets of `key`'s partitions as committed: a timer transaction commits them again. */
  private async keyOffsets(key: string): Promise<InputOffset[]> {
    const partitions = Object.entries(this.assignment).flatMap(([topic, parts]) =>
      parts.filter((p) => this.key(topic, p) === key).map((partition) => ({ topic, partition })),
    );
    const unknown = partitions.filter(
      (tp) => !this.committedNext.has(`${tp.topic}:${tp.partition}`),
    );
    if (unknown.length > 0) {
      for (const c of await this.consumer.committed(unknown))
        if (offsetOf(c.offset) !== undefined)
          this.committedNext.set(`${c.topic}:${c.partition}`, c.offset);
    }
    return partitions.flatMap(({ topic, partition }) => {
      const offset = this.committedNext.get(`${topic}:${partition}`);
      return offset === undefined ? [] : [{ topic, partition, offset }];
    });
  }

  /**
   * Runs a transaction that consumes no input (timers firing), never in the same transaction as
   * other work on `topic`/`partition`'s key. It commits the key's input offsets again, so that a
   * member the group dropped cannot commit it.
   */
  async transact(
    topic: string,
    partition: number,
    build: () => Promise<ProcessResult>,
  ): Promise<void> {
    const generation = this.generation;
    const key = this.key(topic, partition);
    const started = process.hrtime.bigint();
    let result: ProcessResult | undefined;
    try {
      const current = () =>
        !this.isStopped() &&
        this.member &&
        generation === this.generation &&
        (this.assignment[topic] ?? []).includes(partition);
      await this.group.run(key, async (): Promise<Work | undefined> => {
        if (!current()) throw new StaleError();
        result = await build();
        const records = result.records.filter((r) => r.messages.length > 0);
        if (records.length === 0) return undefined;
        const offsets = await this.keyOffsets(key);
        if (!current()) throw new StaleError();
        return { records, offsets };
      });
    } catch (err) {
      if (err instanceof StaleError) return;
      const type = kafkaErrorType(err) ?? 'UNKNOWN';
      this.options.onFailed?.({ topic, partition, type });
      // whether it landed cannot be told by offsets: the state must be read again
      if (err instanceof CommitOutcomeUnknownError)
        this.options.onCommitUncertain?.(topic, partition);
      throw err;
    }
    const done = result;
    if (!done) return;
    done.afterCommit?.();
    const records = done.records.filter((r) => r.messages.length > 0);
    if (records.length === 0) return;
    this.options.onCommitted?.({
      topic,
      partition,
      records: 0,
      outputs: countByTopic(records),
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    });
  }

  /** Nothing to do under exactly-once v2: the consumer's stable offset read is the fence. */
  initProducer(): Promise<void> {
    return Promise.resolve();
  }

  status(): RunnerStatus {
    return {
      member: this.member && !this.stopped,
      assignment: this.assignment,
      failingSince: this.failingSince,
      lastHeartbeatAt: this.lastContactAt,
      stopped: this.stopped,
    };
  }

  /** End offset minus the group's committed offset, per assigned partition. */
  async lag(): Promise<PartitionLag[]> {
    const lags = await assignedLag(
      this.admin,
      () => committedOffsets(this.consumer, this.assignment),
      this.assignment,
    );
    this.lastContactAt = Date.now();
    return lags;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.group.flush().catch(() => undefined);
    await this.consumer.disconnect().catch(() => undefined);
    await this.group.close();
    await this.admin.disconnect().catch(() => undefined);
  }
}
