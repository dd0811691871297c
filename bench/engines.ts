/**
 * Issue 17: the two Kafka engines side by side, from one commit, on one backlog — a plain
 * consume → copy → produce, exactly once, timed until every input offset is committed:
 *
 * - `kafkajs runner`: today's ExactlyOnceRunner on (patched) kafkajs — one transactional producer
 *   per input partition, one transaction per chunk;
 * - `ckjs per batch`: @confluentinc/kafka-javascript's KafkaJS API ported naively — one
 *   transactional producer, one transaction per `eachBatch`;
 * - `ckjs interval`: the same client, one transaction spanning every partition, committed every
 *   `--interval-ms` (Kafka Streams' commit.interval.ms under exactly-once: 100) or at
 *   `--max-records`, offsets sent with the consumer's group metadata (KIP-447), each batch's
 *   send awaited before the next batch;
 * - `ckjs pipelined`: the same, but sends not awaited (the commit waits for them) and every
 *   partition consumed concurrently into the open transaction.
 *
 *   npm run bench:engines [-- --quick] [--records=200000] [--partitions=6]
 */
import { KafkaJS } from '@confluentinc/kafka-javascript';
import type { Message } from 'kafkajs';
import { ExactlyOnceRunner } from '../src/kafka/exactly-once.js';
import { createKafka } from '../src/kafka/client.js';
import { numberOption, say, sleep } from './lib/options.js';
import { benchLogger, committedOffsets, createTopics, openBenchStack } from './lib/stack.js';

const records = numberOption('records', 20_000, 200_000);
const partitions = numberOption('partitions', 6, 6);
const intervalMs = numberOption('interval-ms', 100, 100);
const maxRecords = numberOption('max-records', 5000, 5000);

interface Result {
  readonly engine: string;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly transactions: number;
  readonly joinSeconds: number;
}

const stack = await openBenchStack('engines');
try {
  const input = stack.name('in');
  await createTopics(stack.admin, [input], partitions);
  say(`filling ${input} with ${String(records)} records of 200 bytes`);
  const filler = stack.kafka.producer();
  await filler.connect();
  const value = Buffer.alloc(200, 'x');
  for (let i = 0; i < records; i += 5000) {
    const messages: Message[] = [];
    for (let j = i; j < Math.min(records, i + 5000); j++)
      messages.push({ key: `customer-${String(j % 10_000)}`, value });
    await filler.send({ topic: input, acks: -1, messages });
  }
  await filler.disconnect();

  /** Waits until the group has committed every input record; the seconds since `started`. */
  const committedAll = async (groupId: string, started: number): Promise<number> => {
    while ((await committedOffsets(stack.admin, groupId, input)) < records) await sleep(20);
    return (performance.now() - started) / 1000;
  };
  /**
   * From the first record handed over (the group joined: librdkafka and kafkajs join at their
   * own pace, which is start-up, not throughput) to the last offset committed.
   */
  const result = (
    engine: string,
    seconds: number,
    firstRecordSeconds: number,
    transactions: number,
  ): Result => ({
    engine,
    seconds: Math.round((seconds - firstRecordSeconds) * 100) / 100,
    recordsPerSecond: Math.round(records / (seconds - firstRecordSeconds)),
    transactions,
    joinSeconds: Math.round(firstRecordSeconds * 100) / 100,
  });
  const results: Result[] = [];

  // 1. today's runner on kafkajs
  {
    const output = stack.name('out-kafkajs');
    await createTopics(stack.admin, [output], partitions);
    const groupId = stack.name('kafkajs');
    let transactions = 0;
    let first: number | undefined;
    const runner = new ExactlyOnceRunner({
      kafka: createKafka(
        { brokers: [...stack.endpoints.brokers], clientId: groupId },
        benchLogger(),
      ),
      groupId,
      topics: [input],
      transactionalIdPrefix: groupId,
      partitionsConsumedConcurrently: partitions,
      logger: benchLogger(),
      onCommitted: () => {
        transactions++;
      },
      process: (chunk) => {
        first ??= performance.now();
        return Promise.resolve([
          { topic: output, messages: chunk.messages.map((m) => ({ key: m.key, value: m.value })) },
        ]);
      },
    });
    const started = performance.now();
    await runner.start();
    const seconds = await committedAll(groupId, started);
    await runner.stop();
    results.push(
      result('kafkajs runner', seconds, ((first ?? started) - started) / 1000, transactions),
    );
    say(JSON.stringify(results.at(-1)));
  }

  const ckjs = new KafkaJS.Kafka({
    kafkaJS: { brokers: [...stack.endpoints.brokers], logLevel: KafkaJS.logLevel.ERROR },
  });

  // 2. and 3. the maintained client, one transactional producer
  for (const mode of ['per batch', 'interval', 'pipelined'] as const) {
    const output = stack.name(`out-ckjs-${mode.replace(' ', '-')}`);
    await createTopics(stack.admin, [output], partitions);
    const groupId = stack.name(`ckjs-${mode.replace(' ', '-')}`);
    const producer = ckjs.producer({ kafkaJS: { transactionalId: groupId } });
    const consumer = ckjs.consumer({
      kafkaJS: { groupId, fromBeginning: true, autoCommit: false },
      // more than the KafkaJS API's default 32 messages per eachBatch
      'js.consumer.max.batch.size': mode === 'per batch' ? 32 : -1,
    });
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topics: [input] });
    let transactions = 0;
    let txn: Awaited<ReturnType<typeof producer.transaction>> | undefined;
    let openedAt = 0;
    let pending = 0;
    const offsets = new Map<number, string>();
    /** Sends of the open transaction not acknowledged yet (pipelined mode). */
    let inflight: Promise<unknown>[] = [];
    let lock: Promise<unknown> = Promise.resolve();
    const locked = <T>(fn: () => Promise<T>): Promise<T> => {
      const next = lock.then(fn, fn);
      lock = next.catch(() => undefined);
      return next;
    };
    /** Sends the open transaction's input offsets with the consumer and commits it. */
    const commit = async () => {
      if (!txn) return;
      await Promise.all(inflight);
      inflight = [];
      await txn.sendOffsets({
        consumer,
        topics: [
          {
            topic: input,
            partitions: [...offsets].map(([partition, offset]) => ({ partition, offset })),
          },
        ],
      });
      await txn.commit();
      transactions++;
      txn = undefined;
      pending = 0;
      offsets.clear();
    };
    const idle =
      mode !== 'per batch'
        ? setInterval(() => {
            void locked(async () => {
              if (txn && performance.now() - openedAt >= intervalMs) await commit();
            });
          }, intervalMs / 4)
        : undefined;
    const started = performance.now();
    let first: number | undefined;
    await consumer.run({
      // pipelined: every partition's batches go into the one open transaction at once
      ...(mode === 'pipelined' ? { partitionsConsumedConcurrently: partitions } : {}),
      eachBatch: ({ batch }) =>
        locked(async () => {
          first ??= performance.now();
          const last = batch.messages.at(-1);
          if (!last) return;
          if (!txn) {
            txn = await producer.transaction();
            openedAt = performance.now();
          }
          const sent = txn.send({
            topic: output,
            messages: batch.messages.map((m) => ({ key: m.key, value: m.value })),
          });
          // pipelined: not awaited here — librdkafka batches and pipelines the sends; the commit
          // waits for all of them
          if (mode === 'pipelined') inflight.push(sent);
          else await sent;
          offsets.set(batch.partition, String(BigInt(last.offset) + 1n));
          pending += batch.messages.length;
          if (
            mode === 'per batch' ||
            pending >= maxRecords ||
            performance.now() - openedAt >= intervalMs
          )
            await commit();
        }),
    });
    const seconds = await committedAll(groupId, started);
    clearInterval(idle);
    await consumer.disconnect();
    await producer.disconnect();
    results.push(
      result(`ckjs ${mode}`, seconds, ((first ?? started) - started) / 1000, transactions),
    );
    say(JSON.stringify(results.at(-1)));
  }

  console.log(
    JSON.stringify({
      bench: 'engines',
      records,
      partitions,
      recordBytes: 200,
      intervalMs,
      maxRecords,
      results,
    }),
  );
} finally {
  await stack.close();
}
