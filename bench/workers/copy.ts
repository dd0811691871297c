/**
 * Normalize baseline: a plain kafkajs consume → produce copy, no transactions — eachBatch,
 * one `sendBatch` (acks=-1, idempotent producer) per fetched batch, then commit the batch's
 * offsets. What moving the records costs without exactly-once and without mapping.
 * On SIGTERM it prints the per-batch durations (send + commit) as JSON.
 *
 * BENCH_FANOUT (default 1) writes that many records per record read on average (e.g. 2.5: the
 * processors' changelog and output records per event), for the process stage's baseline.
 *
 *   BENCH_BROKERS=… BENCH_FROM=… BENCH_TO=… BENCH_GROUP=… node --import tsx bench/workers/copy.ts
 */
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { splitForProduce } from '../../src/kafka/exactly-once.js';
import { summarize } from '../lib/stats.js';

const brokers = (process.env.BENCH_BROKERS ?? '127.0.0.1:9092').split(',');
const from = process.env.BENCH_FROM ?? '';
const to = process.env.BENCH_TO ?? '';
const groupId = process.env.BENCH_GROUP ?? '';
const fanout = Number(process.env.BENCH_FANOUT ?? '1');
let read = 0;

/** The records to write for one read: `fanout` on average, spread evenly. */
function copies(): number {
  const n = Math.floor((read + 1) * fanout) - Math.floor(read * fanout);
  read += 1;
  return n;
}

const kafka = new Kafka({ clientId: 'bench-copy', brokers, logLevel: logLevel.ERROR });
const producer = kafka.producer({
  idempotent: true,
  createPartitioner: Partitioners.DefaultPartitioner,
});
const consumer = kafka.consumer({ groupId });
await producer.connect();
await consumer.connect();
await consumer.subscribe({ topic: from, fromBeginning: true });
const batchMs: number[] = [];
await consumer.run({
  eachBatchAutoResolve: false,
  autoCommit: false,
  eachBatch: async (payload) => {
    const { batch } = payload;
    const last = batch.messages[batch.messages.length - 1];
    if (!last) return;
    const started = performance.now();
    const messages = batch.messages.flatMap((m) =>
      Array.from({ length: copies() }, () => ({
        key: m.key,
        value: m.value,
        headers: m.headers ?? {},
        partition: batch.partition,
      })),
    );
    // requests under the broker's message.max.bytes (1 MiB), as the services split theirs: a
    // fetched batch (up to 1 MiB) times the fan-out would not fit in one
    for (const request of splitForProduce([{ topic: to, messages }]))
      await producer.sendBatch({ acks: -1, topicMessages: request });
    await consumer.commitOffsets([
      { topic: batch.topic, partition: batch.partition, offset: String(Number(last.offset) + 1) },
    ]);
    payload.resolveOffset(last.offset);
    batchMs.push(performance.now() - started);
    await payload.heartbeat();
  },
});

const stop = () => {
  void (async () => {
    await consumer.disconnect();
    await producer.disconnect();
    process.stdout.write(JSON.stringify({ batches: batchMs.length, ...summarize(batchMs) }) + '\n');
    process.exit(0);
  })();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
