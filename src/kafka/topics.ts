import type { Admin, ITopicConfig, Kafka } from 'kafkajs';
import type { Logger } from '../lib/logger.js';
import { retrying } from '../lib/retry.js';
import type { TopicsConfig } from '../config/config.js';
import { SetupError } from '../lib/errors.js';

/** Creates the topics that do not exist yet and waits for their leaders; existing topics are left as they are. */
export async function ensureTopics(
  admin: Admin,
  topics: readonly ITopicConfig[],
): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (missing.length === 0) return [];
  try {
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  } catch (err) {
    // another instance may have created them meanwhile
    const now = new Set(await admin.listTopics());
    if (missing.some((t) => !now.has(t.topic))) throw err;
  }
  return missing.map((t) => t.topic);
}

/** The processors' compacted changelog topics, one per state store. */
export function changelogTopics(config: TopicsConfig): string[] {
  return [
    `${config.PROCESS_APPLICATION_ID}.rounds.changelog`,
    `${config.PROCESS_APPLICATION_ID}.alerts.changelog`,
  ];
}

/** Every topic refreshbus owns, with its settings: one place for names and configuration. */
export function topicDefinitions(config: TopicsConfig): ITopicConfig[] {
  const base = {
    numPartitions: config.TOPIC_PARTITIONS,
    replicationFactor: config.TOPIC_REPLICATION_FACTOR,
  };
  const minIsr = String(Math.min(2, config.TOPIC_REPLICATION_FACTOR));
  const entries = (retentionMs: number, maxMessageBytes?: number) => [
    { name: 'cleanup.policy', value: 'delete' },
    { name: 'retention.ms', value: String(retentionMs) },
    { name: 'min.insync.replicas', value: minIsr },
    // raw bodies may reach INGEST_BODY_LIMIT_BYTES (1 MiB) plus headers: more than the broker's default
    ...(maxMessageBytes ? [{ name: 'max.message.bytes', value: String(maxMessageBytes) }] : []),
  ];
  const rawLimit = 2 * 1024 * 1024;
  const compacted = [
    { name: 'cleanup.policy', value: 'compact' },
    { name: 'min.insync.replicas', value: minIsr },
    { name: 'max.message.bytes', value: String(rawLimit) },
  ];
  const day = 24 * 60 * 60 * 1000;
  return [
    { topic: config.TOPIC_WEBHOOKS_RAW, ...base, configEntries: entries(14 * day, rawLimit) },
    { topic: config.TOPIC_REFRESH_REQUESTS, ...base, configEntries: entries(7 * day) },
    { topic: config.TOPIC_REFRESH_EVENTS, ...base, configEntries: entries(30 * day) },
    { topic: config.TOPIC_REFRESH_DLQ, ...base, configEntries: entries(30 * day, rawLimit) },
    { topic: config.TOPIC_PROCESS_DLQ, ...base, configEntries: entries(30 * day, rawLimit) },
    { topic: config.TOPIC_CUSTOMER_COMPLETED, ...base, configEntries: entries(30 * day) },
    { topic: config.TOPIC_CUSTOMER_NEW_TRANSACTIONS, ...base, configEntries: entries(30 * day) },
    { topic: config.TOPIC_CUSTOMER_ALERTS, ...base, configEntries: entries(30 * day) },
    // the latest registration per connection is all the normalizer's table needs
    { topic: config.TOPIC_CONNECTIONS, ...base, configEntries: compacted },
    // the latest state per customer is all a restore needs
    ...changelogTopics(config).map((topic) => ({ topic, ...base, configEntries: compacted })),
  ];
}

/** At start-up: waits for Kafka, then creates whichever of refreshbus's topics are missing. */
export async function createMissingTopics(
  kafka: Kafka,
  config: TopicsConfig,
  log: Logger,
): Promise<void> {
  await withAdmin(kafka, log, async (admin) => {
    const created = await retrying('creating topics', log, () =>
      ensureTopics(admin, topicDefinitions(config)),
    );
    if (created.length) log.info({ topics: created }, 'created missing topics');
  });
}

/** An admin client connected (waiting for Kafka) for `fn`, then disconnected. */
async function withAdmin(
  kafka: Kafka,
  log: Logger,
  fn: (admin: Admin) => Promise<void>,
): Promise<void> {
  const admin = kafka.admin();
  await retrying('connecting to Kafka', log, () => admin.connect());
  try {
    await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/**
 * The processors' co-partitioned topics: the inputs (events and requests, read together per
 * partition) and the changelogs (partition N holds the state of input partition N).
 */
export function coPartitionedTopics(config: TopicsConfig): string[] {
  return [config.TOPIC_REFRESH_EVENTS, config.TOPIC_REFRESH_REQUESTS, ...changelogTopics(config)];
}

/**
 * Why the processors cannot run on these partition counts, or undefined when they can. Pure: the
 * start-up check below feeds it the cluster's counts.
 */
export function coPartitioningProblem(
  config: TopicsConfig,
  partitionsOf: ReadonlyMap<string, number>,
): string | undefined {
  const topics = coPartitionedTopics(config);
  const counts = topics.map((topic) => partitionsOf.get(topic));
  if (new Set(counts).size <= 1) return undefined;
  const listed = topics
    .map((topic, i) => `${topic} ${counts[i] === undefined ? 'missing' : String(counts[i])}`)
    .join(', ');
  return (
    `the processors' co-partitioned topics differ in partition count (${listed}). ` +
    'Input partition N is processed with its state in changelog partition N, and a customer’s ' +
    'events and requests must land on partitions of the same number: give them all the same ' +
    'count (`refreshbus topics apply` reports the drift), or set PROCESS_APPLICATION_ID to a ' +
    'new application whose changelogs are created with the inputs’ count.'
  );
}

/**
 * At the processors' start-up, after the topics were created: refuses to run on topics whose
 * partition counts differ (say, changelogs made with another TOPIC_PARTITIONS), which would
 * otherwise stall every transaction writing state for a partition the changelog lacks.
 */
export async function assertCoPartitioned(
  kafka: Kafka,
  config: TopicsConfig,
  log: Logger,
): Promise<void> {
  await withAdmin(kafka, log, async (admin) => {
    const { topics } = await retrying('reading topic metadata', log, () =>
      admin.fetchTopicMetadata({ topics: coPartitionedTopics(config) }),
    );
    const problem = coPartitioningProblem(
      config,
      new Map(topics.map((t) => [t.name, t.partitions.length])),
    );
    if (problem) throw new SetupError(problem);
  });
}
