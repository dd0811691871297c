/**
 * Issue 17: what a plain consume costs in each Kafka client, with and without headers — records of
 * 280 bytes, keyed, with no headers and with six ob-* headers as the raw topic carries them. Read
 * from the beginning by kafkajs (one consumer, eachBatch) and by @confluentinc/kafka-javascript's
 * binding (`consume(1000)` in a loop: no KafkaJS layer), timed from the first record to the last.
 *
 *   npm run bench:client-consume [-- --quick] [--records=300000]
 */
import ckjs from '@confluentinc/kafka-javascript';
import type { Message } from 'kafkajs';
import { numberOption, say } from './lib/options.js';
import { createTopics, openBenchStack } from './lib/stack.js';

const records = numberOption('records', 50_000, 300_000);
const partitions = 6;

const stack = await openBenchStack('client-consume');
const results: { client: string; headers: number; recordsPerSecond: number }[] = [];
try {
  const value = Buffer.alloc(280, 'x');
  const sixHeaders = {
    'ob-ingest-id': '0b7e8f2e-4d61-4f0e-9d0b-6c1f3c2a9e11',
    'ob-source': 'bud',
    'ob-received-at': '2026-12-07T00:00:00.000Z',
    'ob-remote-addr': '203.0.113.7',
    'ob-auth': 'hmac-sha256',
    'ob-route': '/webhooks/bud',
  };
  for (const headers of [undefined, sixHeaders]) {
    const count = headers ? Object.keys(headers).length : 0;
    const topic = stack.name(`in-${String(count)}`);
    await createTopics(stack.admin, [topic], partitions);
    const producer = stack.kafka.producer();
    await producer.connect();
    for (let i = 0; i < records; i += 5000) {
      const messages: Message[] = [];
      for (let j = i; j < Math.min(records, i + 5000); j++)
        messages.push({
          key: `customer-${String(j % 10_000)}`,
          value,
          ...(headers ? { headers } : {}),
        });
      await producer.send({ topic, acks: -1, messages });
    }
    await producer.disconnect();
    say(`filled ${topic}: ${String(records)} records, ${String(count)} headers each`);

    // kafkajs
    {
      const consumer = stack.kafka.consumer({ groupId: stack.name(`kafkajs-${String(count)}`) });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      let n = 0;
      let first = 0;
      const done = new Promise<number>((resolve) => {
        void consumer.run({
          partitionsConsumedConcurrently: partitions,
          eachBatch: ({ batch }) => {
            first ||= performance.now();
            n += batch.messages.length;
            if (n >= records) resolve(performance.now());
            return Promise.resolve();
          },
        });
      });
      const last = await done;
      await consumer.disconnect();
      results.push({
        client: 'kafkajs',
        headers: count,
        recordsPerSecond: Math.round(records / ((last - first) / 1000)),
      });
      say(JSON.stringify(results.at(-1)));
    }

    // the maintained client's binding, without its KafkaJS layer
    {
      const consumer = new ckjs.KafkaConsumer(
        {
          'group.id': stack.name(`binding-${String(count)}`),
          'metadata.broker.list': stack.endpoints.brokers.join(','),
          'enable.auto.commit': false,
          'isolation.level': 'read_committed',
        },
        { 'auto.offset.reset': 'earliest' },
      );
      await new Promise<void>((resolve, reject) => {
        consumer.connect({}, (err: unknown) => {
          if (err) reject(new Error('connect failed', { cause: err }));
          else resolve();
        });
      });
      consumer.subscribe([topic]);
      let n = 0;
      let first = 0;
      while (n < records) {
        const batch = await new Promise<unknown[]>((resolve, reject) => {
          consumer.consume(1000, (err: unknown, messages) => {
            if (err) reject(new Error('consume failed', { cause: err }));
            else resolve(messages);
          });
        });
        if (batch.length > 0) first ||= performance.now();
        n += batch.length;
      }
      const last = performance.now();
      await new Promise<void>((resolve) => {
        consumer.disconnect(() => {
          resolve();
        });
      });
      results.push({
        client: '@confluentinc/kafka-javascript binding',
        headers: count,
        recordsPerSecond: Math.round(records / ((last - first) / 1000)),
      });
      say(JSON.stringify(results.at(-1)));
    }
  }
  console.log(JSON.stringify({ bench: 'client-consume', records, partitions, results }));
} finally {
  await stack.close();
}
