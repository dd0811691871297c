import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { TestBroker, registryUrl, testResources, uniqueName } from './support/kafka.js';
import { dedicatedBroker } from './support/dedicated-broker.js';
import { ingestConfig, post, runIngest } from './support/ingest.js';
import { until } from './support/pipeline.js';
import { HEADER } from '../../src/contract/headers.js';

const resources = testResources();

describe('ingest during a broker outage', () => {
  it('answers 503 with Retry-After and never 2xx while Kafka is down, then recovers by itself', async () => {
    const broker = resources.track(await dedicatedBroker(), (b) => b.destroy());
    const kafka = new TestBroker(
      resources,
      new Kafka({ clientId: 'outage-test', brokers: broker.brokers, logLevel: logLevel.NOTHING }),
    );
    const raw = uniqueName('raw');
    await kafka.createTopics([raw], 3);
    const ingest = resources.track(
      await runIngest(
        ingestConfig(
          {
            TOPIC_WEBHOOKS_RAW: raw,
            INGEST_PUBLISH_TIMEOUT_MS: '1500',
            INGEST_RETRY_AFTER_SECONDS: '3',
          },
          { brokers: broker.brokers, registryUrl: registryUrl() },
        ),
      ),
      (i) => i.close(),
    );
    const webhook = (n: number) =>
      JSON.stringify({
        event: {
          info: 'REFRESH.PROCESS_COMPLETED',
          loginName: `user-${n}`,
          data: { providerAccount: [] },
        },
      });
    const accepted: string[] = [];
    const statuses: number[] = [];
    const send = async (n: number) => {
      const res = await post(`${ingest.url}/webhooks/yodlee`, webhook(n));
      statuses.push(res.status);
      if (res.status === 200) accepted.push(String(res.json.id));
      return res;
    };

    expect((await send(0)).status).toBe(200);
    expect((await fetch(`${ingest.url}/readyz`)).status).toBe(200);

    await broker.stop();
    await until('/readyz to report not ready', 20_000, async () =>
      (await fetch(`${ingest.url}/readyz`)).status === 503 ? true : undefined,
    );
    for (let n = 1; n <= 5; n++) {
      const res = await send(n);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('3');
      expect(res.json).toMatchObject({ error: { code: 'UNAVAILABLE' } });
    }

    await broker.start();
    let n = 100;
    await until('a webhook to be accepted again', 120_000, async () =>
      (await send(n++)).status === 200 ? true : undefined,
    );
    await until('/readyz to report ready', 30_000, async () =>
      (await fetch(`${ingest.url}/readyz`)).status === 200 ? true : undefined,
    );
    for (let i = 0; i < 10; i++) expect((await send(1000 + i)).status).toBe(200);

    // only 200 or 503, and every 200 is on the topic
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    const stored = await kafka.readAll(raw, {
      readCommitted: true,
      count: accepted.length,
      quietMs: 5000,
    });
    const storedIds = new Set(stored.map((m) => m.headers?.[HEADER.ingestId]?.toString()));
    for (const id of accepted) expect(storedIds).toContain(id);
  });
});
