/**
 * One transactional producer per instance, exactly-once v2 (KIP-447) — the part Kafka Streams
 * calls `StreamsProducer`. Work of any number of input partitions joins the one open transaction;
 * it commits when nothing else is being built (so a lone record waits for nobody), when
 * `commitIntervalMs` has passed since the oldest waiting work joined, or at `maxRecords` — like Streams'
 * `commit.interval.ms` under exactly-once, but without waiting out the interval when idle. While a
 * commit is under way the next transaction's work gathers: under load, transactions grow by
 * themselves (group commit).
 *
 * Each piece of work has a key (its state: an input partition, or several co-partitioned ones):
 * a key is in at most one transaction at a time, so work built on a key's state always sees what
 * its previous transaction committed.
 */
import type { KafkaJS } from '@confluentinc/kafka-javascript';
import type { Logger } from '../../lib/logger.js';
import type { TopicRecords } from '../exactly-once.js';
import {
  asBuffer,
  asKafkaError,
  internalClient,
  isAbortable,
  isRetriable,
  mergeOffsets,
  rdkafkaHeaders,
} from './binding.js';

type Producer = KafkaJS.Producer;
type Consumer = KafkaJS.Consumer;

/** Input offsets a piece of work consumed: the next offset to read of `topic`/`partition`. */
export interface InputOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** What one piece of work adds to a transaction. */
export interface Work {
  readonly records: readonly TopicRecords[];
  readonly offsets: readonly InputOffset[];
}

/** The work's own records were refused (its send failed): the transaction was aborted. */
export class SendRefusedError extends Error {
  constructor(cause: unknown) {
    super(`a record was refused: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'SendRefusedError';
  }
}

/** Another piece of work in the same transaction failed: this one was aborted with it. */
export class AbortedWithOthersError extends Error {
  readonly type = 'ABORTED_WITH_OTHERS';
  constructor(other: unknown) {
    // the other work's reason is not a cause: classified through it, this work (whose records
    // were fine) would be taken for poison too
    super(
      `the transaction was aborted for another partition’s failure (${other instanceof Error ? other.message : String(other)})`,
    );
    this.name = 'AbortedWithOthersError';
  }
}

/**
 * The commit failed in a way that does not say whether it landed (the producer hit a fatal error
 * while committing). The group's committed offsets tell, read stable.
 */
export class CommitOutcomeUnknownError extends Error {
  readonly type = 'COMMIT_OUTCOME_UNKNOWN';
  constructor(cause: unknown) {
    super(
      `a commit failed without saying whether it landed: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'CommitOutcomeUnknownError';
  }
}

export interface TransactionGroupOptions {
  readonly kafka: KafkaJS.Kafka;
  readonly transactionalId: string;
  /** The consumer whose group metadata fences the offsets (KIP-447). */
  readonly consumer: Consumer;
  readonly logger: Logger;
  /** Longest a transaction stays open while work keeps joining. @default 100 */
  readonly commitIntervalMs?: number;
  /** Output records after which the transaction commits whatever still builds. @default 20000 */
  readonly maxRecords?: number;
  /** The broker aborts a transaction left open this long (a crashed instance). @default 10000 */
  readonly transactionTimeoutMs?: number;
}

interface Member {
  readonly work: Work;
  readonly done: { resolve: () => void; reject: (err: unknown) => void };
}

/** See the module's comment. */
export class TransactionGroup {
  private producer: Promise<Producer> | undefined;
  private readonly keys = new Map<string, Promise<unknown>>();
  /** Work built, waiting for the next transaction. */
  private waiting: Member[] = [];
  /** When the oldest work waiting for the next transaction joined. */
  private firstWaitingAt = 0;
  private building = 0;
  private committing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: TransactionGroupOptions) {}

  /**
   * Builds work on `key` once the key is in no transaction, adds it to the open transaction and
   * resolves when that commits. Rejects with the build's error (nothing joined), with
   * {@link SendRefusedError} / {@link AbortedWithOthersError} (aborted: build again),
   * {@link CommitOutcomeUnknownError}, or the producer's error.
   */
  run(key: string, build: () => Promise<Work | undefined>): Promise<void> {
    const previous = this.keys.get(key) ?? Promise.resolve();
    const next = previous.then(
      () => this.buildAndJoin(build),
      () => this.buildAndJoin(build),
    );
    const settled = next.catch(() => undefined);
    this.keys.set(key, settled);
    void settled.then(() => {
      if (this.keys.get(key) === settled) this.keys.delete(key);
    });
    return next;
  }

  /** Commits what is open or waiting now (a revocation, a stop). */
  async flush(): Promise<void> {
    for (;;) {
      if (this.committing) await this.committing.catch(() => undefined);
      else if (this.waiting.length > 0) this.commitSoon(true);
      else return;
    }
  }

  /** Drops the work waiting for the next transaction (a member the group dropped): rejected. */
  discardWaiting(): void {
    const dropped = this.waiting;
    this.waiting = [];
    this.firstWaitingAt = 0;
    for (const m of dropped)
      m.done.reject(new Error('this member lost its partitions before the work was committed'));
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    this.closed = true;
    clearTimeout(this.timer);
    await this.dropProducer();
  }

  private async buildAndJoin(build: () => Promise<Work | undefined>): Promise<void> {
    this.building++;
    let work: Work | undefined;
    try {
      work = await build();
    } finally {
      this.building--;
    }
    if (!work || (work.offsets.length === 0 && work.records.every((r) => !r.messages.length))) {
      this.maybeCommit();
      return;
    }
    const joined = work;
    if (this.closed) throw new Error('the transaction group is closed');
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ work: joined, done: { resolve, reject } });
      this.maybeCommit();
    });
  }

  /**
   * Commits the waiting work when it is time: nothing else is being built, the oldest waiting work
   * joined `commitIntervalMs` ago, or `maxRecords` wait; else arms a timer for the interval.
   */
  private maybeCommit(): void {
    if (this.committing || this.closed) return;
    if (this.waiting.length === 0) return;
    if (this.firstWaitingAt === 0) this.firstWaitingAt = Date.now();
    const elapsed = Date.now() - this.firstWaitingAt;
    const interval = this.options.commitIntervalMs ?? 100;
    const due =
      this.building === 0 ||
      elapsed >= interval ||
      this.waitingRecords() >= (this.options.maxRecords ?? 20_000);
    if (due) {
      this.commitSoon(false);
      return;
    }
    // more work is being built: let it join, but not for longer than the interval
    if (!this.timer)
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.commitSoon(false);
        },
        Math.max(0, interval - elapsed),
      );
  }

  private waitingRecords(): number {
    return this.waiting.reduce(
      (n, m) => n + m.work.records.reduce((k, r) => k + r.messages.length, 0),
      0,
    );
  }

  private commitSoon(force: boolean): void {
    if (this.committing || (!force && this.closed)) return;
    if (this.waiting.length === 0) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.committing = this.commitNow().finally(() => {
      this.committing = undefined;
      // what gathered meanwhile
      if (this.waiting.length > 0) this.maybeCommit();
    });
  }

  private async commitNow(): Promise<void> {
    const members = this.waiting;
    this.waiting = [];
    this.firstWaitingAt = 0;
    let producer: Producer;
    try {
      producer = await this.producerNow();
    } catch (err) {
      for (const m of members) m.done.reject(err);
      return;
    }
    let txn: KafkaJS.Transaction;
    try {
      txn = await producer.transaction();
    } catch (err) {
      // a producer that cannot begin is replaced (its successor's InitProducerId aborts it)
      await this.dropProducer();
      for (const m of members) m.done.reject(err);
      return;
    }
    const refused = await this.produceAll(producer, members);
    if (refused.size > 0) {
      await this.abort(txn);
      const first = [...refused.values()][0];
      for (const m of members) {
        const reason = refused.get(m);
        m.done.reject(
          reason !== undefined ? new SendRefusedError(reason) : new AbortedWithOthersError(first),
        );
      }
      return;
    }
    await this.commitMembers(txn, members);
  }

  /**
   * Hands every record to librdkafka, which batches them (linger.ms), and waits until each is
   * acknowledged or failed. Only failed deliveries are reported (delivery.report.only.error),
   * each to the work it belongs to: the work whose records were refused, and why.
   */
  private async produceAll(producer: Producer, members: readonly Member[]) {
    const refused = new Map<Member, unknown>();
    const client = internalClient(producer);
    for (const m of members) {
      const report = {
        resolve: () => undefined,
        reject: (err: unknown) => {
          if (!refused.has(m)) refused.set(m, err);
        },
      };
      for (const { topic, messages } of m.work.records)
        for (const message of messages) {
          try {
            client.produce(
              topic,
              message.partition ?? -1,
              asBuffer(message.value),
              message.key ?? null,
              message.timestamp ? Number(message.timestamp) : 0,
              report,
              rdkafkaHeaders(message.headers),
            );
          } catch (err) {
            // refused before it left (larger than message.max.bytes, a full queue): the binding
            // throws a bare librdkafka error with a numeric code, named here as the client would
            report.reject(asKafkaError(err));
          }
        }
    }
    try {
      await producer.flush({ timeout: this.options.transactionTimeoutMs ?? 10_000 });
      // the failures' reports are due by now
      await new Promise((r) => setImmediate(r));
    } catch (err) {
      for (const m of members) if (!refused.has(m)) refused.set(m, err);
    }
    return refused;
  }

  /** Sends the members' input offsets with the consumer's group metadata and commits. */
  private async commitMembers(txn: KafkaJS.Transaction, members: readonly Member[]) {
    const offsets = mergeOffsets(members.map((m) => m.work.offsets));
    try {
      if (offsets.length > 0)
        await txn.sendOffsets({ consumer: this.options.consumer, topics: offsets });
    } catch (err) {
      // fenced by the group (a generation that is no more), or the coordinator's trouble
      await this.abort(txn);
      for (const m of members) m.done.reject(err);
      return;
    }
    try {
      await this.commitRetrying(txn);
    } catch (err) {
      if (isAbortable(err)) {
        await this.abort(txn);
        for (const m of members) m.done.reject(err);
        return;
      }
      // fatal: the producer is done; whether the commit landed, its successor settles
      await this.dropProducer();
      const unknown = new CommitOutcomeUnknownError(err);
      for (const m of members) m.done.reject(unknown);
      return;
    }
    for (const m of members) m.done.resolve();
  }

  /** librdkafka lets a commit that failed retriably be retried: it resumes where it was. */
  private async commitRetrying(txn: KafkaJS.Transaction): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await txn.commit();
        return;
      } catch (err) {
        if (!isRetriable(err) || attempt >= 6 || this.closed) throw err;
        this.options.logger.warn({ err, attempt }, 'commit failed retriably; retrying it');
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  }

  private async abort(txn: KafkaJS.Transaction): Promise<void> {
    try {
      await txn.abort();
    } catch (err) {
      this.options.logger.warn({ err }, 'abort failed; replacing the producer');
      await this.dropProducer();
    }
  }

  private producerNow(): Promise<Producer> {
    if (!this.producer) {
      const p = this.options.kafka.producer({
        kafkaJS: {
          transactionalId: this.options.transactionalId,
          idempotent: true,
          transactionTimeout: this.options.transactionTimeoutMs ?? 10_000,
          maxInFlightRequests: 5,
        },
        'linger.ms': 5,
        // the client's own size check no stricter than the topics' (dead letters up to 2 MB):
        // what a topic refuses comes back from the broker as MESSAGE_TOO_LARGE
        'message.max.bytes': 4 * 1024 * 1024,
        // records are produced through the binding (see commitNow): only failures are reported
        'delivery.report.only.error': true,
      });
      const connected = p.connect().then(() => p);
      connected.catch(() => {
        if (this.producer === connected) this.producer = undefined;
      });
      this.producer = connected;
    }
    return this.producer;
  }

  private async dropProducer(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.then((p) => p.disconnect()).catch(() => undefined);
  }
}
