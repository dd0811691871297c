import { Partitioners } from 'kafkajs';
import type { Kafka, Message } from 'kafkajs';
import { mapRawWebhook } from '../../src/normalize/mappers/index.js';
import { createRegistry, registerValueSchema } from '../../src/registry/registry.js';
import { readSchema } from '../../src/registry/schemas.js';
import { say } from './options.js';

/**
 * Fills an events topic with canonical Avro RefreshEvent records, as the normalizer would write
 * them: for each customer one Bud V1 success per bank (`banks`), the first with new
 * transactions — so every customer opens a round that closes once it settles. Returns the count.
 */
export async function fillEventsTopic(options: {
  kafka: Kafka;
  registryUrl: string;
  topic: string;
  customers: number;
  banks?: readonly string[];
}): Promise<{ events: number; seconds: number }> {
  const banks = options.banks ?? ['Bank_A', 'Bank_B'];
  const registry = createRegistry(options.registryUrl);
  const schemaId = await registerValueSchema(
    registry,
    options.topic,
    await readSchema('RefreshEvent'),
  );
  // setup only: several sends in flight, so not idempotent (kafkajs orders those poorly)
  const producer = options.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const started = Date.now();
  let events = 0;
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < options.customers; i += 1000) {
    const messages: Message[] = [];
    for (let c = i; c < Math.min(options.customers, i + 1000); c++) {
      for (const [b, bank] of banks.entries()) {
        const result = mapRawWebhook({
          source: 'bud',
          value: Buffer.from(
            JSON.stringify({
              data: {
                task_id: `${bank}-${c}`,
                customer_id: `cust-${c}`,
                status: 'Completed',
                result: 'success',
                provider: bank,
                has_new_transactions: b === 0,
              },
            }),
          ),
          receivedAt: Date.now(),
          ingestId: `i-${c}-${b}`,
          topic: 'raw',
          partition: 0,
          offset: c,
        });
        if (!result.ok) throw new Error(result.message);
        for (const e of result.events)
          messages.push({ key: e.customer_id, value: await registry.encode(schemaId, e) });
      }
    }
    events += messages.length;
    inFlight.push(producer.send({ topic: options.topic, acks: -1, messages }));
    if (inFlight.length >= 4) await inFlight.shift();
    if (i % 200_000 === 0 && i > 0) say(`  … ${i} customers filled`);
  }
  await Promise.all(inFlight);
  await producer.disconnect();
  const seconds = (Date.now() - started) / 1000;
  say(
    `filled ${options.topic}: ${events} events for ${options.customers} customers in ${seconds.toFixed(1)} s`,
  );
  return { events, seconds };
}
