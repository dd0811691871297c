import type { Kafka, KafkaMessage, Message } from 'kafkajs';
import type { NormalizerConfig } from '../config/config.js';
import { createStreamRunner } from '../kafka/stream-runner.js';
import type { StreamRunner } from '../kafka/stream-runner.js';
import type { InputChunk, ProcessResult, TopicRecords } from '../kafka/exactly-once.js';
import { createKafka } from '../kafka/client.js';
import { createMissingTopics } from '../kafka/topics.js';
import type { Logger } from '../lib/logger.js';
import { StreamMetrics, createMetricsRegistry } from '../observability/metrics.js';
import type { Readiness, RunningOpsServer } from '../observability/ops-server.js';
import { runnerReadiness, startOpsServer } from '../observability/ops-server.js';
import type { Registry } from 'prom-client';
import { retrying } from '../lib/retry.js';
import { AvroEncodeError, avroEncoder } from '../registry/avro-encoder.js';
import type { AvroEncoder } from '../registry/avro-encoder.js';
import { createRegistry, registerSchema } from '../registry/registry.js';
import type { Endpoints } from '../config/endpoints.js';
import { LIMITS, recordSize } from '../contract/limits.js';
import { deadLetter, headerText } from './dlq.js';
import { ConnectionTable } from './connections.js';
import { mapRawWebhook } from './mappers/index.js';
import type { ConnectionDirectory, MapResult, RawWebhook, RefreshEvent } from './types.js';
import { HEADER } from '../contract/headers.js';

/** The raw record as a mapper sees it; a missing receipt time falls back to the record timestamp. */
export function rawWebhookOf(topic: string, partition: number, message: KafkaMessage): RawWebhook {
  const received = Date.parse(headerText(message.headers, HEADER.receivedAt) ?? '');
  return {
    source: headerText(message.headers, HEADER.source),
    value: message.value ?? Buffer.alloc(0),
    receivedAt: Number.isFinite(received) ? received : Number(message.timestamp),
    ingestId:
      headerText(message.headers, HEADER.ingestId) ?? `${topic}/${partition}/${message.offset}`,
    topic,
    partition,
    offset: Number(message.offset),
  };
}

/** An event the schema cannot encode is the mapper's bug (poison): it is dead-lettered. */
function isEncodeError(err: unknown): boolean {
  return err instanceof AvroEncodeError;
}

/** The output records of one raw record's events, keyed by customer (ordering per customer). */
function eventMessages(events: readonly RefreshEvent[], encode: AvroEncoder): Message[] {
  return events.map((event) => ({
    key: event.customer_id,
    value: encode(event),
    headers: { [HEADER.eventId]: event.event_id, [HEADER.ingestId]: event.ingest_id },
  }));
}

/**
 * The batch step: map each raw record; encode its events (the schema registered at start, so no
 * registry round trip per record); put what cannot be mapped (or encoded) in the DLQ.
 * `deadLettered` hears, once the transaction committed, the error code of each record sent to the
 * DLQ.
 */
export function normalizeBatch(
  encode: AvroEncoder,
  topics: { events: string; dlq: string },
  deadLettered?: (code: string) => void,
  directory: CatchingUpDirectory = {
    customerOf: () => undefined,
    catchUp: () => Promise.resolve(),
  },
) {
  return async (batch: InputChunk): Promise<ProcessResult> => {
    const events: Message[] = [];
    const dlq: Message[] = [];
    const codes: string[] = [];
    const origin = { topic: batch.topic, partition: batch.partition };
    const results = await mapChunk(batch, directory);
    for (const [i, message] of batch.messages.entries()) {
      const result = results[i] as MapResult;
      if (!result.ok) {
        dlq.push(deadLetter(message, origin, result));
        codes.push(result.code);
        continue;
      }
      let encoded: Message[];
      try {
        encoded = eventMessages(result.events, encode);
      } catch (err) {
        if (!isEncodeError(err)) throw err;
        dlq.push(
          deadLetter(message, origin, { code: 'ENCODE_FAILED', message: (err as Error).message }),
        );
        codes.push('ENCODE_FAILED');
        continue;
      }
      // within the limits no event comes near; a record the broker would refuse must not stop
      // the partition behind it
      const largest = Math.max(
        ...encoded.map((m) => recordSize(m as Parameters<typeof recordSize>[0])),
      );
      if (largest > LIMITS.recordBytes) {
        dlq.push(
          deadLetter(message, origin, {
            code: 'RECORD_TOO_LARGE',
            message: `an event would be a record of ${String(largest)} bytes; at most ${String(LIMITS.recordBytes)}`,
          }),
        );
        codes.push('RECORD_TOO_LARGE');
        continue;
      }
      events.push(...encoded);
    }
    const records: TopicRecords[] = [
      { topic: topics.events, messages: events },
      { topic: topics.dlq, messages: dlq },
    ];
    return {
      records,
      afterCommit: () => {
        for (const code of codes) deadLettered?.(code);
      },
    };
  };
}

const unregistered = (r: MapResult) => !r.ok && r.code === 'UNREGISTERED_CONNECTION';

/**
 * Maps a chunk's raw records. A registration stored before the chunk was processed must count:
 * when a connection is not in the table, the table first reads the connections topic up to its
 * end — once for the chunk — and those records are mapped again.
 */
async function mapChunk(batch: InputChunk, directory: CatchingUpDirectory): Promise<MapResult[]> {
  const raws = batch.messages.map((m) => rawWebhookOf(batch.topic, batch.partition, m));
  const results = raws.map((raw) => mapRawWebhook(raw, directory));
  if (!results.some(unregistered)) return results;
  await directory.catchUp();
  return results.map((r, i) =>
    unregistered(r) ? mapRawWebhook(raws[i] as RawWebhook, directory) : r,
  );
}

/** The connections the normalizer attributes webhooks by, and a way to read them up to date. */
export interface CatchingUpDirectory extends ConnectionDirectory {
  catchUp(): Promise<void>;
}

export interface RunningNormalizer {
  readonly runner: StreamRunner;
  /** Member of its group, transactions not stalled. */
  readiness(): Readiness;
  /** The /healthz, /readyz, /metrics server, when started with `ops: true`. */
  readonly ops: RunningOpsServer | undefined;
  close(): Promise<void>;
}

export interface NormalizerOptions {
  /** Registry the metrics go to (shared in `refreshbus all`); default a new one. */
  readonly metrics?: Registry;
  /** Serve /healthz, /readyz and /metrics on OPS_HOST:NORMALIZE_OPS_PORT. @default false */
  readonly ops?: boolean;
}

/** The normalizer's exactly-once stream runner over the raw topic. */
function normalizerRunner(
  config: NormalizerConfig,
  endpoints: Endpoints,
  parts: {
    kafka: Kafka;
    log: Logger;
    metrics: StreamMetrics;
    process: (batch: InputChunk) => Promise<ProcessResult>;
  },
): StreamRunner {
  return createStreamRunner(config.KAFKA_ENGINE, {
    kafka: parts.kafka,
    brokers: endpoints.brokers,
    clientId: `${config.KAFKA_CLIENT_ID}-normalize`,
    groupId: config.NORMALIZE_GROUP_ID,
    topics: [config.TOPIC_WEBHOOKS_RAW],
    transactionalIdPrefix: config.NORMALIZE_TRANSACTIONAL_ID_PREFIX,
    sessionTimeoutMs: config.NORMALIZE_SESSION_TIMEOUT_MS,
    partitionsConsumedConcurrently: config.NORMALIZE_CONCURRENCY,
    minTransactionIntervalMs: config.NORMALIZE_TRANSACTION_INTERVAL_MS,
    logger: parts.log,
    ...parts.metrics.transactions('normalize'),
    // what fails beyond the mapping (a record the broker refuses, an unexplained error)
    deadLetter: (origin, message, failure) => [
      { topic: config.TOPIC_REFRESH_DLQ, messages: [deadLetter(message, origin, failure)] },
    ],
    process: parts.process,
  });
}

/** Starts the normalizer: raw webhooks → RefreshEvent (+ DLQ), exactly once. */
export async function startNormalizer(
  config: NormalizerConfig,
  endpoints: Endpoints,
  logger: Logger,
  options: NormalizerOptions = {},
): Promise<RunningNormalizer> {
  const log = logger.child({ component: 'normalize' });
  const kafka = createKafka(
    { brokers: endpoints.brokers, clientId: `${config.KAFKA_CLIENT_ID}-normalize` },
    logger,
  );
  await createMissingTopics(kafka, config, log);

  const registry = createRegistry(endpoints.registryUrl);
  const { id: schemaId, schema } = await retrying('registering the RefreshEvent schema', log, () =>
    registerSchema(registry, config, 'RefreshEvent'),
  );
  const metrics = StreamMetrics.of(options.metrics ?? createMetricsRegistry(), log);
  // every registered connection, read before the first raw record is processed
  const connections = new ConnectionTable(kafka, registry, config.TOPIC_CONNECTIONS, log);
  await retrying('reading the connections', log, () => connections.start());
  const process = normalizeBatch(
    avroEncoder(schemaId, schema),
    { events: config.TOPIC_REFRESH_EVENTS, dlq: config.TOPIC_REFRESH_DLQ },
    (code) => {
      metrics.dlq.inc({ code });
    },
    connections,
  );
  const runner = normalizerRunner(config, endpoints, { kafka, log, metrics, process });
  const health = metrics.partitionHealth('normalize', config.READINESS_STALL_MS);
  const readiness = () => {
    const now = Date.now();
    return runnerReadiness(runner.status(), now, config.READINESS_STALL_MS, health.stalled(now));
  };
  metrics.attachRunner('normalize', runner, () => readiness().ready);
  // before joining the group: a port in use fails the start without a rebalance
  const ops = options.ops
    ? await startOpsServer({
        host: config.OPS_HOST,
        port: config.NORMALIZE_OPS_PORT,
        portSetting: 'NORMALIZE_OPS_PORT',
        registry: metrics.registry,
        readiness,
        logger: log,
      })
    : undefined;
  try {
    await runner.start();
  } catch (err) {
    await ops?.close();
    await connections.stop();
    throw err;
  }
  log.info(
    { input: config.TOPIC_WEBHOOKS_RAW, output: config.TOPIC_REFRESH_EVENTS },
    'normalizer running',
  );
  return {
    runner,
    readiness,
    ops,
    async close() {
      await runner.stop();
      await ops?.close();
      await connections.stop();
    },
  };
}
