/**
 * Poison inputs (issue 16, item 1), on the real broker and registry: a record that can never be
 * processed is dead-lettered with its reason and origin in the transaction that moves its
 * partition on, and every later record of that partition is processed — in the normalizer (a
 * mapping over the limits, a record the broker refuses) and in the processors (bytes that are not
 * Avro, a state that would not fit a record).
 */
import type { Kafka, Message } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/config.js';
import { createLogger } from '../../src/lib/logger.js';
import { deadLetter, headerText } from '../../src/normalize/dlq.js';
import { startNormalizer } from '../../src/normalize/normalizer.js';
import type { RefreshEvent } from '../../src/normalize/types.js';
import { startProcessors } from '../../src/processors/service.js';
import type { CustomerRefreshCompleted } from '../../src/processors/types.js';
import { registerValueSchema } from '../../src/registry/registry.js';
import { readSchema } from '../../src/registry/schemas.js';
import { budV1 as budInputs } from '../support/events.js';
import { createStreamRunner } from '../../src/kafka/stream-runner.js';
import { StreamMetrics, createMetricsRegistry } from '../../src/observability/metrics.js';
import { brokers, createTopics, testBroker, testRegistry, uniqueName } from './support/kafka.js';
import { until } from './support/pipeline.js';
import { budV1, normalizerConfig, rawRecord } from './support/normalizer.js';
import { processorConfig } from './support/processors.js';
import { HEADER } from '../../src/contract/headers.js';

const broker = testBroker();
const { resources } = broker;

/** Writes `messages` to one partition, in order. */
async function produceTo(kafka: Kafka, topic: string, partition: number, messages: Message[]) {
  const producer = kafka.producer({
    idempotent: true,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    for (const m of messages)
      await producer.send({ topic, acks: -1, messages: [{ ...m, partition }] });
  } finally {
    await producer.disconnect();
  }
}

const dataOf = (body: string) => (JSON.parse(body) as { data: Record<string, unknown> }).data;

const endpointsOf = (config: Config) => ({
  brokers: config.KAFKA_BROKERS ?? [],
  registryUrl: config.SCHEMA_REGISTRY_URL ?? '',
});

/** Both exactly-once engines (issue 17) meet poison the same way. */
const engines = ['kafkajs', 'librdkafka'] as const;

describe.each(engines)('the normalizer with poison on a partition (%s)', (engine) => {
  it('dead-letters a 600 KB customer_id and an event the broker refuses; the 30 webhooks after them all become events', async () => {
    const config = normalizerConfig({ KAFKA_ENGINE: engine });
    const { kafka } = broker;
    const admin = await broker.admin();
    // events larger than 1,500 bytes are refused by this broker's topic (MESSAGE_TOO_LARGE):
    // what a lower limit set by an operator looks like
    await admin.createTopics({
      topics: [
        {
          topic: config.TOPIC_REFRESH_EVENTS,
          numPartitions: 3,
          replicationFactor: 1,
          configEntries: [{ name: 'max.message.bytes', value: '1500' }],
        },
      ],
      waitForLeaders: true,
    });
    resources.track(
      await startNormalizer(config, endpointsOf(config), createLogger('silent')),
      (n) => n.close(),
    );
    const long = (c: string) => c.repeat(250); // within the limits, but not this topic's
    const ordinary = Array.from({ length: 30 }, (_, i) =>
      rawRecord('bud', budV1(i, 1), `customer-${String(i)}`, `ordinary-${String(i)}`),
    );
    const huge = JSON.stringify({
      data: { ...dataOf(budV1(99, 1)), customer_id: 'c'.repeat(600_000) },
    });
    const large = JSON.stringify({
      data: {
        ...dataOf(budV1(98, 1)),
        customer_id: long('c'),
        task_id: long('t'),
        provider: long('p'),
        consent_id: long('k'),
      },
    });
    await produceTo(kafka, config.TOPIC_WEBHOOKS_RAW, 0, [
      ...ordinary.slice(0, 5),
      rawRecord('bud', huge, 'huge', 'huge'),
      rawRecord('bud', large, 'large', 'large'),
      ...ordinary.slice(5),
    ]);

    const dlq = (
      await broker.readAll(config.TOPIC_REFRESH_DLQ, { readCommitted: true, count: 2 })
    ).sort(
      (a, b) =>
        Number(headerText(a.headers, HEADER.originOffset)) -
        Number(headerText(b.headers, HEADER.originOffset)),
    );
    expect(
      dlq.map((r) => [
        headerText(r.headers, HEADER.ingestId),
        headerText(r.headers, HEADER.errorCode),
        headerText(r.headers, HEADER.originTopic),
        headerText(r.headers, HEADER.originPartition),
        headerText(r.headers, HEADER.originOffset),
      ]),
    ).toEqual([
      ['huge', 'LIMIT_EXCEEDED', config.TOPIC_WEBHOOKS_RAW, '0', '5'],
      ['large', 'MESSAGE_TOO_LARGE', config.TOPIC_WEBHOOKS_RAW, '0', '6'],
    ]);
    expect(headerText(dlq[0]?.headers, HEADER.errorMessage)).toMatch(/^customer_id is 600000/);
    // the dead letter keeps the body as it came, for a replay once the limit is raised
    expect(dlq[1]?.value?.toString()).toBe(large);

    const events = await broker.readAll(config.TOPIC_REFRESH_EVENTS, {
      readCommitted: true,
      count: 30,
    });
    const registry = testRegistry();
    const ingestIds = await Promise.all(
      events.map(
        async (r) =>
          ((await registry.decode(r.value ?? Buffer.alloc(0))) as RefreshEvent).ingest_id,
      ),
    );
    expect(ingestIds.sort()).toEqual(
      ordinary.map((m) => headerText(m.headers, HEADER.ingestId)).sort(),
    );
  }, 120_000);
});

describe.each(engines)('the processors with poison on a partition (%s)', (engine) => {
  it('dead-letter bytes that are not Avro and an input whose state would not fit a record; the customers after them complete', async () => {
    const config = processorConfig({ KAFKA_ENGINE: engine });
    const { kafka } = broker;
    const registry = testRegistry();
    const schemaId = await registerValueSchema(
      registry,
      config.TOPIC_REFRESH_EVENTS,
      await readSchema('RefreshEvent'),
    );
    resources.track(
      await startProcessors(config, endpointsOf(config), createLogger('silent')),
      (p) => p.close(),
    );
    const now = Date.now();
    const encoded = async (customer: string, provider = 'Bank') => {
      const [input] = budInputs(now, { customer, task: `task-${customer}`, provider: 'Bank' });
      if (input?.kind !== 'event') throw new Error('a Bud V1 event');
      // as an earlier version, or another writer, may have put it on the topic
      const event = { ...input.event, provider };
      return { key: customer, value: await registry.encode(schemaId, event) };
    };
    await produceTo(kafka, config.TOPIC_REFRESH_EVENTS, 1, [
      await encoded('before'),
      { key: 'garbage', value: Buffer.from('not avro at all') },
      // a provider name of 400,000 characters: its event fits, the customer's state does not
      await encoded('giant', 'P'.repeat(400_000)),
      await encoded('after-1'),
      await encoded('after-2'),
    ]);

    const dlq = await broker.readAll(config.TOPIC_PROCESS_DLQ, { readCommitted: true, count: 2 });
    expect(
      dlq.map((r) => [
        r.key?.toString(),
        headerText(r.headers, HEADER.errorCode),
        headerText(r.headers, HEADER.originTopic),
        headerText(r.headers, HEADER.originOffset),
      ]),
    ).toEqual([
      ['garbage', 'UNDECODABLE', config.TOPIC_REFRESH_EVENTS, '1'],
      ['giant', 'RECORD_TOO_LARGE', config.TOPIC_REFRESH_EVENTS, '2'],
    ]);
    expect(dlq[0]?.value?.toString()).toBe('not avro at all');

    const completed = await broker.readAll(config.TOPIC_CUSTOMER_COMPLETED, {
      readCommitted: true,
      count: 3,
    });
    const customers = await Promise.all(
      completed.map(
        async (r) =>
          ((await registry.decode(r.value ?? Buffer.alloc(0))) as CustomerRefreshCompleted)
            .customer_id,
      ),
    );
    expect(customers.sort()).toEqual(['after-1', 'after-2', 'before']);
  }, 120_000);
});

describe.each(engines)('a record failing for an unknown reason (%s)', (engine) => {
  it('is retried a bounded number of times, then dead-lettered PROCESSING_FAILED and counted as unknown; the records after it commit', async () => {
    const { kafka } = broker;
    const [input, output, dlqTopic] = [uniqueName('in'), uniqueName('out'), uniqueName('dlq')];
    const admin = await broker.admin();
    await until('the topics to be created', 30_000, () =>
      createTopics(admin, [input, output, dlqTopic]).then(
        () => true,
        () => undefined,
      ),
    );
    const metrics = StreamMetrics.of(createMetricsRegistry({ defaultMetrics: false }));
    let attempts = 0;
    const runner = resources.track(
      createStreamRunner(engine, {
        kafka,
        brokers: brokers(),
        clientId: uniqueName('client'),
        groupId: uniqueName('group'),
        topics: [input],
        transactionalIdPrefix: uniqueName('txn'),
        maxBackoffMs: 200,
        maxUnknownAttempts: 3,
        logger: createLogger('silent'),
        ...metrics.transactions('process'),
        // a bug that only this record meets, as a TypeError would be
        process: (chunk) => {
          if (chunk.messages.length === 1 && chunk.messages[0]?.value?.toString() === 'bad')
            attempts += 1;
          if (chunk.messages.some((m) => m.value?.toString() === 'bad'))
            return Promise.reject(
              new TypeError("Cannot read properties of undefined (reading 'x')"),
            );
          return Promise.resolve([
            { topic: output, messages: chunk.messages.map((m) => ({ value: m.value })) },
          ]);
        },
        deadLetter: (origin, message, failure) => [
          { topic: dlqTopic, messages: [deadLetter(message, origin, failure)] },
        ],
      }),
      (r) => r.stop(),
    );
    await runner.start();
    await produceTo(kafka, input, 0, [
      { value: 'ok-1' },
      { value: 'bad' },
      { value: 'ok-2' },
      { value: 'ok-3' },
    ]);
    const out = await broker.readAll(output, { readCommitted: true, count: 3 });
    expect(out.map((r) => r.value?.toString())).toEqual(['ok-1', 'ok-2', 'ok-3']);
    const [letter, ...more] = await broker.readAll(dlqTopic, { readCommitted: true, count: 1 });
    expect(more).toEqual([]);
    expect([
      letter?.value?.toString(),
      headerText(letter?.headers, HEADER.errorCode),
      headerText(letter?.headers, HEADER.originOffset),
      headerText(letter?.headers, HEADER.errorMessage),
    ]).toEqual([
      'bad',
      'PROCESSING_FAILED',
      '1',
      "Cannot read properties of undefined (reading 'x')",
    ]);
    // alone, it was tried maxUnknownAttempts times before it was dead-lettered
    expect(attempts).toBe(3);
    const poison = (await metrics.poison.get()).values;
    expect(poison.map((v) => [v.labels, v.value])).toEqual([
      [{ service: 'process', code: 'PROCESSING_FAILED', kind: 'unknown' }, 1],
    ]);
  }, 90_000);
});
