/**
 * The processing of input chunks by the kafkajs exactly-once runner — a task's processing in
 * Kafka Streams: each chunk of a fetched batch is processed and committed with its input offsets
 * in one transaction, retried or dead-lettered as src/kafka/errors.ts classifies its failures;
 * and transactions that consume no input (timers firing).
 */
import type { EachBatchPayload } from 'kafkajs';
import { FENCED_TYPES, ProcessingError, classify, failureOf, kafkaErrorType } from '../errors.js';
import type { ErrorClass } from '../errors.js';
import type { ExactlyOnceOptions, InputChunk, ProcessResult, TopicRecords } from './options.js';
import type { OffsetFloors } from './ownership.js';
import { FencedError } from './producers.js';
import type { PartitionProducers } from './producers.js';

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

/** What a chunk needs of its batch's kafkajs payload. */
type BatchControl = Pick<EachBatchPayload, 'heartbeat' | 'isRunning' | 'isStale' | 'resolveOffset'>;

/** Processes and commits chunks on the producers of their partitions. */
export class ChunkProcessor {
  /** Since when (epoch ms) transactions have been failing without one succeeding, if they are. */
  failingSince: number | undefined;

  constructor(
    private readonly options: ExactlyOnceOptions,
    private readonly producers: PartitionProducers,
    private readonly floors: OffsetFloors,
    /** A function, not a field read: `stop()` flips it while a batch awaits. */
    private readonly isStopped: () => boolean,
  ) {}

  /**
   * Processes and commits one chunk, retrying as its failures' class says (src/kafka/errors.ts):
   * transient ones with backoff for as long as they last; a record that fails deterministically —
   * or for an unknown reason `maxUnknownAttempts` times — is found by trying the chunk's records
   * one at a time, and dead-lettered with its offset in one transaction. False when the batch must
   * end (stopped, a rebalance, fenced).
   */
  async runChunk(chunk: InputChunk, payload: BatchControl): Promise<boolean> {
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
          await this.leaveToNewOwner(err, topic, partition, type);
          return false;
        }
        if (kind === 'unknown') unknown += 1;
        const maxUnknown = this.options.maxUnknownAttempts ?? 5;
        if (
          !poison &&
          this.options.deadLetter &&
          (kind === 'deterministic' || (kind === 'unknown' && unknown >= maxUnknown))
        ) {
          if (chunk.messages.length > 1) return this.runOneByOne(chunk, kind, payload);
          poison = { err, kind };
          continue;
        }
        this.options.logger.warn(
          { err, topic, partition, kind, retryInMs: backoff },
          'transaction failed; retrying',
        );
        await this.waitToRetry(backoff, payload);
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

  /** Another member owns this partition now: leave it to them. */
  private async leaveToNewOwner(
    err: unknown,
    topic: string,
    partition: number,
    type: string,
  ): Promise<void> {
    if (!(err instanceof FencedError))
      this.options.logger.warn(
        { topic, partition, type },
        'producer fenced; leaving the partition to its new owner',
      );
    await this.producers.fence(topic, partition);
    // kafkajs fetches the partition again until the rebalance reaches this member
    await new Promise((r) => setTimeout(r, 500));
  }

  /**
   * Which record of a chunk fails for a reason that will not go away? Each alone: the others
   * commit as they would have. False when the batch must end.
   */
  private async runOneByOne(
    chunk: InputChunk,
    kind: ErrorClass,
    payload: BatchControl,
  ): Promise<boolean> {
    const { topic, partition } = chunk;
    this.options.logger.warn(
      { topic, partition, kind, records: chunk.messages.length },
      'a chunk failed for a reason that will not go away; trying its records one by one',
    );
    for (const m of chunk.messages)
      if (!(await this.runChunk({ ...chunk, messages: [m] }, payload))) return false;
    return true;
  }

  /** Waits `backoff` ms before a failed chunk's retry, heartbeating. */
  private async waitToRetry(
    backoff: number,
    payload: Pick<BatchControl, 'heartbeat'>,
  ): Promise<void> {
    // wait, but keep the group membership alive meanwhile; a rebalance ends the batch
    // (the heartbeat throws, kafkajs rejoins) and the next owner starts from the
    // committed offset: the aborted chunk is neither lost nor doubled
    const until = Date.now() + backoff;
    while (Date.now() < until && !this.isStopped()) {
      await new Promise((r) => setTimeout(r, Math.min(1000, until - Date.now())));
      await payload.heartbeat();
    }
  }

  /** Commits the dead letter of a one-record chunk with its offset: the partition moves on. */
  private deadLetterChunk(
    chunk: InputChunk,
    lastOffset: string,
    err: unknown,
    kind: ErrorClass,
  ): Promise<void> {
    const key = this.producers.key(chunk.topic, chunk.partition);
    return this.producers.locked(key, async () => {
      const [message] = chunk.messages;
      const deadLetter = this.options.deadLetter;
      if (!message || !deadLetter) return;
      const producer = await this.producers.producerFor(key);
      if (BigInt(message.offset) < (await this.floors.floorOf(chunk.topic, chunk.partition)))
        return;
      const failure = failureOf(err, kind);
      const records = deadLetter(
        { topic: chunk.topic, partition: chunk.partition },
        message,
        failure,
      );
      await this.producers.runTransaction(
        producer,
        key,
        chunk.topic,
        chunk.partition,
        records,
        (txn) => this.producers.sendOffsets(txn, chunk, lastOffset),
      );
      this.floors.committed(chunk.topic, chunk.partition, lastOffset);
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

  private commitChunk(chunk: InputChunk, lastOffset: string): Promise<void> {
    return this.producers.locked(this.producers.key(chunk.topic, chunk.partition), () =>
      this.commitChunkNow(chunk, lastOffset),
    );
  }

  private async commitChunkNow(input: InputChunk, lastOffset: string): Promise<void> {
    let chunk = input;
    const started = process.hrtime.bigint();
    const key = this.producers.key(chunk.topic, chunk.partition);
    const producer = await this.producers.producerFor(key);
    const floor = await this.floors.floorOf(chunk.topic, chunk.partition);
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
    await this.producers.runTransaction(
      producer,
      key,
      chunk.topic,
      chunk.partition,
      outputs,
      (txn) => this.producers.sendOffsets(txn, chunk, lastOffset),
    );
    this.floors.committed(chunk.topic, chunk.partition, lastOffset);
    result.afterCommit?.();
    this.options.onCommitted?.({
      topic: chunk.topic,
      partition: chunk.partition,
      records: chunk.messages.length,
      outputs: countByTopic(outputs),
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    });
  }

  /** A transaction that consumes no input (timers firing), in the turn of its producer. */
  transact(topic: string, partition: number, build: () => Promise<ProcessResult>): Promise<void> {
    const key = this.producers.key(topic, partition);
    return this.producers.locked(key, async () => {
      const started = process.hrtime.bigint();
      const result = await build();
      const topicMessages = result.records.filter((o) => o.messages.length > 0);
      if (topicMessages.length === 0) {
        result.afterCommit?.();
        return;
      }
      const producer = await this.producers.producerFor(key);
      try {
        await this.producers.runTransaction(producer, key, topic, partition, topicMessages);
      } catch (err) {
        const type = kafkaErrorType(err) ?? 'UNKNOWN';
        this.options.onFailed?.({ topic, partition, type });
        if (FENCED_TYPES.has(type)) await this.producers.fence(topic, partition);
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
}
