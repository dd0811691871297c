import { describe, expect, it } from 'vitest';
import { testBroker, uniqueName } from './support/kafka.js';

const broker = testBroker();

describe('Kafka transactions', () => {
  it('shows a committed transaction to read_committed consumers and hides an aborted one', async () => {
    const topic = uniqueName('txn');
    await broker.createTopics([topic]);
    const producer = await broker.transactionalProducer(uniqueName('txn-id'));

    const committed = await producer.transaction();
    await committed.send({
      topic,
      messages: [
        { key: 'k', value: 'committed-1' },
        { key: 'k', value: 'committed-2' },
      ],
    });
    await committed.commit();

    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ key: 'k', value: 'aborted-1' }] });
    await aborted.abort();

    const after = await producer.transaction();
    await after.send({ topic, messages: [{ key: 'k', value: 'committed-3' }] });
    await after.commit();

    const committedView = await broker.readAll(topic, { readCommitted: true, count: 3 });
    expect(committedView.map((m) => m.value?.toString())).toEqual([
      'committed-1',
      'committed-2',
      'committed-3',
    ]);

    // the aborted record was written to the log: only the isolation level hides it
    const uncommittedView = await broker.readAll(topic, { readCommitted: false, count: 4 });
    expect(uncommittedView.map((m) => m.value?.toString())).toEqual([
      'committed-1',
      'committed-2',
      'aborted-1',
      'committed-3',
    ]);
  });

  it('hides the records of several aborted transactions from a read that starts inside them', async () => {
    // Two producers' aborted transactions interleave in one partition (as the normalizer's
    // producers, one per input partition, write to one events partition when a broker loss
    // aborts them together); a read resumes at an offset inside both (a rejoin, a seek, a fetch
    // after the last stable offset moved). The broker lists both aborted transactions; kafkajs
    // activated one per record and passed the other's first record on (fixed in
    // patches/kafkajs+2.2.4.patch, filterAbortedMessages.js; unit test kafkajs-aborted.test.ts).
    const topic = uniqueName('txn-interleaved');
    await broker.createTopics([topic]);
    const a = await broker.transactionalProducer(uniqueName('txn-a'));
    const b = await broker.transactionalProducer(uniqueName('txn-b'));
    const ta = await a.transaction();
    const tb = await b.transaction();
    for (const i of [1, 2, 3]) {
      await ta.send({ topic, messages: [{ value: `a-${String(i)}` }] });
      await tb.send({ topic, messages: [{ value: `b-${String(i)}` }] });
    }
    await ta.abort();
    await tb.abort();
    const after = await a.transaction();
    await after.send({ topic, messages: [{ value: 'committed' }] });
    await after.commit();

    // offsets 0–5: a-1 b-1 a-2 b-2 a-3 b-3; the read starts at b-2
    const all = await broker.readAll(topic, { readCommitted: false, count: 7 });
    expect(all.map((m) => m.value?.toString())).toEqual([
      'a-1',
      'b-1',
      'a-2',
      'b-2',
      'a-3',
      'b-3',
      'committed',
    ]);
    const start = all.find((m) => m.value?.toString() === 'b-2')?.offset;
    expect(start).toBe('3');
    const read = await readFrom(topic, start ?? '0');
    expect(read).toEqual(['committed']);
  });
});

/**
 * What a read_committed consumer reads of partition 0 from `offset` on: its group's offset is set
 * there before it joins, so its first fetch starts there.
 */
async function readFrom(topic: string, offset: string): Promise<string[]> {
  const groupId = uniqueName('from');
  const admin = await broker.admin();
  await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset }] });
  const consumer = broker.kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic });
    let done: () => void = () => undefined;
    const committedSeen = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachMessage: ({ message }) => {
        const value = message.value?.toString() ?? '';
        values.push(value);
        if (value === 'committed') done();
        return Promise.resolve();
      },
    });
    await Promise.race([committedSeen, new Promise((r) => setTimeout(r, 15_000))]);
    await new Promise((r) => setTimeout(r, 500)); // anything after it shows up too
  } finally {
    await consumer.disconnect();
  }
  return values;
}
