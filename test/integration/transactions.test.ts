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
});
