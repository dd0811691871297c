import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { AvroEncodeError, avroEncoder } from '../../../src/registry/avro-encoder.js';
import { readSchema } from '../../../src/registry/schemas.js';
import type { RefreshEvent } from '../../../src/normalize/types.js';

const event = (over: Partial<RefreshEvent> = {}): RefreshEvent => ({
  event_id: '0f8e2c1a-1b2c-8d3e-9f40-123456789abc',
  source: 'BUD',
  source_event: 'TASK_COMPLETED',
  customer_id: 'customer-1',
  provider: 'bank-1',
  connection_id: null,
  task_id: 'task-1',
  parent_task_id: null,
  phase: 'COMPLETED',
  outcome: 'SUCCESS',
  result_code: 'success',
  action_required: 'NONE',
  reconnect_required: false,
  has_new_transactions: true,
  data_updated_at: null,
  final: true,
  reason: null,
  access_expires_at: null,
  delivery_index: 0,
  delivery_count: 1,
  occurred_at: 1_763_900_000_000,
  received_at: 1_763_900_000_123,
  ingest_id: 'ingest-1',
  raw_topic: 'webhooks.raw',
  raw_partition: 3,
  raw_offset: 42,
  subject: 'REFRESH',
  siblings_may_follow: true,
  ...over,
});

/** What `SchemaRegistry.encode` writes: magic byte 0, the id as int32 big-endian, the body. */
function confluentWire(schemaId: number, type: avro.Type, value: unknown): Buffer {
  const id = Buffer.alloc(4);
  id.writeInt32BE(schemaId);
  return Buffer.concat([Buffer.alloc(1), id, type.toBuffer(value)]);
}

describe('avroEncoder', () => {
  it('writes the Confluent wire format, byte for byte, in buffers of their own', async () => {
    const schema = await readSchema('RefreshEvent');
    const type = avro.Type.forSchema(JSON.parse(schema) as avro.Schema);
    const encode = avroEncoder(70_001, schema);
    const values = [event(), event({ customer_id: 'c-2', provider: null, raw_offset: 2 ** 40 })];
    const encoded = values.map(encode);
    encoded.forEach((bytes, i) => {
      expect(bytes).toEqual(confluentWire(70_001, type, values[i]));
      expect(type.fromBuffer(bytes.subarray(5))).toEqual(values[i]);
    });
  });

  it('grows for a value larger than its scratch buffer', async () => {
    const schema = await readSchema('RefreshEvent');
    const type = avro.Type.forSchema(JSON.parse(schema) as avro.Schema);
    const encode = avroEncoder(7, schema);
    const large = event({ source_event: 'x'.repeat(20_000) });
    expect(encode(large)).toEqual(confluentWire(7, type, large));
    expect(encode(event())).toEqual(confluentWire(7, type, event()));
  });

  it("rejects a value the schema cannot encode with avsc's message", async () => {
    const schema = await readSchema('RefreshEvent');
    const type = avro.Type.forSchema(JSON.parse(schema) as avro.Schema);
    const invalid = { ...event(), outcome: 'MAYBE' };
    const expected = (() => {
      try {
        type.toBuffer(invalid);
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    })();
    expect(expected).toBeDefined();
    const encode = avroEncoder(7, schema);
    expect(() => encode(invalid)).toThrow(AvroEncodeError);
    expect(() => encode(invalid)).toThrow(expected);
  });
});
