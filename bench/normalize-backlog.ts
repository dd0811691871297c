/**
 * Normalizer throughput over a backlog (not a test; the full benchmark comes with bench/):
 * fills a fresh raw topic with N realistic webhooks (Bud V1/V2, Yodlee), then times the
 * exactly-once normalizer until every expected event is committed.
 *
 *   npm run bench:normalize-backlog -- [records=100000] [partitions=6]
 */
import { randomUUID } from 'node:crypto';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Message } from 'kafkajs';
import { loadConfig } from '../src/config/config.js';
import { createLogger } from '../src/lib/logger.js';
import { mapRawWebhook } from '../src/normalize/mappers/index.js';
import { startNormalizer } from '../src/normalize/normalizer.js';
import { openStack } from '../src/stack/select.js';

const records = Number(process.argv[2] ?? 100_000);
const partitions = Number(process.argv[3] ?? 6);
const base = loadConfig();
const stack = await openStack(base, (line) => {
  console.error(line);
});
const endpoints = await stack.up();
const run = randomUUID().slice(0, 8);
const config = loadConfig({
  KAFKA_BROKERS: endpoints.brokers.join(','),
  SCHEMA_REGISTRY_URL: endpoints.registryUrl,
  LOG_LEVEL: 'warn',
  TOPIC_WEBHOOKS_RAW: `bench.raw.${run}`,
  TOPIC_REFRESH_REQUESTS: `bench.requests.${run}`,
  TOPIC_REFRESH_EVENTS: `bench.events.${run}`,
  TOPIC_REFRESH_DLQ: `bench.dlq.${run}`,
  TOPIC_PARTITIONS: String(partitions),
  NORMALIZE_GROUP_ID: `bench-normalizer-${run}`,
  NORMALIZE_TRANSACTIONAL_ID_PREFIX: `bench-normalizer-${run}`,
});
const kafka = new Kafka({
  clientId: 'bench',
  brokers: [...endpoints.brokers],
  logLevel: logLevel.NOTHING,
});
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({
  topics: [
    config.TOPIC_WEBHOOKS_RAW,
    config.TOPIC_REFRESH_EVENTS,
    config.TOPIC_REFRESH_DLQ,
    config.TOPIC_REFRESH_REQUESTS,
  ].map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
  waitForLeaders: true,
});

const received = new Date().toISOString();
function webhook(i: number): { source: string; key: string; body: string } {
  const customer = `customer-${i % 20_000}`;
  switch (i % 4) {
    case 0:
    case 1:
      return {
        source: 'bud',
        key: customer,
        body: JSON.stringify({
          data: {
            task_id: `task-${i}`,
            task_type: 'refresh',
            customer_id: customer,
            status: i % 10 === 1 ? 'Failed' : 'Completed',
            result: i % 10 === 1 ? 'provider_failure' : 'success',
            has_new_transactions: i % 3 === 0 ? 'true' : 'false',
            reconnect_required: 'false',
            provider: `Bank_${i % 7}`,
            consent_id: `consent-${i % 50_000}`,
          },
        }),
      };
    case 2:
      return {
        source: 'bud',
        key: customer,
        body: JSON.stringify({
          event: 'open_banking.v2.refresh.provider.completed',
          customer_id: customer,
          task_id: `task-${i}`,
          provider: `Bank_${i % 7}`,
          status: 'Completed',
          result: 'success',
          reconnect_required: false,
          has_new_transactions: true,
          consent_ids: [`consent-${i}`],
          start_time: received,
        }),
      };
    default:
      return {
        source: 'yodlee',
        key: customer,
        body: JSON.stringify({
          event: {
            info: 'REFRESH.PROCESS_COMPLETED',
            loginName: customer,
            data: {
              providerAccount: [
                {
                  id: 10_000_000 + i,
                  providerId: 16441,
                  status: 'SUCCESS',
                  requestId: `req-${i}`,
                  dataset: [
                    {
                      name: 'BASIC_AGG_DATA',
                      additionalStatus: 'AVAILABLE_DATA_RETRIEVED',
                      updateEligibility: 'ALLOW_UPDATE',
                      lastUpdated: received,
                      lastUpdateAttempt: received,
                    },
                  ],
                },
              ],
            },
          },
        }),
      };
  }
}

let expected = 0;
let bytes = 0;
const producer = kafka.producer({
  idempotent: true,
  createPartitioner: Partitioners.DefaultPartitioner,
});
await producer.connect();
const fillStarted = Date.now();
for (let i = 0; i < records; i += 2000) {
  const messages: Message[] = [];
  for (let j = i; j < Math.min(records, i + 2000); j++) {
    const w = webhook(j);
    const value = Buffer.from(w.body);
    bytes += value.length;
    const mapped = mapRawWebhook({
      source: w.source,
      value,
      receivedAt: 0,
      ingestId: '',
      topic: '',
      partition: 0,
      offset: 0,
    });
    expected += mapped.ok ? mapped.events.length : 0;
    messages.push({
      key: w.key,
      value,
      headers: {
        'ob-source': w.source,
        'ob-ingest-id': `ingest-${j}`,
        'ob-received-at': received,
        'content-type': 'application/json',
      },
    });
  }
  await producer.send({ topic: config.TOPIC_WEBHOOKS_RAW, acks: -1, messages });
}
await producer.disconnect();
console.error(
  `backlog: ${records} raw records (${(bytes / 1e6).toFixed(1)} MB) in ${((Date.now() - fillStarted) / 1000).toFixed(1)} s`,
);

const startedAt = Date.now();
const rssBefore = process.memoryUsage().rss;
let peakRss = rssBefore;
const normalizer = await startNormalizer(config, endpoints, createLogger('warn'));
for (;;) {
  await new Promise((r) => setTimeout(r, 500));
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const offsets = await admin.fetchOffsets({
    groupId: config.NORMALIZE_GROUP_ID,
    topics: [config.TOPIC_WEBHOOKS_RAW],
  });
  const done = offsets[0]?.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) ?? 0;
  if (done >= records) break;
}
const seconds = (Date.now() - startedAt) / 1000;
await normalizer.close();
const out = await admin.fetchTopicOffsets(config.TOPIC_REFRESH_EVENTS);
await admin.deleteTopics({
  topics: [
    config.TOPIC_WEBHOOKS_RAW,
    config.TOPIC_REFRESH_EVENTS,
    config.TOPIC_REFRESH_DLQ,
    config.TOPIC_REFRESH_REQUESTS,
  ],
});
await admin.disconnect();
console.log(
  JSON.stringify(
    {
      rawRecords: records,
      partitions,
      expectedEvents: expected,
      outputOffsetsIncludingMarkers: out.reduce((n, p) => n + Number(p.high), 0),
      seconds: Number(seconds.toFixed(1)),
      rawRecordsPerSecond: Math.round(records / seconds),
      eventsPerSecond: Math.round(expected / seconds),
      peakRssMB: Math.round(peakRss / 1e6),
      note: 'seconds from normalizer start (incl. group join) until all input offsets are committed',
    },
    null,
    2,
  ),
);
