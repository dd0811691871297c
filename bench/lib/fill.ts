import { Partitioners } from 'kafkajs';
import type { Kafka, Message } from 'kafkajs';
import { mapRawWebhook } from '../../src/normalize/mappers/index.js';
import { mixedWebhook } from './bodies.js';
import { say } from './options.js';

/**
 * Fills a raw topic with `records` webhooks of the realistic mix, with the headers the ingest
 * writes; returns how many canonical events the normalizer should make of them.
 */
export async function fillRawTopic(
  kafka: Kafka,
  topic: string,
  records: number,
): Promise<{ expectedEvents: number; bytes: number; seconds: number }> {
  // setup only: several sends in flight, so not idempotent (kafkajs orders those poorly)
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const started = Date.now();
  const received = new Date().toISOString();
  let expectedEvents = 0;
  let bytes = 0;
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < records; i += 2000) {
    const messages: Message[] = [];
    for (let j = i; j < Math.min(records, i + 2000); j++) {
      const w = mixedWebhook(j);
      bytes += w.body.length;
      const mapped = mapRawWebhook({
        source: w.source,
        value: w.body,
        receivedAt: 0,
        ingestId: '',
        topic: '',
        partition: 0,
        offset: 0,
      });
      expectedEvents += mapped.ok ? mapped.events.length : 0;
      messages.push({
        key: w.customer,
        value: w.body,
        headers: {
          'ob-source': w.source,
          'ob-ingest-id': `ingest-${j}`,
          'ob-received-at': received,
          'content-type': 'application/json',
        },
      });
    }
    inFlight.push(producer.send({ topic, acks: -1, messages }));
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
  await producer.disconnect();
  const seconds = (Date.now() - started) / 1000;
  say(
    `filled ${topic}: ${records} raw records (${(bytes / 1e6).toFixed(1)} MB) in ${seconds.toFixed(1)} s`,
  );
  return { expectedEvents, bytes, seconds };
}
