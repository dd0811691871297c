import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { Kafka, logLevel } from 'kafkajs';
import type { IngestConfig } from '../config/config.js';
import { ConfigError } from '../config/config.js';
import { createKafka } from '../kafka/client.js';
import type { Logger } from '../lib/logger.js';
import type { Readiness } from '../observability/ops-server.js';
import { createRegistry, registerSchema } from '../registry/registry.js';
import type { Endpoints } from '../config/endpoints.js';
import type { SchemaName } from '../contract/schemas.js';
import { buildIngestApp } from './app.js';
import { authenticatorFromSettings } from './auth/from-settings.js';
import type { Authenticator } from './auth/types.js';
import { createIngestMetrics } from './metrics.js';
import { BatchingPublisher, createIdempotentProducer } from './publisher.js';
import { sources } from './sources/index.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Builds every route's authenticator, or throws listing every missing or wrong setting. */
export function authenticatorsFromConfig(config: IngestConfig, logger: Logger) {
  const problems: string[] = [];
  const build = (prefix: string): Authenticator => {
    const settings = config.auth[prefix];
    if (!settings) throw new Error(`no auth settings for ${prefix}`);
    const result = authenticatorFromSettings(prefix, settings, {
      jwks: { cacheMaxAgeMs: config.JWKS_CACHE_MAX_AGE_MS, cooldownMs: config.JWKS_COOLDOWN_MS },
      plaid: {
        apiUrl: config.PLAID_API_URL,
        clientId: config.PLAID_CLIENT_ID,
        secret: config.PLAID_SECRET,
      },
    });
    problems.push(...result.problems);
    if (settings.modes.includes('none')) {
      if (!LOOPBACK.has(config.INGEST_HOST) && !config.INGEST_ALLOW_UNAUTHENTICATED_REMOTE) {
        problems.push(
          `${prefix}_AUTH: "none" is only allowed while INGEST_HOST is a loopback address (set INGEST_ALLOW_UNAUTHENTICATED_REMOTE=true to override)`,
        );
      }
      logger.warn(
        { route: prefix },
        `authentication is OFF for ${prefix} (${prefix}_AUTH=none): local use only`,
      );
    }
    return result.authenticator ?? (() => Promise.reject(new Error('unreachable')));
  };
  const bySource = sources.map((definition) => ({
    definition,
    authenticate: build(definition.envPrefix),
  }));
  const refreshRequests = build('REFRESH_REQUESTS');
  const connections = build('CONNECTIONS');
  if (problems.length) throw new ConfigError(problems);
  return { bySource, refreshRequests, connections };
}

/** Watches whether Kafka answers, for /readyz: a metadata request every `intervalMs`. */
function startKafkaProbe(brokers: readonly string[], intervalMs: number) {
  const kafka = new Kafka({
    clientId: 'refreshbus-ingest-probe',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  let ok = false;
  let stopped = false;
  let connected = false;
  const tick = async () => {
    try {
      if (!connected) {
        await admin.connect();
        connected = true;
      }
      await admin.describeCluster();
      ok = true;
    } catch {
      ok = false;
      connected = false;
      await admin.disconnect().catch(() => undefined);
    }
    if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
  };
  let timer = setTimeout(() => void tick(), 0);
  return {
    get ok() {
      return ok;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await admin.disconnect().catch(() => undefined);
    },
  };
}

export interface RunningIngest {
  readonly app: FastifyInstance;
  readonly url: string;
  /** Stops accepting, drains in-flight requests, flushes to Kafka; bounded by INGEST_SHUTDOWN_TIMEOUT_MS. */
  close(): Promise<void>;
}

/** Starts the ingest service: Kafka producer, HTTP server, readiness probe. */
export async function startIngest(
  config: IngestConfig,
  endpoints: Endpoints,
  logger: Logger,
  options: {
    metrics?: Registry;
    /** What /readyz also reports without holding webhooks back (see IngestAppDeps). */
    downstream?: () => Readiness;
  } = {},
): Promise<RunningIngest> {
  const log = logger.child({ component: 'ingest' });
  const auth = authenticatorsFromConfig(config, log);
  const metrics = createIngestMetrics({ registry: options.metrics });
  const kafka = createKafka(
    { brokers: endpoints.brokers, clientId: `${config.KAFKA_CLIENT_ID}-ingest` },
    logger,
  );
  const publisher = new BatchingPublisher(
    () => createIdempotentProducer(kafka),
    {
      maxBatchRecords: config.INGEST_BATCH_MAX_RECORDS,
      maxBatchBytes: config.INGEST_BATCH_MAX_BYTES,
      lingerMs: config.INGEST_BATCH_LINGER_MS,
      maxInFlight: config.INGEST_MAX_IN_FLIGHT,
      maxInFlightBytes: config.INGEST_MAX_IN_FLIGHT_BYTES,
    },
    log,
    metrics.observer,
  );
  const probe = startKafkaProbe(endpoints.brokers, 2000);

  const connecting = await connectPublisher(publisher, log);
  const encode = avroEncoderOf(config, endpoints, 'RefreshRequested');

  const app = await buildIngestApp({
    sources: auth.bySource,
    refreshRequests: { authenticate: auth.refreshRequests, encode },
    connections: {
      authenticate: auth.connections,
      encode: avroEncoderOf(config, endpoints, 'ConnectionRegistered'),
    },
    publish: (record, timeoutMs) => publisher.publish(record, timeoutMs),
    remove: (tombstone, timeoutMs) => publisher.publish(tombstone, timeoutMs),
    ready: () => publisher.isConnected && probe.ok,
    ...(options.downstream ? { downstream: options.downstream } : {}),
    metrics,
    logger,
    settings: {
      rawTopic: config.TOPIC_WEBHOOKS_RAW,
      requestsTopic: config.TOPIC_REFRESH_REQUESTS,
      connectionsTopic: config.TOPIC_CONNECTIONS,
      bodyLimitBytes: config.INGEST_BODY_LIMIT_BYTES,
      requestTimeoutMs: config.INGEST_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: config.INGEST_HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: config.INGEST_KEEP_ALIVE_TIMEOUT_MS,
      publishTimeoutMs: config.INGEST_PUBLISH_TIMEOUT_MS,
      retryAfterSeconds: config.INGEST_RETRY_AFTER_SECONDS,
      trustedProxies: config.INGEST_TRUSTED_PROXIES,
    },
  });
  const url = await app.listen({ host: config.INGEST_HOST, port: config.INGEST_PORT });
  log.info({ url }, 'ingest listening');

  return {
    app,
    url,
    async close() {
      const deadline = Date.now() + config.INGEST_SHUTDOWN_TIMEOUT_MS;
      connecting.stop();
      await app.close(); // stops accepting and waits for requests being answered
      await publisher.close(Math.max(0, deadline - Date.now()));
      await connecting.ended;
      await probe.stop();
    },
  };
}

/**
 * Connects the publisher, then keeps retrying every 2 s in the background until it is connected
 * or `stop` is called; `ended` resolves when the retrying does.
 */
async function connectPublisher(publisher: BatchingPublisher, log: Logger) {
  // Kafka may be down at start: the service still starts (answering 503) and connects when it can
  const state = { closing: false };
  const tryConnect = async () => {
    try {
      await publisher.connect();
      log.info('connected to Kafka');
    } catch (err) {
      log.warn({ err }, 'cannot connect to Kafka yet; retrying');
    }
  };
  await tryConnect();
  const connectLoop = (async () => {
    while (!state.closing && !publisher.isConnected) {
      await new Promise((r) => setTimeout(r, 2000));
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by stop(), from close(), while we slept
      if (!state.closing) await tryConnect();
    }
  })();
  return {
    stop() {
      state.closing = true;
    },
    ended: connectLoop,
  };
}

/**
 * Encodes values of the ingest's Avro schema `name`, registering it on first use (and again after
 * a failed encode).
 */
function avroEncoderOf(config: IngestConfig, endpoints: Endpoints, name: SchemaName) {
  const registry = createRegistry(endpoints.registryUrl);
  let schemaId: Promise<number> | undefined;
  return async (value: object) => {
    schemaId ??= registerSchema(registry, config, name).then(({ id }) => id);
    try {
      return await registry.encode(await schemaId, value);
    } catch (err) {
      schemaId = undefined; // ask the registry again next time
      throw err;
    }
  };
}
