import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { AUTH_MODES } from '../ingest/auth/modes.js';
import type { AuthSettings } from '../ingest/auth/modes.js';
import { sources } from '../ingest/sources/index.js';
// the processors' defaults are defined once, with the settings they belong to
import { DEFAULT_ROUND_SETTINGS } from '../processors/rounds/state.js';

/** The package root (where package.json lives), whether running from `src/` or `dist/`. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x.length > 0),
  )
  .pipe(z.array(z.string()).min(1));

const ms = (fallback: number) => z.coerce.number().int().positive().default(fallback);
/** The least time between two transactions of one input partition (normalizer, processors). */
const transactionInterval = (who: string) =>
  z.coerce
    .number()
    .int()
    .min(0)
    .max(1000)
    .default(50)
    .describe(
      `${who}: least time between the starts of two transactions of one input partition; under load its records gather into fewer, larger transactions (less broker work) at up to this much added latency. 0: none; at most 1000.`,
    );
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Prefixes of the routes that authenticate: one per webhook source, plus the client API. */
export const authPrefixes: readonly {
  prefix: string;
  defaultAuth: readonly string[];
  what: string;
}[] = [
  ...sources.map((s) => ({
    prefix: s.envPrefix,
    defaultAuth: s.defaultAuth,
    what: `POST ${s.route}`,
  })),
  { prefix: 'REFRESH_REQUESTS', defaultAuth: ['hmac'], what: 'POST /refresh-requests' },
];

function authShape() {
  const shape: Record<string, z.ZodType> = {};
  for (const { prefix, defaultAuth, what } of authPrefixes) {
    shape[`${prefix}_AUTH`] = csv
      .pipe(z.array(z.enum(AUTH_MODES)))
      .default([...defaultAuth] as (typeof AUTH_MODES)[number][])
      .describe(`${what}: checks that must all pass (${AUTH_MODES.join(', ')}).`);
    // Bud's public keys, where its API reference (the X-Signing-ID header) says they are
    shape[`${prefix}_JWKS_URL`] = (
      prefix === 'BUD'
        ? z.url().default('https://assets.thisisbud.com/bud-callback.jwks')
        : z.url().optional()
    ).describe(`${what}: JWKS URL for jwks.`);
    shape[`${prefix}_WEBHOOK_SECRETS`] = csv
      .optional()
      .describe(
        `${what}: Standard Webhooks secrets (whsec_…) for hmac, comma-separated for rotation.`,
      );
    shape[`${prefix}_ALLOWED_CIDRS`] = csv
      .optional()
      .describe(`${what}: allowed source CIDRs for ip.`);
    shape[`${prefix}_SHARED_SECRET`] = z
      .string()
      .min(16)
      .optional()
      .describe(`${what}: shared secret for secret.`);
    shape[`${prefix}_SHARED_SECRET_HEADER`] = z
      .string()
      .min(1)
      .default('x-webhook-secret')
      .describe(`${what}: header carrying the shared secret.`);
  }
  return shape;
}

/**
 * Every setting refreshbus reads from the environment, with its default and documentation.
 * `process.env` is read nowhere else: call {@link loadConfig} once at start.
 */
export const configSchema = z.object({
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
  REFRESHBUS_STACK: z
    .enum(['auto', 'external', 'docker', 'local'])
    .default('auto')
    .describe(
      'Which infrastructure to use: auto = KAFKA_BROKERS if set, else a Docker engine if one answers, else the local JVM stack.',
    ),
  REFRESHBUS_STACK_DIR: z
    .string()
    .min(1)
    .default(path.join(packageRoot, '.refreshbus'))
    .describe('Folder of the local JVM stack: downloaded artifacts, data, logs and PIDs.'),
  REFRESHBUS_KAFKA_PORT: port(9092).describe('Local stack: Kafka client (PLAINTEXT) port.'),
  REFRESHBUS_KAFKA_CONTROLLER_PORT: port(9093).describe('Local stack: KRaft controller port.'),
  REFRESHBUS_REGISTRY_PORT: port(8081).describe('Local stack: schema registry HTTP port.'),
  REFRESHBUS_REGISTRY_MANAGEMENT_PORT: port(9081).describe(
    'Local stack: schema registry (Quarkus) management port, bound to 127.0.0.1.',
  ),
  REFRESHBUS_STACK_START_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(120_000)
    .describe('Local stack: how long `stack up` waits for each service to become ready.'),
  INGEST_HOST: z.string().min(1).default('127.0.0.1').describe('Ingest: address to listen on.'),
  INGEST_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(8080)
    .describe('Ingest: HTTP port (0 = any free port).'),
  OPS_HOST: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe(
      'Normalize and process: address of the /healthz, /readyz and /metrics endpoints (0.0.0.0 in a container).',
    ),
  NORMALIZE_OPS_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(9464)
    .describe('Normalize: port of /healthz, /readyz, /metrics (0 = any free port).'),
  PROCESS_OPS_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(9465)
    .describe('Process: port of /healthz, /readyz, /metrics (0 = any free port).'),
  READINESS_STALL_MS: ms(30_000).describe(
    'Normalize and process: /readyz turns false when transactions have kept failing this long, or when any assigned input partition has had input waiting this long without a commit (per partition; see refreshbus_stream_partition_stalled_seconds).',
  ),
  JWKS_CACHE_MAX_AGE_MS: ms(600_000).describe(
    'Ingest: how long fetched JWKS keys are trusted before a refetch.',
  ),
  JWKS_COOLDOWN_MS: z.coerce
    .number()
    .int()
    .nonnegative()
    .default(30_000)
    .describe('Ingest: least time between two JWKS refetches triggered by an unknown key id.'),
  INGEST_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024)
    .describe('Ingest: largest accepted body; larger ones get 413 and are not read further.'),
  INGEST_HEADERS_TIMEOUT_MS: ms(10_000).describe(
    'Ingest: time a client has to send the request headers.',
  ),
  INGEST_REQUEST_TIMEOUT_MS: ms(30_000).describe(
    'Ingest: time a client has to send the whole request.',
  ),
  INGEST_KEEP_ALIVE_TIMEOUT_MS: ms(72_000).describe(
    'Ingest: how long an idle keep-alive connection stays open; above the idle timeout of a load balancer or sender pool in front, or they meet ECONNRESET.',
  ),
  INGEST_PUBLISH_TIMEOUT_MS: ms(5000).describe(
    'Ingest: how long a request waits for Kafka to acknowledge its record before answering 503.',
  ),
  INGEST_RETRY_AFTER_SECONDS: z.coerce
    .number()
    .int()
    .nonnegative()
    .default(5)
    .describe('Ingest: Retry-After sent with 503.'),
  INGEST_MAX_IN_FLIGHT: z.coerce
    .number()
    .int()
    .positive()
    .default(10_000)
    .describe('Ingest: records waiting for Kafka at once; beyond it requests are shed with 503.'),
  INGEST_BATCH_MAX_RECORDS: z.coerce
    .number()
    .int()
    .positive()
    .default(1000)
    .describe('Ingest: records per produce request.'),
  INGEST_BATCH_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(768 * 1024)
    .describe(
      'Ingest: bytes per produce request; keep below the broker/topic message.max.bytes (1 MiB by default), as one partition may get all of it.',
    ),
  INGEST_MAX_IN_FLIGHT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024)
    .describe(
      'Ingest: body bytes waiting for Kafka at once; beyond it requests are shed with 503.',
    ),
  INGEST_BATCH_LINGER_MS: z.coerce
    .number()
    .nonnegative()
    .default(2)
    .describe('Ingest: how long a batch waits for more records once one is queued.'),
  INGEST_SHUTDOWN_TIMEOUT_MS: ms(15_000).describe(
    'Ingest: on SIGTERM, time to drain requests and flush before exiting.',
  ),
  INGEST_TRUSTED_PROXIES: csv
    .optional()
    .describe('Ingest: proxies (IPs/CIDRs) whose X-Forwarded-For is believed; others are ignored.'),
  INGEST_ALLOW_UNAUTHENTICATED_REMOTE: bool(false).describe(
    'Ingest: allow an *_AUTH=none route while listening on a non-loopback address (never in production).',
  ),
  TOPIC_WEBHOOKS_RAW: z
    .string()
    .min(1)
    .default('openbanking.webhooks.raw')
    .describe('Topic: raw webhooks.'),
  TOPIC_REFRESH_REQUESTS: z
    .string()
    .min(1)
    .default('openbanking.refresh.requests')
    .describe('Topic: RefreshRequested records.'),
  TOPIC_REFRESH_EVENTS: z
    .string()
    .min(1)
    .default('openbanking.refresh.events')
    .describe('Topic: canonical Avro RefreshEvent records.'),
  TOPIC_REFRESH_DLQ: z
    .string()
    .min(1)
    .default('openbanking.refresh.dlq')
    .describe('Topic: raw records the normalizer could not map, with error headers.'),
  TOPIC_PROCESS_DLQ: z
    .string()
    .min(1)
    .default('openbanking.process.dlq')
    .describe(
      "Topic: the processors' input records (events, requests) that could never be processed, with error headers.",
    ),
  TOPIC_PARTITIONS: z.coerce
    .number()
    .int()
    .positive()
    .default(6)
    .describe(
      'Partitions of topics refreshbus creates (the unit of parallelism: instances ≤ partitions).',
    ),
  TOPIC_REPLICATION_FACTOR: z.coerce
    .number()
    .int()
    .positive()
    .default(1)
    .describe('Replication factor of topics refreshbus creates (3 in production).'),
  NORMALIZE_GROUP_ID: z
    .string()
    .min(1)
    .default('refreshbus-normalizer')
    .describe('Normalizer: consumer group id.'),
  NORMALIZE_TRANSACTIONAL_ID_PREFIX: z
    .string()
    .min(1)
    .default('refreshbus-normalizer')
    .describe(
      'Normalizer: transactional id prefix (one id per input partition); unique per deployment.',
    ),
  NORMALIZE_SESSION_TIMEOUT_MS: ms(30_000).describe(
    'Normalizer: consumer session timeout; a crashed instance holds its partitions this long before others take over.',
  ),
  NORMALIZE_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(12)
    .describe(
      'Normalize: input partitions processed at the same time, each in its own transactions. At least the partitions one instance holds, or NORMALIZE_TRANSACTION_INTERVAL_MS does not apply.',
    ),
  NORMALIZE_TRANSACTION_INTERVAL_MS: transactionInterval('Normalizer'),
  NORMALIZE_SHUTDOWN_TIMEOUT_MS: ms(30_000).describe(
    'Normalizer: on SIGTERM, time to finish the batch in hand.',
  ),
  TOPIC_CUSTOMER_COMPLETED: z
    .string()
    .min(1)
    .default('openbanking.customer.refresh-completed')
    .describe('Topic: CustomerRefreshCompleted records.'),
  TOPIC_CUSTOMER_NEW_TRANSACTIONS: z
    .string()
    .min(1)
    .default('openbanking.customer.new-transactions')
    .describe('Topic: NewTransactionsAvailable records.'),
  TOPIC_CUSTOMER_ALERTS: z
    .string()
    .min(1)
    .default('openbanking.customer.reconnect-alerts')
    .describe('Topic: ReconnectAlert records.'),
  PROCESS_APPLICATION_ID: z
    .string()
    .min(1)
    .default('refreshbus-processors')
    .describe(
      'Processors: consumer group id, transactional id prefix and changelog topic prefix (<id>.rounds.changelog, <id>.alerts.changelog).',
    ),
  PROCESSORS: csv
    .pipe(z.array(z.enum(['completion', 'new-transactions', 'reconnect-alerts'])))
    .default(['completion', 'new-transactions', 'reconnect-alerts'])
    .describe('Processors: which to run (completion, new-transactions, reconnect-alerts).'),
  ROUND_SETTLE_MS: ms(DEFAULT_ROUND_SETTINGS.settleMs).describe(
    'Processors: a round opened without a RefreshRequested stays open at least this long, so sibling webhooks join it.',
  ),
  ROUND_RETRY_GRACE_MS: ms(DEFAULT_ROUND_SETTINGS.retryGraceMs).describe(
    'Processors: a temporary failure becomes final this long after it was first seen, unless a retry reports.',
  ),
  ROUND_QUIET_DEADLINE_MS: ms(DEFAULT_ROUND_SETTINGS.quietDeadlineMs).describe(
    'Processors: a round with nothing new for this long closes as TIMED_OUT, listing what is missing; a customer-level alert ends with a success naming no connection only this long after its last failure.',
  ),
  KNOWN_CONNECTION_TTL_MS: ms(DEFAULT_ROUND_SETTINGS.knownConnectionTtlMs).describe(
    'Processors: a connection not seen for this long is no longer expected in new rounds.',
  ),
  STATE_TTL_MS: ms(DEFAULT_ROUND_SETTINGS.stateTtlMs).describe(
    'Processors: a customer with nothing open and no activity for this long is forgotten.',
  ),
  PROCESS_SESSION_TIMEOUT_MS: ms(30_000).describe(
    'Processors: consumer session timeout; a crashed instance holds its partitions this long.',
  ),
  PROCESS_TIMER_INTERVAL_MS: ms(1000).describe(
    'Processors: how often due deadlines are looked for.',
  ),
  PROCESS_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(12)
    .describe(
      'Processors: input partitions (of both input topics) processed at the same time, each in its own transactions. At least the partitions one instance holds, or PROCESS_TRANSACTION_INTERVAL_MS does not apply.',
    ),
  PROCESS_TRANSACTION_INTERVAL_MS: transactionInterval('Processors'),
  PROCESS_SHUTDOWN_TIMEOUT_MS: ms(30_000).describe(
    'Processors: on SIGTERM, time to finish the batch in hand.',
  ),
  STATE_DIR: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Processors: where the working copy of the state is kept on disk (default <tmpdir>/refreshbus-state; one directory per process, deleted on stop; the changelogs are the state of record).',
    ),
  JAVA_HOME: z
    .string()
    .optional()
    .describe('Local stack: the default JDK, searched after REFRESHBUS_JAVA_HOME.'),
  REFRESHBUS_JAVA_HOME: z
    .string()
    .optional()
    .describe(
      'Local stack: a JDK to prefer. Kafka needs Java 17+, the Apicurio registry Java 21+; JAVA_HOME, PATH and /usr/lib/jvm are searched otherwise.',
    ),
});

export const fullConfigSchema = configSchema.extend(authShape());

export type Config = Readonly<z.infer<typeof configSchema>> & {
  /** Authentication settings per route prefix (`BUD`, `YODLEE`, `REFRESH_REQUESTS`). */
  readonly auth: Readonly<Record<string, AuthSettings>>;
};

/** Raised when the environment does not describe a valid configuration; lists every problem. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Parses the environment once into a typed, frozen configuration, or throws listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const known = Object.fromEntries(
    Object.keys(fullConfigSchema.shape)
      .filter((key) => env[key] !== undefined && env[key] !== '')
      .map((key) => [key, env[key]]),
  );
  const parsed = fullConfigSchema.safeParse(known);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  const data = parsed.data as z.infer<typeof configSchema> & Record<string, unknown>;
  const problems: string[] = [];
  if (data.KAFKA_BROKERS !== undefined && data.SCHEMA_REGISTRY_URL === undefined) {
    problems.push('SCHEMA_REGISTRY_URL: required when KAFKA_BROKERS is set');
  }
  if (data.INGEST_HEADERS_TIMEOUT_MS > data.INGEST_REQUEST_TIMEOUT_MS) {
    problems.push('INGEST_HEADERS_TIMEOUT_MS: must not exceed INGEST_REQUEST_TIMEOUT_MS');
  }
  if (problems.length) throw new ConfigError(problems);
  const auth: Record<string, AuthSettings> = {};
  for (const { prefix } of authPrefixes) {
    auth[prefix] = Object.freeze({
      modes: data[`${prefix}_AUTH`] as AuthSettings['modes'],
      jwksUrl: data[`${prefix}_JWKS_URL`] as string | undefined,
      webhookSecrets: data[`${prefix}_WEBHOOK_SECRETS`] as string[] | undefined,
      allowedCidrs: data[`${prefix}_ALLOWED_CIDRS`] as string[] | undefined,
      sharedSecret: data[`${prefix}_SHARED_SECRET`] as string | undefined,
      sharedSecretHeader: data[`${prefix}_SHARED_SECRET_HEADER`] as string,
    });
  }
  return Object.freeze({ ...data, auth: Object.freeze(auth) });
}
