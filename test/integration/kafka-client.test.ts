/**
 * Issue 17, first step: Confluent's maintained client (@confluentinc/kafka-javascript, librdkafka)
 * is installed by `npm ci` on a machine with only the package registries reachable — built from
 * the librdkafka source in its package, against the system's OpenSSL and zlib — and does, through
 * its KafkaJS-compatible API, what the runner will need from it: exactly-once v2 (KIP-447), one
 * transactional producer, input offsets sent with the consumer's group metadata, read_committed.
 */
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { describe, expect, it } from 'vitest';
import { EosRunner } from '../../src/kafka/eos/runner.js';
import { createLogger } from '../../src/lib/logger.js';
import { brokers, createTopics, testBroker, uniqueName } from './support/kafka.js';
import { until } from './support/pipeline.js';

const broker = testBroker();

describe('@confluentinc/kafka-javascript on the real broker', () => {
  it('copies records exactly once: a transaction carries the outputs and the input offsets sent with the consumer', async () => {
    const [input, output, groupId] = [
      uniqueName('ckjs-in'),
      uniqueName('ckjs-out'),
      uniqueName('ckjs-group'),
    ];
    const admin = await broker.admin();
    await until('the topics to be created', 30_000, () =>
      createTopics(admin, [input, output], 2).then(
        () => true,
        () => undefined,
      ),
    );
    const kafka = new KafkaJS.Kafka({
      kafkaJS: { brokers: brokers(), logLevel: KafkaJS.logLevel.ERROR },
    });
    const plain = broker.resources.track(kafka.producer({ kafkaJS: { idempotent: true } }), (p) =>
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

    const producer = broker.resources.track(
      kafka.producer({ kafkaJS: { transactionalId: uniqueName('ckjs-txn') } }),
      (p) => p.disconnect(),
    );
    await producer.connect();
    const consumer = broker.resources.track(
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

    const copies = await broker.readAll(output, { readCommitted: true, count: 20 });
    expect(copies.map((m) => m.value?.toString()).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `v-${String(i)}`).sort(),
    );
    // the input offsets were committed by the transactions, for the consumer's group
    const [committed] = await admin.fetchOffsets({ groupId, topics: [input] });
    expect(committed?.partitions.reduce((n, p) => n + Number(p.offset), 0)).toBe(20);
  }, 120_000);
});

describe('the librdkafka engine (EosRunner) on the real broker', () => {
  it('co-partitions inputs of equal partition counts across members (range assignor), keys land where kafkajs puts them, and a member leaving loses and doubles nothing', async () => {
    const [events, requests, output, groupId] = [
      uniqueName('eos-events'),
      uniqueName('eos-requests'),
      uniqueName('eos-out'),
      uniqueName('eos-group'),
    ];
    const admin = await broker.admin();
    await until('the topics to be created', 30_000, () =>
      createTopics(admin, [events, requests, output], 4).then(
        () => true,
        () => undefined,
      ),
    );
    const assignments = new Map<string, Record<string, number[]>>();
    const runner = (name: string) => {
      const r = new EosRunner({
        brokers: brokers(),
        clientId: name,
        groupId,
        topics: [events, requests],
        transactionalIdPrefix: `${groupId}.${name}`,
        // one key per partition number: the state events and requests of a customer share
        producerKey: (_topic, partition) => `p${String(partition)}`,
        partitionsConsumedConcurrently: 8,
        sessionTimeoutMs: 6000,
        logger: createLogger('silent'),
        process: (chunk) =>
          Promise.resolve([
            {
              topic: output,
              messages: chunk.messages.map((m) => ({
                key: m.key,
                value: Buffer.from(
                  `${chunk.topic}/${String(chunk.partition)}/${m.value?.toString() ?? ''}`,
                ),
              })),
            },
          ]),
      });
      r.onAssigned((assignment) => assignments.set(name, assignment));
      return broker.resources.track(r, (x) => x.stop());
    };
    const first = runner('first');
    await first.start();
    const second = runner('second');
    await second.start();
    await until('both members to hold partitions', 60_000, () => {
      const held = [...assignments.values()].filter((a) => Object.keys(a).length > 0);
      const total = held.flatMap((a) => Object.values(a).flat()).length;
      return held.length === 2 && total === 8 ? true : undefined;
    });
    for (const assignment of assignments.values()) {
      // partition p of both inputs, or neither
      expect([...(assignment[events] ?? [])].sort()).toEqual(
        [...(assignment[requests] ?? [])].sort(),
      );
      expect(assignment[events]?.length).toBe(2);
    }

    // a customer's records go to the same partition number whichever client wrote them: kafkajs's
    // default partitioner (the ingest) and librdkafka's murmur2_random (the engine's outputs)
    const keys = Array.from({ length: 40 }, (_, i) => `customer-${String(i)}`);
    const kafkajsProducer = await broker.producer();
    await kafkajsProducer.send({
      topic: requests,
      messages: keys.map((key) => ({ key, value: 'request' })),
    });
    const ckjs = new KafkaJS.Kafka({
      kafkaJS: { brokers: brokers(), logLevel: KafkaJS.logLevel.ERROR },
    });
    const ckjsProducer = broker.resources.track(ckjs.producer(), (p) => p.disconnect());
    await ckjsProducer.connect();
    await ckjsProducer.send({
      topic: events,
      messages: keys.map((key) => ({ key, value: 'event' })),
    });

    const copies = await broker.readAll(output, { readCommitted: true, count: 80 });
    const partitionOf = new Map<string, Set<string>>();
    for (const c of copies) {
      const [topic = '', partition = ''] = (c.value?.toString() ?? '').split('/');
      const key = c.key?.toString() ?? '';
      const seen = partitionOf.get(key) ?? new Set<string>();
      seen.add(partition);
      partitionOf.set(key, seen);
      expect([events, requests]).toContain(topic);
    }
    expect(copies).toHaveLength(80);
    for (const key of keys) expect(partitionOf.get(key)?.size).toBe(1);

    // the first member leaves: the second takes every partition; what comes after is copied once
    await first.stop();
    await until('the second member to hold every partition', 60_000, () => {
      const a = assignments.get('second') ?? {};
      return (a[events]?.length ?? 0) === 4 && (a[requests]?.length ?? 0) === 4 ? true : undefined;
    });
    await ckjsProducer.send({
      topic: events,
      messages: keys.map((key) => ({ key, value: 'after' })),
    });
    const all = await broker.readAll(output, { readCommitted: true, count: 120 });
    expect(all).toHaveLength(120);
    expect(
      new Set(all.map((c) => `${c.key?.toString() ?? ''}:${c.value?.toString() ?? ''}`)).size,
    ).toBe(120);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [events] });
    expect(committed?.partitions.reduce((n, p) => n + Number(p.offset), 0)).toBe(80);
  }, 180_000);
});
