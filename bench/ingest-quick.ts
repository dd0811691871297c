/**
 * A short local load run of the ingest (not a test, not the full benchmark): signed Bud V1
 * webhooks over HTTP at a fixed concurrency, acks=all, against whatever stack is configured.
 *
 *   npm run bench:ingest-quick -- [seconds=15] [connections=50]
 */
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../src/config/config.js';
import { signStandardWebhook } from '../src/ingest/auth/standard-webhooks.js';
import { startIngest } from '../src/ingest/server.js';
import { createLogger } from '../src/lib/logger.js';
import { openStack } from '../src/stack/select.js';

const seconds = Number(process.argv[2] ?? 15);
const connections = Number(process.argv[3] ?? 50);
const secret = 'whsec_' + Buffer.from('bench-secret-0123456789abcdef').toString('base64');

const base = loadConfig();
const stack = await openStack(base, (line) => {
  console.error(line);
});
const endpoints = await stack.up();
const raw = `bench.raw.${randomUUID().slice(0, 8)}`;
const kafka = new Kafka({
  clientId: 'bench',
  brokers: [...endpoints.brokers],
  logLevel: logLevel.NOTHING,
});
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({
  topics: [{ topic: raw, numPartitions: 6, replicationFactor: 1 }],
  waitForLeaders: true,
});

const config = loadConfig({
  KAFKA_BROKERS: endpoints.brokers.join(','),
  SCHEMA_REGISTRY_URL: endpoints.registryUrl,
  INGEST_PORT: '0',
  LOG_LEVEL: 'warn',
  TOPIC_WEBHOOKS_RAW: raw,
  BUD_AUTH: 'hmac',
  BUD_WEBHOOK_SECRETS: secret,
  YODLEE_AUTH: 'none',
  REFRESH_REQUESTS_AUTH: 'none',
});
const ingest = await startIngest(config, endpoints, createLogger('warn'));

// realistic body (~400 bytes); one signature is valid for the run's 5-minute tolerance
const body = Buffer.from(
  JSON.stringify({
    data: {
      task_id: randomUUID(),
      task_type: 'refresh',
      customer_id: 'bench-customer',
      status: 'Completed',
      result: 'success',
      has_new_transactions: 'true',
      reconnect_required: 'false',
      provider: 'Capital_One',
      consent_id: randomUUID(),
    },
  }),
);
const ts = Math.floor(Date.now() / 1000);
const result = await autocannon({
  url: `${ingest.url}/webhooks/bud`,
  method: 'POST',
  connections,
  duration: seconds,
  headers: {
    'content-type': 'application/json',
    'webhook-id': 'msg_bench',
    'webhook-timestamp': String(ts),
    'webhook-signature': signStandardWebhook(secret, 'msg_bench', ts, body),
  },
  body,
});
await ingest.close();
const offsets = await admin.fetchTopicOffsets(raw);
const stored = offsets.reduce((n, p) => n + Number(p.high), 0);
await admin.deleteTopics({ topics: [raw] });
await admin.disconnect();

console.log(
  JSON.stringify(
    {
      seconds,
      connections,
      bodyBytes: body.length,
      requestsPerSecond: result.requests.average,
      latencyMs: {
        p50: result.latency.p50,
        p90: result.latency.p90,
        p99: result.latency.p99,
        max: result.latency.max,
      },
      '2xx': result['2xx'],
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      recordsOnTopic: stored,
    },
    null,
    2,
  ),
);
