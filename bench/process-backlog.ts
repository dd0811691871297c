/**
 * Processor throughput, state restore and memory (not a test; the full benchmark comes with
 * bench/): N customers with two bank webhooks each as canonical Avro events, processed exactly
 * once with state in changelogs; then a second host restores that state from the changelogs.
 *
 *   npm run bench:process-backlog -- [customers=100000] [partitions=6]
 */
import { randomUUID } from 'node:crypto';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Message } from 'kafkajs';
import { loadConfig } from '../src/config/config.js';
import { ensureTopics, topicDefinitions } from '../src/kafka/topics.js';
import { createLogger } from '../src/lib/logger.js';
import { mapRawWebhook } from '../src/normalize/mappers/index.js';
import { startProcessors } from '../src/processors/service.js';
import { createRegistry, registerValueSchema } from '../src/registry/registry.js';
import { readSchema } from '../src/registry/schemas.js';
import { openStack } from '../src/stack/select.js';

const customers = Number(process.argv[2] ?? 100_000);
const partitions = Number(process.argv[3] ?? 6);
const endpoints = await (
  await openStack(loadConfig(), (l) => {
    console.error(l);
  })
).up();
const run = randomUUID().slice(0, 8);
const config = loadConfig({
  KAFKA_BROKERS: endpoints.brokers.join(','),
  SCHEMA_REGISTRY_URL: endpoints.registryUrl,
  LOG_LEVEL: 'warn',
  TOPIC_WEBHOOKS_RAW: `bench.raw.${run}`,
  TOPIC_REFRESH_REQUESTS: `bench.requests.${run}`,
  TOPIC_REFRESH_EVENTS: `bench.events.${run}`,
  TOPIC_REFRESH_DLQ: `bench.dlq.${run}`,
  TOPIC_CUSTOMER_COMPLETED: `bench.completed.${run}`,
  TOPIC_CUSTOMER_NEW_TRANSACTIONS: `bench.newtx.${run}`,
  TOPIC_CUSTOMER_ALERTS: `bench.alerts.${run}`,
  TOPIC_PARTITIONS: String(partitions),
  PROCESS_APPLICATION_ID: `bench-processors-${run}`,
  ROUND_SETTLE_MS: '1000',
  PROCESS_TIMER_INTERVAL_MS: '250',
});
const kafka = new Kafka({
  clientId: 'bench',
  brokers: [...endpoints.brokers],
  logLevel: logLevel.NOTHING,
});
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin, topicDefinitions(config));
const registry = createRegistry(endpoints.registryUrl);
const schemaId = await registerValueSchema(
  registry,
  config.TOPIC_REFRESH_EVENTS,
  await readSchema('RefreshEvent'),
);

const producer = kafka.producer({
  idempotent: true,
  createPartitioner: Partitioners.DefaultPartitioner,
});
await producer.connect();
const fillStarted = Date.now();
let events = 0;
for (let i = 0; i < customers; i += 1000) {
  const messages: Message[] = [];
  for (let c = i; c < Math.min(customers, i + 1000); c++) {
    for (const bank of ['Bank_A', 'Bank_B']) {
      const result = mapRawWebhook({
        source: 'bud',
        value: Buffer.from(
          JSON.stringify({
            data: {
              task_id: `${bank}-${c}`,
              customer_id: `cust-${c}`,
              status: 'Completed',
              result: 'success',
              provider: bank,
              has_new_transactions: bank === 'Bank_A',
            },
          }),
        ),
        receivedAt: Date.now(),
        ingestId: `i-${c}`,
        topic: 'raw',
        partition: 0,
        offset: c,
      });
      if (!result.ok) throw new Error(result.message);
      for (const e of result.events)
        messages.push({ key: e.customer_id, value: await registry.encode(schemaId, e) });
    }
  }
  events += messages.length;
  await producer.send({ topic: config.TOPIC_REFRESH_EVENTS, acks: -1, messages });
}
await producer.disconnect();
console.error(
  `backlog: ${events} events for ${customers} customers in ${((Date.now() - fillStarted) / 1000).toFixed(1)} s`,
);

const committedInput = async () => {
  const [offsets] = await admin.fetchOffsets({
    groupId: config.PROCESS_APPLICATION_ID,
    topics: [config.TOPIC_REFRESH_EVENTS],
  });
  return offsets?.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) ?? 0;
};
const completedCount = async () =>
  (await admin.fetchTopicOffsets(config.TOPIC_CUSTOMER_COMPLETED)).reduce(
    (n, p) => n + Number(p.high),
    0,
  );

const started = Date.now();
let peakRss = 0;
const first = await startProcessors(config, endpoints, createLogger('warn'));
for (;;) {
  await new Promise((r) => setTimeout(r, 500));
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  if ((await committedInput()) >= events) break;
}
const processSeconds = (Date.now() - started) / 1000;
for (;;) {
  // completions of the last rounds come from their settle deadline
  if ((await completedCount()) >= customers) break;
  await new Promise((r) => setTimeout(r, 500));
}
const allClosedSeconds = (Date.now() - started) / 1000;
const stateSize = first.host.stateSize();
const rssWithState = process.memoryUsage().rss;
await first.close();

// a second host takes over: it restores every partition's state from the changelogs
const restoreStarted = Date.now();
const second = await startProcessors(config, endpoints, createLogger('warn'));
for (;;) {
  await new Promise((r) => setTimeout(r, 200));
  const size = second.host.stateSize();
  if (
    (size.rounds ?? 0) >= (stateSize.rounds ?? 0) &&
    (size.alerts ?? 0) >= (stateSize.alerts ?? 0)
  )
    break;
}
const restoreSeconds = (Date.now() - restoreStarted) / 1000;
const changelogRecords = (
  await Promise.all(
    [
      `${config.PROCESS_APPLICATION_ID}.rounds.changelog`,
      `${config.PROCESS_APPLICATION_ID}.alerts.changelog`,
    ].map(async (t) => (await admin.fetchTopicOffsets(t)).reduce((n, p) => n + Number(p.high), 0)),
  )
).reduce((a, b) => a + b, 0);
await second.close();
await admin.disconnect();
console.log(
  JSON.stringify(
    {
      customers,
      events,
      partitions,
      processSeconds: Number(processSeconds.toFixed(1)),
      eventsPerSecond: Math.round(events / processSeconds),
      allRoundsClosedSeconds: Number(allClosedSeconds.toFixed(1)),
      stateSize,
      rssMBWithState: Math.round(rssWithState / 1e6),
      peakRssMB: Math.round(peakRss / 1e6),
      restoreSeconds: Number(restoreSeconds.toFixed(1)),
      changelogOffsetsIncludingMarkers: changelogRecords,
      restoreRecordsPerSecond: Math.round(changelogRecords / restoreSeconds),
      note: 'one process holds the bench producer, two hosts in turn, and the registry client; restore includes group join',
    },
    null,
    2,
  ),
);
