import { randomUUID } from 'node:crypto';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Config } from '../../config/config.js';
import { headerText } from '../../normalize/dlq.js';
import type { RefreshEvent } from '../../normalize/types.js';
import type {
  CustomerRefreshCompleted,
  NewTransactionsAvailable,
  ReconnectAlert,
  RefreshRequestedValue,
} from '../../processors/types.js';
import type { CheckReport, Observed } from './compare.js';
import { compareWithLedger, nothingMissing } from './compare.js';
import { SimulateError } from './sender.js';
import type { Delivery, Ledger } from './types.js';
import { REGISTERED_SOURCES, connectionKey } from '../../contract/connections.js';
import { HEADER } from '../../contract/headers.js';

/** The topics a run is checked on. */
export interface RunTopics {
  readonly raw: string;
  readonly requests: string;
  /** Plaid Items registered to customers (`plaid:<item_id>`): where a registration is stored. */
  readonly connections: string;
  readonly events: string;
  readonly dlq: string;
  readonly completed: string;
  readonly newTransactions: string;
  readonly alerts: string;
}

export function runTopicsOf(config: Config): RunTopics {
  return {
    raw: config.TOPIC_WEBHOOKS_RAW,
    requests: config.TOPIC_REFRESH_REQUESTS,
    connections: config.TOPIC_CONNECTIONS,
    events: config.TOPIC_REFRESH_EVENTS,
    dlq: config.TOPIC_REFRESH_DLQ,
    completed: config.TOPIC_CUSTOMER_COMPLETED,
    newTransactions: config.TOPIC_CUSTOMER_NEW_TRANSACTIONS,
    alerts: config.TOPIC_CUSTOMER_ALERTS,
  };
}

const topicNames = (t: RunTopics): string[] => [
  t.raw,
  t.requests,
  t.connections,
  t.events,
  t.dlq,
  t.completed,
  t.newTransactions,
  t.alerts,
];

/**
 * Whether a record's key is the run's: its customers' ids start with the run's prefix, and so do
 * its Plaid Items' (plaid.ts), registrations keyed `plaid:<item_id>`.
 */
function isRunKey(key: string, customerPrefix: string): boolean {
  return (
    key.startsWith(customerPrefix) ||
    REGISTERED_SOURCES.some((source) => key.startsWith(connectionKey(source, customerPrefix)))
  );
}

/** Where each partition of each topic ends: a run's records all come after. */
export type StartOffsets = ReadonlyMap<string, readonly { partition: number; offset: string }[]>;

/** The topics' end offsets now. Take them before the run sends anything. */
export async function snapshotOffsets(kafka: Kafka, topics: RunTopics): Promise<StartOffsets> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const names = topicNames(topics);
    const existing = new Set(await admin.listTopics());
    const absent = names.filter((t) => !existing.has(t));
    if (absent.length) {
      throw new SimulateError(
        `cannot check the run: topic${absent.length > 1 ? 's' : ''} ${absent.join(', ')} do${absent.length > 1 ? '' : 'es'} not exist (is the pipeline running on this Kafka?)`,
      );
    }
    const out = new Map<string, { partition: number; offset: string }[]>();
    for (const topic of names) {
      // a topic the pipeline has just created may not have a leader everywhere yet
      const offsets = await retrying(() => admin.fetchTopicOffsets(topic));
      out.set(
        topic,
        offsets.map((o) => ({ partition: o.partition, offset: o.high })),
      );
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

/** Retries what fails with a retriable kafkajs error (or a consumer not running yet), for up to 30 s. */
async function retrying<T>(fn: () => Promise<T>, deadline = Date.now() + 30_000): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      const retriable =
        err instanceof Error &&
        ((err as { retriable?: boolean }).retriable === true ||
          /not initialized, consumer#run must be called first/.test(err.message));
      if (!retriable || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Progress of the wait for a run's outputs: found (once) of expected, per kind. */
export type CheckProgress = Readonly<
  Record<
    'stored' | 'events' | 'completions' | 'newTransactions' | 'alerts' | 'deadLetters',
    { matched: number; expected: number }
  >
>;

/** Observed, as lists that grow. */
type Collected = {
  -readonly [K in keyof Observed]-?: NonNullable<Observed[K]> extends readonly (infer U)[]
    ? U[]
    : never;
};

/**
 * Reads a run's records from every topic it touches (read_committed, from offsets taken before
 * it started), keeping those keyed by its customers (or their Plaid Items), decoded. Start it
 * before sending; ask it to wait for a ledger after.
 */
export class RunObserver {
  private readonly seen: Collected = {
    stored: [],
    events: [],
    deadLetters: [],
    completions: [],
    newTransactions: [],
    alerts: [],
    undecodable: [],
  };

  private constructor(
    private readonly consumer: Consumer,
    private readonly topics: RunTopics,
    private readonly registry: Pick<SchemaRegistry, 'decode'>,
    private readonly ours: (key: string) => boolean,
  ) {}

  static async start(options: {
    kafka: Kafka;
    registry: Pick<SchemaRegistry, 'decode'>;
    topics: RunTopics;
    from: StartOffsets;
    /** Prefix of the run's customer ids (the run id and a dash). */
    customerPrefix: string;
  }): Promise<RunObserver> {
    const consumer = options.kafka.consumer({
      groupId: `refreshbus-simulate-check-${randomUUID()}`,
      readUncommitted: false,
      maxWaitTimeInMs: 100,
    });
    const observer = new RunObserver(consumer, options.topics, options.registry, (key) =>
      isRunKey(key, options.customerPrefix),
    );
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: topicNames(options.topics), fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: ({ topic, partition, message }) => observer.take(topic, partition, message),
      });
      // kafkajs refuses a seek while its consumer restarts after a failed first join (a fresh
      // broker); the run's records are recognised by key, so a seek that never lands only costs
      // reading from the beginning
      await retrying(() => {
        for (const [topic, partitions] of options.from) {
          for (const { partition, offset } of partitions)
            consumer.seek({ topic, partition, offset });
        }
        return Promise.resolve();
      }).catch(() => undefined);
    } catch (err) {
      await consumer.disconnect();
      throw err;
    }
    return observer;
  }

  /** What has been read so far. */
  observed(): Observed {
    return this.seen;
  }

  /**
   * Records of the run already taken, by topic, partition and offset: the check's consumer reads
   * a record again after a seek that lands late or a restart of its own, and a record read twice
   * is one output, not a duplicate (a duplicate is another record).
   */
  private readonly taken = new Set<string>();

  private async take(topic: string, partition: number, message: KafkaMessage): Promise<void> {
    const key = message.key?.toString() ?? '';
    if (!this.ours(key)) return;
    const at = `${topic}/${String(partition)}/${message.offset}`;
    if (this.taken.has(at)) return;
    this.taken.add(at);
    const ingestId = headerText(message.headers, HEADER.ingestId) ?? null;
    const t = this.topics;
    // the ingest id is a header of raw records and registrations (their values need no decoding)
    if (topic === t.raw || topic === t.connections) {
      this.seen.stored.push({ ingestId, key });
      return;
    }
    if (topic === t.dlq) {
      const code = headerText(message.headers, HEADER.errorCode) ?? null;
      this.seen.deadLetters.push({ ingestId, key, code });
      return;
    }
    let value: unknown;
    try {
      value = await this.registry.decode(message.value ?? Buffer.alloc(0));
    } catch (err) {
      this.seen.undecodable.push(`${topic} offset ${message.offset}: ${(err as Error).message}`);
      return;
    }
    if (topic === t.requests) {
      this.seen.stored.push({ ingestId: (value as RefreshRequestedValue).request_id, key });
    } else if (topic === t.events) {
      const e = value as RefreshEvent;
      this.seen.events.push({
        eventId: e.event_id,
        ingestId: e.ingest_id,
        customerId: e.customer_id,
        connectionId: e.connection_id,
        provider: e.provider,
        sourceEvent: e.source_event,
      });
    } else if (topic === t.completed) {
      this.seen.completions.push(value as CustomerRefreshCompleted);
    } else if (topic === t.newTransactions) {
      this.seen.newTransactions.push(value as NewTransactionsAvailable);
    } else if (topic === t.alerts) {
      this.seen.alerts.push(value as ReconnectAlert);
    }
  }

  /** The check now, against the ledger and the delivery log. */
  check(ledger: Ledger, deliveries: readonly Delivery[]): CheckReport {
    return compareWithLedger(ledger, deliveries, this.seen);
  }

  /**
   * Waits until nothing the ledger expects is missing, then `graceMs` more (so a duplicate or an
   * extra output that comes right after has time to show), or until `timeoutMs`; returns the check.
   */
  async waitFor(
    ledger: Ledger,
    deliveries: readonly Delivery[],
    options: { timeoutMs: number; graceMs: number; onProgress?: (p: CheckProgress) => void },
  ): Promise<CheckReport> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const started = Date.now();
      const report = this.check(ledger, deliveries);
      options.onProgress?.(progressOf(report));
      if (nothingMissing(report)) break;
      if (Date.now() >= deadline) return report;
      // a check walks the whole run: on a big one, leave most of the time to reading
      await new Promise((r) => setTimeout(r, Math.max(200, 4 * (Date.now() - started))));
    }
    await new Promise((r) => setTimeout(r, options.graceMs));
    const report = this.check(ledger, deliveries);
    options.onProgress?.(progressOf(report));
    return report;
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

export function progressOf(report: CheckReport): CheckProgress {
  const of = (s: { matched: number; expected: number }) => ({
    matched: s.matched,
    expected: s.expected,
  });
  return {
    stored: of(report.stored),
    events: of(report.events),
    completions: of(report.completions),
    newTransactions: of(report.newTransactions),
    alerts: of(report.alerts),
    deadLetters: of(report.deadLetters),
  };
}
