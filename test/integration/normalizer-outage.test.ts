import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { startNormalizer } from '../../src/normalize/normalizer.js';
import type { RunningNormalizer } from '../../src/normalize/normalizer.js';
import { createLogger } from '../../src/lib/logger.js';
import { registryUrl, testBroker } from './support/kafka.js';
import { budV1, normalizerConfig, produceRaw, rawRecord } from './support/normalizer.js';

const broker = testBroker();
const { resources } = broker;

/** A TCP port that refuses connections until `open()`, then forwards to `target`. */
async function switchableProxy(target: URL) {
  let open = false;
  const server = net.createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(target.port), target.hostname);
    client.pipe(upstream).pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    open: () => (open = true),
    close: () => new Promise((r) => server.close(r)),
  };
}

describe('normalizer during a schema registry outage', () => {
  it('waits and retries instead of dead-lettering good data, then maps everything once the registry is back', async () => {
    const proxy = await switchableProxy(new URL(registryUrl()));
    resources.track(proxy, (p) => p.close());
    const config = normalizerConfig({ SCHEMA_REGISTRY_URL: proxy.url });
    await broker.createTopics(
      [config.TOPIC_WEBHOOKS_RAW, config.TOPIC_REFRESH_EVENTS, config.TOPIC_REFRESH_DLQ],
      3,
    );
    const inputs = Array.from({ length: 30 }, (_, i) =>
      rawRecord('bud', budV1(i, 0), `customer-${i}`, `ingest-${i}`),
    );
    await produceRaw(broker.kafka, config.TOPIC_WEBHOOKS_RAW, inputs);

    const starting = startNormalizer(
      config,
      { brokers: config.KAFKA_BROKERS ?? [], registryUrl: proxy.url },
      createLogger('silent'),
    );
    resources.track({ starting }, async (s) => (await s.starting).close());
    await new Promise((r) => setTimeout(r, 3000));
    // the registry is down: nothing is produced, and nothing is dead-lettered either
    const offsets = await (await broker.admin()).fetchTopicOffsets(config.TOPIC_REFRESH_DLQ);
    expect(offsets.every((p) => p.high === '0')).toBe(true);
    const none = await (await broker.admin()).fetchTopicOffsets(config.TOPIC_REFRESH_EVENTS);
    expect(none.every((p) => p.high === '0')).toBe(true);

    proxy.open();
    const normalizer: RunningNormalizer = await starting;
    expect(normalizer).toBeDefined();
    const events = await broker.readAll(config.TOPIC_REFRESH_EVENTS, {
      readCommitted: true,
      count: 30,
    });
    expect(events).toHaveLength(30);
    const dlq = await broker.readAll(config.TOPIC_REFRESH_DLQ, {
      readCommitted: true,
      quietMs: 1500,
    });
    expect(dlq).toHaveLength(0);
  });
});
