import { randomUUID } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import type { Logger } from '../lib/logger.js';
import { createKafka } from '../kafka/client.js';
import { ensureTopics } from '../kafka/topics.js';
import { createRegistry, registerValueSchema } from '../registry/registry.js';
import type { Endpoints } from '../stack/local-stack.js';

const PING_SCHEMA = {
  type: 'record',
  name: 'Ping',
  namespace: 'io.refreshbus.demo',
  doc: 'A record sent through Kafka and the schema registry to prove both work.',
  fields: [
    { name: 'id', type: 'string', doc: 'Unique id of this ping.' },
    {
      name: 'sent_at',
      type: { type: 'long', logicalType: 'timestamp-millis' },
      doc: 'When it was sent.',
    },
  ],
};

export interface RoundTripResult {
  readonly topic: string;
  readonly schemaId: number;
  readonly sent: { id: string; sent_at: number };
  readonly received: unknown;
  readonly millis: number;
}

/** Registers a schema, produces one Avro record in the Confluent wire format and reads it back. */
export async function runRoundTrip(endpoints: Endpoints, logger: Logger): Promise<RoundTripResult> {
  const started = Date.now();
  const topic = 'refreshbus.demo.roundtrip';
  const kafka = createKafka({ brokers: endpoints.brokers, clientId: 'refreshbus-demo' }, logger);
  const registry = createRegistry(endpoints.registryUrl);
  const admin = kafka.admin();
  const producer = kafka.producer({
    idempotent: true,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const consumer = kafka.consumer({ groupId: `refreshbus-demo-${randomUUID()}` });
  try {
    await admin.connect();
    await ensureTopics(admin, [{ topic, numPartitions: 1, replicationFactor: 1 }]);
    const schemaId = await registerValueSchema(registry, topic, PING_SCHEMA);
    const sent = { id: randomUUID(), sent_at: Date.now() };
    await producer.connect();
    const [meta] = await producer.send({
      topic,
      acks: -1,
      messages: [{ key: sent.id, value: await registry.encode(schemaId, sent) }],
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<unknown>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            if (
              partition === meta?.partition &&
              message.offset === meta.baseOffset &&
              message.value
            ) {
              resolve(await registry.decode(message.value));
            }
          },
        })
        .catch(reject);
    });
    return { topic, schemaId, sent, received, millis: Date.now() - started };
  } finally {
    await Promise.allSettled([consumer.disconnect(), producer.disconnect(), admin.disconnect()]);
  }
}
