import type { IHeaders, Kafka, Producer } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { kafkaErrorType } from '../kafka/errors.js';
import type { Logger } from '../lib/logger.js';

/** One record for Kafka. */
export interface OutgoingRecord {
  readonly topic: string;
  readonly key: string;
  readonly value: Buffer;
  readonly headers: IHeaders;
}

/** The bytes of a record's value (none for a tombstone). */
function valueBytes(record: Outgoing): number {
  return record.value?.length ?? 0;
}

/** A deletion on a compacted topic: the key with no value. */
export interface OutgoingTombstone {
  readonly topic: string;
  readonly key: string;
  readonly value: null;
  readonly headers: IHeaders;
}

/** What the ingest writes: a record, or a tombstone. */
export type Outgoing = OutgoingRecord | OutgoingTombstone;

/** Why a record was not acknowledged: the HTTP layer answers 503 for each. */
export class PublishUnavailableError extends Error {
  constructor(
    readonly reason: 'overloaded' | 'timeout' | 'not-connected' | 'closed' | 'too-large',
    message: string,
  ) {
    super(message);
    this.name = 'PublishUnavailableError';
  }
}

/**
 * A record kafkajs cannot encode (a header value that is neither a string nor bytes, a key that is
 * not a string): a defect upstream. Refused on its own, before it joins a batch — kafkajs sizes
 * every record of a produce request together and would fail all of them.
 */
export class InvalidRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRecordError';
  }
}

const isBytesOrText = (value: unknown) => typeof value === 'string' || Buffer.isBuffer(value);

/** Why kafkajs could not encode `record`, or undefined when it can. */
function invalidPart(record: Outgoing): string | undefined {
  // typed as valid: these checks guard against values that came around the types (an undefined
  // `request.ip` once made a header undefined, failing every record sent beside it)
  const { topic, key, value, headers } = record as {
    readonly [K in keyof OutgoingRecord]: unknown;
  };
  if (typeof topic !== 'string' || topic === '') return 'its topic is not a name';
  if (typeof key !== 'string') return 'its key is not a string';
  if (value !== null && !Buffer.isBuffer(value)) return 'its value is not bytes';
  if (typeof headers !== 'object' || headers === null) return 'its headers are not an object';
  for (const [name, header] of Object.entries(headers)) {
    const ok = Array.isArray(header) ? header.every(isBytesOrText) : isBytesOrText(header);
    if (!ok) return `its header ${JSON.stringify(name)} is neither a string nor bytes`;
  }
  return undefined;
}

export interface PublisherOptions {
  readonly maxBatchRecords: number;
  readonly maxBatchBytes: number;
  readonly lingerMs: number;
  /** Records queued or in flight at once; more are refused (load shedding), never queued. */
  readonly maxInFlight: number;
  /** Bytes queued or in flight at once; more are refused. @default 64 MiB */
  readonly maxInFlightBytes?: number;
}

/** What the publisher reports, for metrics. */
export interface PublisherObserver {
  batchSent?(records: number, bytes: number, seconds: number): void;
  batchFailed?(records: number, err: unknown): void;
  inFlight?(count: number): void;
}

interface Pending {
  readonly record: Outgoing;
  readonly size: number;
  resolve(): void;
  reject(err: Error): void;
  /** Set once its request stopped waiting: if still queued, it is not sent at all. */
  abandoned: boolean;
  /** In the queue (not yet taken into a produce request). */
  queued: boolean;
}

/** The producer side the publisher needs: kafkajs's `sendBatch` (acks=all) and connection life. */
export type BatchSender = Pick<Producer, 'connect' | 'disconnect' | 'sendBatch'>;

export function createIdempotentProducer(kafka: Kafka): Producer {
  // idempotent: kafkajs retries without limit and the broker drops duplicates of retried batches
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/**
 * Gathers concurrent records into produce requests (kafkajs sends one request per `send`) and
 * settles each record's promise when its batch is acknowledged by all in-sync replicas. One batch
 * is in flight at a time, which keeps the idempotent producer's ordering simple; the next batch
 * fills meanwhile.
 *
 * After a produce request fails, the next one goes out on a new producer (`newProducer`): the
 * failed request may or may not have been written, so the idempotent producer's sequence numbers
 * no longer match the broker's, and kafkajs never resynchronises them — after a broker restart
 * every later request failed with OUT_OF_ORDER_SEQUENCE_NUMBER, and a reused sequence number could
 * even make the broker take a different batch for a duplicate. A new producer id starts afresh.
 */
export class BatchingPublisher {
  private producer: BatchSender;
  /** The current producer's last request failed: replace it before the next one. */
  private renewNeeded = false;
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private inFlightCount = 0;
  private inFlightBytes = 0;
  private sending = false;
  private timer: NodeJS.Timeout | undefined;
  private connected = false;
  private closed = false;
  private drained: (() => void) | undefined;

  constructor(
    private readonly newProducer: () => BatchSender,
    private readonly options: PublisherOptions,
    private readonly logger: Logger,
    private readonly observer: PublisherObserver = {},
  ) {
    this.producer = newProducer();
  }

  async connect(): Promise<void> {
    await this.producer.connect();
    this.connected = true;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  /**
   * Resolves once Kafka acknowledged the record with acks=all; rejects with
   * {@link PublishUnavailableError} when it is refused or not acknowledged within `timeoutMs`
   * (the record may still be written later: a 503 never promises it was not); rejects with
   * {@link InvalidRecordError}, alone, when the record cannot be encoded.
   */
  publish(record: Outgoing, timeoutMs: number): Promise<void> {
    const invalid = invalidPart(record);
    if (invalid !== undefined) {
      return Promise.reject(new InvalidRecordError(`record not sent: ${invalid}`));
    }
    if (this.closed) return Promise.reject(new PublishUnavailableError('closed', 'shutting down'));
    if (!this.connected)
      return Promise.reject(new PublishUnavailableError('not-connected', 'not connected to Kafka'));
    if (
      this.inFlightCount >= this.options.maxInFlight ||
      this.inFlightBytes + valueBytes(record) > (this.options.maxInFlightBytes ?? 64 * 1024 * 1024)
    ) {
      return Promise.reject(
        new PublishUnavailableError('overloaded', 'too many records waiting for Kafka'),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const size = valueBytes(record) + record.key.length + 64;
      const timeout = setTimeout(() => {
        pending.abandoned = true;
        if (pending.queued) {
          // not sent yet: drop it now, so an outage does not pile up bodies that were answered 503
          const at = this.queue.indexOf(pending);
          if (at >= 0) this.queue.splice(at, 1);
          pending.queued = false;
          this.queuedBytes -= size;
          settle();
        }
        reject(
          new PublishUnavailableError(
            'timeout',
            `Kafka did not acknowledge within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      let settled = false;
      const settle = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timeout);
        this.inFlightCount -= 1;
        this.inFlightBytes -= valueBytes(record);
        this.observer.inFlight?.(this.inFlightCount);
        if (this.inFlightCount === 0) this.drained?.();
      };
      const pending: Pending = {
        record,
        size,
        abandoned: false,
        queued: true,
        resolve: () => {
          settle();
          resolve();
        },
        reject: (err) => {
          settle();
          reject(err);
        },
      };
      this.inFlightCount += 1;
      this.inFlightBytes += valueBytes(record);
      this.observer.inFlight?.(this.inFlightCount);
      this.queue.push(pending);
      this.queuedBytes += size;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.sending) return;
    const full =
      this.queue.length >= this.options.maxBatchRecords ||
      this.queuedBytes >= this.options.maxBatchBytes;
    if (full || this.options.lingerMs === 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      void this.sendNext();
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        void this.sendNext();
      }, this.options.lingerMs);
    }
  }

  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    let bytes = 0;
    while (this.queue.length > 0 && batch.length < this.options.maxBatchRecords) {
      const next = this.queue[0];
      if (!next) break;
      if (batch.length > 0 && bytes + next.size > this.options.maxBatchBytes) break;
      this.queue.shift();
      this.queuedBytes -= next.size;
      next.queued = false;
      if (next.abandoned) {
        // its request already answered 503: sending it now would only make a duplicate
        next.reject(new PublishUnavailableError('timeout', 'abandoned before sending'));
        continue;
      }
      batch.push(next);
      bytes += next.size;
    }
    return batch;
  }

  private async sendNext(): Promise<void> {
    if (this.sending) return;
    const batch = this.takeBatch();
    if (batch.length === 0) return;
    this.sending = true;
    try {
      await this.send(batch);
    } finally {
      this.sending = false;
    }
    // what queued meanwhile has waited a whole produce round trip already: send it at once, not
    // after another linger (that idled the ingest between batches; see the linger test)
    if (this.queue.length > 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      void this.sendNext();
    }
  }

  /** One produce request (acks=all) for `batch`; settles each record with its outcome. */
  private async send(batch: Pending[]): Promise<void> {
    const started = process.hrtime.bigint();
    const byTopic = new Map<string, { key: string; value: Buffer | null; headers: IHeaders }[]>();
    let bytes = 0;
    for (const { record } of batch) {
      const list = byTopic.get(record.topic) ?? [];
      list.push({ key: record.key, value: record.value, headers: record.headers });
      byTopic.set(record.topic, list);
      bytes += valueBytes(record);
    }
    try {
      if (this.renewNeeded) await this.renewProducer();
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.observer.batchSent?.(batch.length, bytes, seconds);
      for (const p of batch) p.resolve();
    } catch (err) {
      this.observer.batchFailed?.(batch.length, err);
      if (kafkaErrorType(err) === 'MESSAGE_TOO_LARGE') {
        if (batch.length > 1) {
          // one partition's share was over the broker's limit: send the records one by one
          for (const p of batch) await this.send([p]);
          return;
        }
        this.logger.warn({ bytes }, 'record larger than the topic accepts');
        for (const p of batch) {
          p.reject(
            new PublishUnavailableError('too-large', 'the record is larger than the topic accepts'),
          );
        }
        return;
      }
      this.logger.error({ err, records: batch.length }, 'produce request failed');
      this.renewNeeded = true;
      for (const p of batch)
        p.reject(new PublishUnavailableError('timeout', 'Kafka refused the batch'));
    }
  }

  /** Replaces the producer; stays due for renewal until the new one is connected. */
  private async renewProducer(): Promise<void> {
    const old = this.producer;
    this.producer = this.newProducer();
    await old.disconnect().catch(() => undefined);
    await this.producer.connect();
    this.renewNeeded = false;
    this.logger.info('replaced the Kafka producer after a failed produce request');
  }

  /** Stops taking records, waits (up to `timeoutMs`) for those in flight, and disconnects. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    if (this.inFlightCount > 0) {
      await Promise.race([
        new Promise<void>((resolve) => (this.drained = resolve)),
        new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
      ]);
    }
    if (this.timer) clearTimeout(this.timer);
    await this.producer.disconnect();
    this.connected = false;
  }
}
