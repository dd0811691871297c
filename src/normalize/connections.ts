import { randomUUID } from 'node:crypto';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Admin, Batch, Consumer, Kafka } from 'kafkajs';
import { connectionKey } from '../contract/connections.js';
import type { ConnectionRegistered } from '../contract/connections.js';
import type { Logger } from '../lib/logger.js';
import { NotReadyError, registryUnreachable } from '../kafka/errors.js';
import type { ConnectionDirectory } from './types.js';

/** How long a catch-up before an "unregistered" verdict waits for the table at most. */
const CATCH_UP_TIMEOUT_MS = 5000;
/** Silence after the join after which the start takes the table to be read (compacted ends). */
const QUIET_END_MS = 15_000;

/**
 * Which customer each registered connection belongs to (Plaid Items), read from the compacted
 * connections topic — Kafka Streams' GlobalKTable: every normalizer instance reads every
 * partition, from the start, into memory (one short entry per Item), and keeps following it.
 *
 * The normalizer consults it while mapping: a Plaid webhook is attributed to the customer its
 * Item is registered to when the webhook is processed, in the transaction that writes its events
 * (exactly once); an Item the table does not know after a catch-up to the topic's end is never
 * guessed at — the webhook is dead-lettered UNREGISTERED_CONNECTION, to be replayed once the Item
 * is registered (docs/sources.md).
 */
export class ConnectionTable implements ConnectionDirectory {
  private readonly owners = new Map<string, string>();
  /** Next offset to read, per partition. */
  private readonly positions = new Map<number, bigint>();
  private consumer: Consumer | undefined;
  private readonly groupId = `refreshbus-connections-${randomUUID()}`;
  private lastActivity = Date.now();
  private joined = false;
  /** Set when the reader stopped for good (a crash kafkajs does not restart from). */
  private failed: Error | undefined;
  private admin: Admin | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly registry: Pick<SchemaRegistry, 'decode'>,
    private readonly topic: string,
    private readonly logger: Logger,
  ) {}

  customerOf(source: string, connectionId: string): string | undefined {
    return this.owners.get(connectionKey(source, connectionId));
  }

  /** Starts following the topic and resolves once it has read what the topic held at the start. */
  async start(): Promise<void> {
    try {
      await this.follow();
    } catch (err) {
      await this.stop().catch(() => undefined); // a retried start begins afresh
      throw err;
    }
  }

  private async follow(): Promise<void> {
    const ends = await this.endOffsets();
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      maxWaitTimeInMs: 100,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.joined = true;
      this.lastActivity = Date.now();
    });
    // markers and aborted records are reported here, not to eachBatch
    consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
      this.advance(event.payload.partition, BigInt(event.payload.lastOffset) + 1n);
    });
    consumer.on(consumer.events.CRASH, (event) => {
      if (event.payload.restart) return; // kafkajs rejoins, and the table reads on
      this.failed = new Error(`the connections reader stopped: ${event.payload.error.message}`);
      this.logger.error({ err: event.payload.error }, 'the connections reader stopped');
    });
    await consumer.run({ autoCommit: false, eachBatch: ({ batch }) => this.apply(batch) });
    // a compacted topic's very last records may be gone: a long silence after the join ends it
    await this.until(ends, Infinity, true);
    this.logger.info({ connections: this.owners.size }, 'connection table read');
  }

  /**
   * Reads up to the topic's end as of now: a registration stored before this call is then known.
   * Called before a connection is declared unregistered; throws NotReadyError (the chunk is
   * retried, not dead-lettered) when the table cannot get there within `timeoutMs`.
   */
  async catchUp(timeoutMs = CATCH_UP_TIMEOUT_MS): Promise<void> {
    if (!(await this.until(await this.endOffsets(), timeoutMs, false)))
      throw new NotReadyError('the connections are not read up to their end (yet)');
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    if (!consumer) return;
    await consumer.disconnect();
    const admin = await this.connectedAdmin();
    await admin.deleteGroups([this.groupId]).catch(() => undefined);
    this.admin = undefined;
    await admin.disconnect();
  }

  private async apply(batch: Batch): Promise<void> {
    for (const m of batch.messages) {
      // after a rejoin the uncommitted group reads from the start again: what is applied stays
      // (re-applying an older record would restore an owner the table had moved on from)
      if (BigInt(m.offset) < (this.positions.get(batch.partition) ?? 0n)) continue;
      const key = m.key?.toString();
      if (key) {
        if (m.value === null) this.owners.delete(key);
        else await this.put(key, m.value, batch.partition, m.offset);
      }
      this.advance(batch.partition, BigInt(m.offset) + 1n);
    }
  }

  /**
   * Applies a registration. Its schema comes from the registry (cached after the first): while
   * the registry cannot be reached, the table waits and retries — a registration skipped would
   * dead-letter its Item's webhooks. Bytes that are no Avro of the registry's are skipped (the
   * ingest alone writes this topic), logged.
   */
  private async put(key: string, value: Buffer, partition: number, offset: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const registered = (await this.registry.decode(value)) as ConnectionRegistered;
        this.owners.set(key, registered.customer_id);
        return;
      } catch (err) {
        if (!registryUnreachable(err) || !this.consumer) {
          this.logger.error({ err, partition, offset }, 'a connection record could not be read');
          return;
        }
        if (attempt === 1) this.logger.warn({ err }, 'connections wait for the schema registry');
        this.lastActivity = Date.now(); // waiting, not done: the start's silence rule must not end it
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * attempt)));
      }
    }
  }

  private advance(partition: number, next: bigint): void {
    this.lastActivity = Date.now();
    if (next > (this.positions.get(partition) ?? 0n)) this.positions.set(partition, next);
  }

  /**
   * Waits until every partition is read to `ends`: true; false after `timeoutMs`, or — with
   * `quietEnds`, at the start — once joined and silent for long (a compacted end). Throws once
   * the reader has stopped for good.
   */
  private async until(
    ends: ReadonlyMap<number, bigint>,
    timeoutMs: number,
    quietEnds: boolean,
  ): Promise<boolean> {
    const started = Date.now();
    for (;;) {
      if (this.failed) throw this.failed;
      const behind = [...ends].some(([p, end]) => (this.positions.get(p) ?? 0n) < end);
      if (!behind) return true;
      const quiet = Date.now() - Math.max(started, this.lastActivity) > QUIET_END_MS;
      if (quietEnds && this.joined && quiet) return true;
      if (Date.now() - started > timeoutMs) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private async connectedAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    return this.admin;
  }

  /** Each partition's end offset, for partitions holding records. */
  private async endOffsets(): Promise<Map<number, bigint>> {
    const offsets = await (await this.connectedAdmin()).fetchTopicOffsets(this.topic);
    return new Map(
      offsets
        .filter((p) => BigInt(p.high) > BigInt(p.low))
        .map((p) => [p.partition, BigInt(p.high)]),
    );
  }
}
