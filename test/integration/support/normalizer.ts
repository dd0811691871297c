import type { Kafka, Message } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { loadConfig } from '../../../src/config/config.js';
import type { Config } from '../../../src/config/config.js';
import { brokers, isolatedNames, registryUrl } from './kafka.js';
import { HEADER } from '../../../src/contract/headers.js';

/** Unique topics, group and transactional ids for one normalizer under test. */
export function normalizerConfig(extra: Record<string, string> = {}): Config {
  return loadConfig({
    KAFKA_BROKERS: brokers().join(','),
    SCHEMA_REGISTRY_URL: registryUrl(),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...isolatedNames(3),
    ...extra,
  });
}

/** A raw record as the ingest writes it. */
export function rawRecord(
  source: string,
  body: string | Buffer,
  key: string,
  ingestId: string,
): Message {
  return {
    key,
    value: Buffer.isBuffer(body) ? body : Buffer.from(body),
    headers: {
      [HEADER.source]: source,
      [HEADER.ingestId]: ingestId,
      [HEADER.receivedAt]: new Date(Date.parse('2026-11-23T10:00:00Z')).toISOString(),
      'content-type': 'application/json',
      [HEADER.remoteAddr]: '127.0.0.1',
      [HEADER.auth]: 'none',
    },
  };
}

export async function produceRaw(kafka: Kafka, topic: string, messages: Message[]): Promise<void> {
  const producer = kafka.producer({
    idempotent: true,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 1000) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 1000) });
    }
  } finally {
    await producer.disconnect();
  }
}

/** A synthetic Bud V1 webhook for customer `n`, task `t`. */
export function budV1(n: number, t: number, result = 'success'): string {
  return JSON.stringify({
    data: {
      task_id: `task-${n}-${t}`,
      task_type: 'refresh',
      customer_id: `customer-${n}`,
      status: result === 'success' ? 'Completed' : 'Failed',
      result,
      has_new_transactions: t % 2 === 0 ? 'true' : 'false',
      reconnect_required: 'false',
      provider: `Bank_${t % 3}`,
    },
  });
}
