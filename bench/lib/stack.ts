import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { Admin } from 'kafkajs';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/lib/logger.js';
import type { Endpoints } from '../../src/tools/stack/local-stack.js';
import { openStack } from '../../src/tools/stack/select.js';
import { say } from './options.js';

/** The stack a stage runs on, with names unique to this run and their cleanup. */
export interface BenchStack {
  readonly endpoints: Endpoints;
  readonly kafka: Kafka;
  readonly admin: Admin;
  /** `bench.<stage>.<run>`: every topic, group and transactional id of the run starts with it. */
  readonly prefix: string;
  /** A name unique to this run: `<prefix>.<what>`. */
  name(what: string): string;
  /** The environment that points a refreshbus process at this stack (KAFKA_BROKERS, registry). */
  readonly env: Readonly<Record<string, string>>;
  /** Deletes the run's topics and consumer groups, disconnects. Safe to call twice. */
  close(): Promise<void>;
}

/** Env a refreshbus child process needs besides the topic names: the stack, quiet logs. */
export function stackEnv(endpoints: Endpoints): Record<string, string> {
  return {
    KAFKA_BROKERS: endpoints.brokers.join(','),
    SCHEMA_REGISTRY_URL: endpoints.registryUrl,
    LOG_LEVEL: 'warn',
  };
}

/**
 * Starts the local stack if none runs (or reuses the running one, Docker or KAFKA_BROKERS), and
 * connects an admin. Topics and groups whose names start with the run's prefix are deleted on
 * close and on SIGINT/SIGTERM, since the broker's disk is shared.
 */
export async function openBenchStack(stage: string): Promise<BenchStack> {
  const stack = await openStack(loadConfig(), say);
  const endpoints = await stack.up();
  const prefix = `bench.${stage}.${randomUUID().slice(0, 8)}`;
  const kafka = new Kafka({
    clientId: `${prefix}.admin`,
    brokers: [...endpoints.brokers],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
      if (topics.length) await admin.deleteTopics({ topics, timeout: 30_000 });
      const groups = (await admin.listGroups()).groups
        .map((g) => g.groupId)
        .filter((g) => g.startsWith(prefix));
      if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
      say(`cleanup: deleted ${topics.length} topics and ${groups.length} groups of ${prefix}`);
    } finally {
      await admin.disconnect();
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      say(`${signal}: cleaning up ${prefix}`);
      void close().finally(() => process.exit(130));
    });
  }
  return {
    endpoints,
    kafka,
    admin,
    prefix,
    name: (what) => `${prefix}.${what}`,
    env: stackEnv(endpoints),
    close,
  };
}

/** Creates topics (all with the same partition count), waiting for their leaders. */
export async function createTopics(
  admin: Admin,
  topics: readonly string[],
  partitions: number,
  configEntries: { name: string; value: string }[] = [],
): Promise<void> {
  await admin.createTopics({
    topics: topics.map((topic) => ({
      topic,
      numPartitions: partitions,
      replicationFactor: 1,
      configEntries,
    })),
    waitForLeaders: false,
  });
  // then wait for every partition's leader. kafkajs's waitForLeaders gives up on
  // UNKNOWN_TOPIC_OR_PARTITION, which a broker started seconds ago answers for a while
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics: [...topics] });
      if (
        found.every(
          (t) => t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0),
        )
      )
        return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline)
      throw new Error(`topics without leaders after 60 s: ${topics.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Sum of a topic's end offsets (records, plus transaction markers on transactional topics). */
export async function endOffsets(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
}

/** Sum of a group's committed offsets on a topic (0 where nothing is committed). */
export async function committedOffsets(
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return offsets?.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) ?? 0;
}

/** A logger for in-process refreshbus components, quiet unless something is wrong. */
export const benchLogger = () => createLogger('warn');
