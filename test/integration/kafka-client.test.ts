/**
 * Issue 17, first step: Confluent's maintained client (@confluentinc/kafka-javascript, librdkafka)
 * is installed by `npm ci` on a machine with only the package registries reachable — built from
 * the librdkafka source in its package, against the system's OpenSSL and zlib — and does, through
 * its KafkaJS-compatible API, what the runner will need from it: exactly-once v2 (KIP-447), one
 * transactional producer, input offsets sent with the consumer's group metadata, read_committed.
 */
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Resources,
  brokers,
  connectedAdmin,
  createTopics,
  readAll,
  testKafka,
  uniqueName,
} from './support/kafka.js';
import { until } from './support/pipeline.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

describe('@confluentinc/kafka-javascript on the real broker', () => {
  it('copies records exactly once: a transaction carries the outputs and the input offsets sent with the consumer', async () => {
    const [input, output, groupId] = [
      uniqueName('ckjs-in'),
      uniqueName('ckjs-out'),
      uniqueName('ckjs-group'),
    ];
    const admin = await connectedAdmin(testKafka(), resources);
    await until('the topics to be created', 30_000, () =>
      createTopics(admin, [input, output], 2).then(
        () => true,
        () => undefined,
      ),
    );
    const kafka = new KafkaJS.Kafka({
      kafkaJS: { brokers: brokers(), logLevel: KafkaJS.logLevel.ERROR },
    });
    const plain = resources.track(kafka.producer({ kafkaJS: { idempotent: true } }), (p) =>
      p.disconnect(),
    );
    await plain.connect();
    await plain.send({
      topic: input,
      messages: Array.from({ length: 20 }, (_, i) => ({
        key: `k-${String(i)}`,
        value: `v-${String(i)}`,
      })),
    });

    const producer = resources.track(
      kafka.producer({ kafkaJS: { transactionalId: uniqueName('ckjs-txn') } }),
      (p) => p.disconnect(),
    );
    await producer.connect();
    const consumer = resources.track(
      kafka.consumer({
        kafkaJS: { groupId, fromBeginning: true, autoCommit: false },
      }),
      (c) => c.disconnect(),
    );
    await consumer.connect();
    await consumer.subscribe({ topics: [input] });
    let copied = 0;
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const last = batch.messages.at(-1);
        if (!last) return;
        const txn = await producer.transaction();
        await txn.send({
          topic: output,
          messages: batch.messages.map((m) => ({ key: m.key, value: m.value })),
        });
        await txn.sendOffsets({
          consumer,
          topics: [
            {
              topic: batch.topic,
              partitions: [
                { partition: batch.partition, offset: String(BigInt(last.offset) + 1n) },
              ],
            },
          ],
        });
        await txn.commit();
        copied += batch.messages.length;
      },
    });
    await until('every record to be copied', 60_000, () => (copied >= 20 ? true : undefined));

    const copies = await readAll(testKafka(), output, { readCommitted: true, count: 20 });
    expect(copies.map((m) => m.value?.toString()).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `v-${String(i)}`).sort(),
    );
    // the input offsets were committed by the transactions, for the consumer's group
    const [committed] = await admin.fetchOffsets({ groupId, topics: [input] });
    expect(committed?.partitions.reduce((n, p) => n + Number(p.offset), 0)).toBe(20);
  }, 120_000);
});
