import type { Kafka, Message } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { loadConfig } from '../../../src/config/config.js';
import type { Config } from '../../../src/config/config.js';
import { registerValueSchema } from '../../../src/registry/registry.js';
import { readSchema } from '../../../src/registry/schemas.js';
import type { ProcessorInput } from '../../../src/processors/types.js';
import { brokers, isolatedNames, registryUrl, testRegistry } from './kafka.js';

/** Unique topics, group and changelogs for processors under test, with short deadlines. */
export function processorConfig(extra: Record<string, string> = {}): Config {
  return loadConfig({
    KAFKA_BROKERS: brokers().join(','),
    SCHEMA_REGISTRY_URL: registryUrl(),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...isolatedNames(3),
    PROCESS_SESSION_TIMEOUT_MS: '8000',
    PROCESS_TIMER_INTERVAL_MS: '200',
    ROUND_SETTLE_MS: '1500',
    ROUND_RETRY_GRACE_MS: '4000',
    ROUND_QUIET_DEADLINE_MS: '6000',
    ...extra,
  });
}

/** Publishes canonical events and requests as the normalizer and ingest would: Avro, keyed by customer. */
export async function publishInputs(
  kafka: Kafka,
  config: Config,
  inputs: ProcessorInput[],
): Promise<void> {
  const registry = testRegistry();
  const eventsId = await registerValueSchema(
    registry,
    config.TOPIC_REFRESH_EVENTS,
    await readSchema('RefreshEvent'),
  );
  const requestsId = await registerValueSchema(
    registry,
    config.TOPIC_REFRESH_REQUESTS,
    await readSchema('RefreshRequested'),
  );
  const producer = kafka.producer({
    idempotent: true,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    for (const input of inputs) {
      if (input.kind === 'tick') continue;
      const [topic, key, value]: [string, string, Buffer] =
        input.kind === 'event'
          ? [
              config.TOPIC_REFRESH_EVENTS,
              input.event.customer_id,
              await registry.encode(eventsId, input.event),
            ]
          : [
              config.TOPIC_REFRESH_REQUESTS,
              input.request.customer_id,
              await registry.encode(requestsId, input.request),
            ];
      const message: Message = { key, value };
      await producer.send({ topic, acks: -1, messages: [message] });
    }
  } finally {
    await producer.disconnect();
  }
}
