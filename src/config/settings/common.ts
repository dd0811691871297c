import { z } from 'zod';
import { csv, ms } from './kinds.js';

/** Settings every service reads: where Kafka and the registry are, the client id, the exactly-once engine, logging, and the ops endpoints' address and readiness. */
export const commonSettings = {
  KAFKA_BROKERS: csv
    .optional()
    .describe(
      'Comma-separated Kafka bootstrap servers. Unset: a local stack is used (Docker if an engine answers, else the JVM stack).',
    ),
  SCHEMA_REGISTRY_URL: z
    .url()
    .optional()
    .describe(
      'Confluent-compatible Schema Registry base URL (for Apicurio: http://host:port/apis/ccompat/v7). Required with KAFKA_BROKERS.',
    ),
  KAFKA_CLIENT_ID: z.string().min(1).default('refreshbus').describe('Kafka client id prefix.'),
  KAFKA_ENGINE: z
    .enum(['kafkajs', 'librdkafka'])
    .default('kafkajs')
    .describe(
      'Exactly-once engine of the normalizer and processors: `kafkajs` (a transactional producer per input partition) or `librdkafka` (@confluentinc/kafka-javascript, exactly-once v2: one transactional producer per instance). Not for production yet: slower at saturation, and it failed the broker-outage tests (docs/kafka-engine.md).',
    ),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level.'),
  OPS_HOST: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe(
      'Normalize and process: address of the /healthz, /readyz and /metrics endpoints (0.0.0.0 in a container).',
    ),
  READINESS_STALL_MS: ms(30_000).describe(
    'Normalize and process: /readyz turns false when transactions have kept failing this long, or when any assigned input partition has had input waiting this long without a commit (per partition; see refreshbus_stream_partition_stalled_seconds).',
  ),
};
