import { describe, expect, it } from 'vitest';
import { registerValueSchema } from '../../src/registry/registry.js';
import { testBroker, testRegistry, uniqueName } from './support/kafka.js';

const broker = testBroker();

const schema = {
  type: 'record',
  name: 'Probe',
  namespace: 'io.refreshbus.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: 'long' },
    { name: 'note', type: ['null', 'string'], default: null },
  ],
};

describe('Avro through Kafka and the schema registry', () => {
  it('round-trips a record in the Confluent wire format, decoded by the schema id it carries', async () => {
    const registry = testRegistry();
    const topic = uniqueName('avro');
    await broker.createTopics([topic]);

    const id = await registerValueSchema(registry, topic, schema);
    // registering the same schema again gives the same id
    expect(await registerValueSchema(registry, topic, schema)).toBe(id);

    const value = { id: 'customer-1', amount: 12_345, note: 'hello' };
    const producer = await broker.producer({ idempotent: true });
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key: 'customer-1', value: await registry.encode(id, value) }],
    });

    const [record, ...rest] = await broker.readAll(topic, { readCommitted: true, count: 1 });
    expect(rest).toHaveLength(0);
    const bytes = record?.value;
    if (!bytes) throw new Error('no record read back');
    // Confluent wire format: magic byte 0, then the schema id as a big-endian int32, then Avro
    expect(bytes.readUInt8(0)).toBe(0);
    expect(bytes.readInt32BE(1)).toBe(id);
    expect(record.key?.toString()).toBe('customer-1');

    // a fresh client knows no schema: it must look the id up in the registry to decode
    const fresh = testRegistry();
    expect(await fresh.decode(bytes)).toEqual(value);
  });
});
