import { randomUUID } from 'node:crypto';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Admin, KafkaMessage, Producer, ProducerConfig } from 'kafkajs';
import { afterEach, inject } from 'vitest';
import { createRegistry } from '../../../src/registry/registry.js';

/** A name no other test (or earlier run) uses: topics and groups never collide. */
export function uniqueName(prefix: string): string {
  return `test.${prefix}.${randomUUID().slice(0, 8)}`;
}

/**
 * Topics, consumer groups and transactional ids of one test's pipeline, none shared with another
 * test (settings as environment variables), with `partitions` per topic refreshbus creates.
 */
export function isolatedNames(partitions: number): Record<string, string> {
  return {
    TOPIC_WEBHOOKS_RAW: uniqueName('raw'),
    TOPIC_REFRESH_REQUESTS: uniqueName('requests'),
    TOPIC_REFRESH_EVENTS: uniqueName('events'),
    TOPIC_REFRESH_DLQ: uniqueName('dlq'),
    TOPIC_PROCESS_DLQ: uniqueName('pdlq'),
    TOPIC_CONNECTIONS: uniqueName('connections'),
    // every service start creates all of refreshbus's topics: the outputs and changelogs too must
    // be this test's own, not the defaults with 3 partitions (the demo test's processors then
    // wrote changelog partitions 3-5 of a 3-partition topic)
    TOPIC_CUSTOMER_COMPLETED: uniqueName('completed'),
    TOPIC_CUSTOMER_NEW_TRANSACTIONS: uniqueName('newtx'),
    TOPIC_CUSTOMER_ALERTS: uniqueName('alerts'),
    TOPIC_PARTITIONS: String(partitions),
    NORMALIZE_GROUP_ID: uniqueName('normalizer'),
    NORMALIZE_TRANSACTIONAL_ID_PREFIX: uniqueName('normalizer-txn'),
    PROCESS_APPLICATION_ID: uniqueName('processors'),
    // the exactly-once engine under test (issue 17): KAFKA_ENGINE=librdkafka npx vitest run …
    ...(process.env.KAFKA_ENGINE ? { KAFKA_ENGINE: process.env.KAFKA_ENGINE } : {}),
  };
}

export function brokers(): string[] {
  return inject('brokers');
}

export function registryUrl(): string {
  return inject('registryUrl');
}

export function testKafka(clientId = 'refreshbus-test'): Kafka {
  return new Kafka({ clientId, brokers: brokers(), logLevel: logLevel.ERROR });
}

export function testRegistry() {
  return createRegistry(registryUrl());
}

/** Things a test opened, closed in reverse order by `closeAll()` (call it in `afterEach`). */
export class Resources {
  private readonly closers: (() => Promise<unknown>)[] = [];

  track<T>(value: T, close: (v: T) => Promise<unknown>): T {
    this.closers.push(() => close(value));
    return value;
  }

  async closeAll(): Promise<void> {
    const closers = this.closers.splice(0).reverse();
    for (const close of closers) await close().catch(() => undefined);
  }
}

/** A test file's Resources: what its tests track is closed after each of them. */
export function testResources(): Resources {
  const resources = new Resources();
  afterEach(() => resources.closeAll());
  return resources;
}

export async function connectedAdmin(kafka: Kafka, res: Resources): Promise<Admin> {
  const admin = res.track(kafka.admin(), (a) => a.disconnect());
  await admin.connect();
  return admin;
}

export async function connectedProducer(
  kafka: Kafka,
  res: Resources,
  config: ProducerConfig = {},
): Promise<Producer> {
  const producer = res.track(
    kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, ...config }),
    (p) => p.disconnect(),
  );
  await producer.connect();
  return producer;
}

export async function createTopics(
  admin: Admin,
  topics: string[],
  numPartitions = 1,
): Promise<void> {
  await admin.createTopics({
    topics: topics.map((topic) => ({ topic, numPartitions, replicationFactor: 1 })),
    waitForLeaders: true,
  });
}

export interface ReadOptions {
  readCommitted: boolean;
  count?: number;
  quietMs?: number;
  maxWaitMs?: number;
}

/**
 * Reads a topic from the beginning and returns its records in partition/offset order: with a
 * `count`, until that many arrived (then one more second, to catch extras) or `maxWaitMs`;
 * without, until `quietMs` passed without a new record.
 */
export async function readAll(
  kafka: Kafka,
  topic: string,
  options: ReadOptions,
): Promise<(KafkaMessage & { partition: number })[]> {
  const consumer = kafka.consumer({
    groupId: uniqueName('reader'),
    readUncommitted: !options.readCommitted,
    maxWaitTimeInMs: 200,
  });
  const out: (KafkaMessage & { partition: number })[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const joined = new Promise<void>((resolve) => {
      consumer.on(consumer.events.GROUP_JOIN, () => {
        resolve();
      });
    });
    let last = Date.now();
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        out.push({ ...message, partition });
        last = Date.now();
        return Promise.resolve();
      },
    });
    await joined;
    last = Date.now();
    const started = Date.now();
    const quietMs = options.quietMs ?? 3000;
    const maxWaitMs = options.maxWaitMs ?? 60_000;
    for (;;) {
      if (options.count !== undefined && out.length >= options.count) break;
      if (options.count === undefined && Date.now() - last > quietMs) break;
      if (Date.now() - started > maxWaitMs) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // give a record that arrives right after `count` a chance to show up as a duplicate
    if (options.count !== undefined) await new Promise((r) => setTimeout(r, 1000));
  } finally {
    await consumer.disconnect();
  }
  return out.sort(
    (a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)),
  );
}

/**
 * A broker as a test uses it — the shared one unless given `client` of another — through one
 * client, whose admins and producers are closed with `resources` (with whatever else the test
 * tracks there).
 */
export class TestBroker {
  constructor(
    readonly resources: Resources,
    private client?: Kafka,
  ) {}

  get kafka(): Kafka {
    return (this.client ??= testKafka());
  }

  admin(): Promise<Admin> {
    return connectedAdmin(this.kafka, this.resources);
  }

  producer(config: ProducerConfig = {}): Promise<Producer> {
    return connectedProducer(this.kafka, this.resources, config);
  }

  /** A producer of transactions as the services make them: idempotent, one request in flight. */
  transactionalProducer(transactionalId: string): Promise<Producer> {
    return this.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  }

  /** Creates `topics` with `numPartitions` each; returns the admin that did, for more. */
  async createTopics(topics: string[], numPartitions = 1): Promise<Admin> {
    const admin = await this.admin();
    await createTopics(admin, topics, numPartitions);
    return admin;
  }

  readAll(topic: string, options: ReadOptions): ReturnType<typeof readAll> {
    return readAll(this.kafka, topic, options);
  }
}

/** A test file's TestBroker: what its tests open is closed after each of them. */
export function testBroker(): TestBroker {
  return new TestBroker(testResources());
}
