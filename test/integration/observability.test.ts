import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.js';
import { startNormalizer } from '../../src/normalize/normalizer.js';
import { startProcessors } from '../../src/processors/service.js';
import { budV1 as budV1Inputs } from '../support/events.js';
import { testBroker } from './support/kafka.js';
import { budV1, normalizerConfig, produceRaw, rawRecord } from './support/normalizer.js';
import { processorConfig, publishInputs } from './support/processors.js';

const broker = testBroker();
const { resources } = broker;

/** One sample of a Prometheus text exposition, by metric name and exact labels. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const found = new Map<string, string>();
    for (const m of (match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g))
      found.set(m[1] ?? '', m[2] ?? '');
    if (Object.entries(labels).every(([k, v]) => found.get(k) === v)) return Number(match[3]);
  }
  return undefined;
}

const poll = async <T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    value = await read();
  }
  return value;
};

describe('ops endpoints of the normalizer and the processors', () => {
  it('normalizer: /readyz turns ready after joining; /metrics counts consumed, produced, dead-lettered, commits, lag, assignment', async () => {
    const config = normalizerConfig({ NORMALIZE_OPS_PORT: '0' });
    const { kafka } = broker;
    const normalizer = resources.track(
      await startNormalizer(
        config,
        { brokers: config.KAFKA_BROKERS ?? [], registryUrl: config.SCHEMA_REGISTRY_URL ?? '' },
        createLogger('silent'),
        { ops: true },
      ),
      (n) => n.close(),
    );
    const url = normalizer.ops?.url ?? '';
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ready = await poll(
      () => fetch(`${url}/readyz`).then((r) => r.status),
      (s) => s === 200,
    );
    expect(ready).toBe(200);

    await produceRaw(kafka, config.TOPIC_WEBHOOKS_RAW, [
      ...Array.from({ length: 20 }, (_, i) =>
        rawRecord('bud', budV1(i, 1), `customer-${i}`, `i${i}`),
      ),
      rawRecord('bud', '{"not":"a webhook"}', 'poison', 'poison-1'),
      rawRecord('bud', '{broken json', 'poison', 'poison-2'),
    ]);
    await broker.readAll(config.TOPIC_REFRESH_EVENTS, { readCommitted: true, count: 20 });
    const metrics = await poll(
      () => fetch(`${url}/metrics`).then((r) => r.text()),
      (text) =>
        sample(text, 'refreshbus_records_consumed_total', { topic: config.TOPIC_WEBHOOKS_RAW }) ===
        22,
    );
    const raw = { service: 'normalize', topic: config.TOPIC_WEBHOOKS_RAW };
    expect(sample(metrics, 'refreshbus_records_consumed_total', raw)).toBe(22);
    expect(
      sample(metrics, 'refreshbus_records_produced_total', {
        service: 'normalize',
        topic: config.TOPIC_REFRESH_EVENTS,
      }),
    ).toBe(20);
    expect(
      sample(metrics, 'refreshbus_records_produced_total', {
        service: 'normalize',
        topic: config.TOPIC_REFRESH_DLQ,
      }),
    ).toBe(2);
    const dlqTotal =
      (sample(metrics, 'refreshbus_dlq_records_total', { code: 'UNKNOWN_SHAPE' }) ?? 0) +
      (sample(metrics, 'refreshbus_dlq_records_total', { code: 'INVALID_JSON' }) ?? 0);
    expect(dlqTotal).toBe(2);
    expect(
      sample(metrics, 'refreshbus_transaction_commit_duration_seconds_count', {
        service: 'normalize',
      }),
    ).toBeGreaterThan(0);
    expect(sample(metrics, 'refreshbus_assigned_partitions', { service: 'normalize' })).toBe(3);
    expect(sample(metrics, 'refreshbus_rebalances_total', { service: 'normalize' })).toBe(1);
    expect(sample(metrics, 'refreshbus_ready', { service: 'normalize' })).toBe(1);
    // caught up: at most the last transaction marker per partition
    for (const partition of ['0', '1', '2']) {
      const lag = sample(metrics, 'refreshbus_consumer_lag_records', { ...raw, partition });
      expect(lag).toBeDefined();
      expect(lag).toBeLessThanOrEqual(1);
    }
    expect(sample(metrics, 'refreshbus_process_resident_memory_bytes')).toBeGreaterThan(0);

    await normalizer.close();
    const after = await fetch(`${url}/readyz`).catch(() => undefined);
    expect(after?.status ?? 'closed').toBe('closed');
  });

  it('processors: /metrics reports outputs, state size and restored records; /readyz once restored', async () => {
    const config = processorConfig({ PROCESS_OPS_PORT: '0' });
    const { kafka } = broker;
    const endpoints = {
      brokers: config.KAFKA_BROKERS ?? [],
      registryUrl: config.SCHEMA_REGISTRY_URL ?? '',
    };
    const first = resources.track(
      await startProcessors(config, endpoints, createLogger('silent'), { ops: true }),
      (r) => r.close(),
    );
    const url = first.ops?.url ?? '';
    const now = Date.now();
    await publishInputs(kafka, config, [
      ...budV1Inputs(now, { customer: 'm1', task: 'a', provider: 'Bank_A', hasNew: 'true' }),
      ...budV1Inputs(now, { customer: 'm2', task: 'b', provider: 'Bank_B' }),
    ]);
    await broker.readAll(config.TOPIC_CUSTOMER_COMPLETED, { readCommitted: true, count: 2 });
    const metrics = await poll(
      () => fetch(`${url}/metrics`).then((r) => r.text()),
      (text) =>
        (sample(text, 'refreshbus_records_produced_total', {
          service: 'process',
          topic: config.TOPIC_CUSTOMER_COMPLETED,
        }) ?? 0) >= 2,
    );
    expect(
      sample(metrics, 'refreshbus_records_produced_total', {
        service: 'process',
        topic: config.TOPIC_CUSTOMER_COMPLETED,
      }),
    ).toBe(2);
    expect(
      sample(metrics, 'refreshbus_records_consumed_total', {
        service: 'process',
        topic: config.TOPIC_REFRESH_EVENTS,
      }),
    ).toBe(2);
    expect(sample(metrics, 'refreshbus_state_store_entries', { store: 'rounds' })).toBe(2);
    expect(sample(metrics, 'refreshbus_state_store_entries', { store: 'alerts' })).toBe(2);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    await first.close();

    // a second instance restores the two customers' state from the changelogs
    const second = resources.track(
      await startProcessors(config, endpoints, createLogger('silent'), { ops: true }),
      (r) => r.close(),
    );
    const url2 = second.ops?.url ?? '';
    const early = await fetch(`${url2}/readyz`);
    if (early.status === 503) {
      const body = (await early.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('UNAVAILABLE');
      expect(body.error.message).toMatch(/consumer group|restoring/);
    }
    const restored = await poll(
      () => fetch(`${url2}/metrics`).then((r) => r.text()),
      (text) => sample(text, 'refreshbus_ready', { service: 'process' }) === 1,
    );
    expect(sample(restored, 'refreshbus_ready', { service: 'process' })).toBe(1);
    expect(
      sample(restored, 'refreshbus_state_restore_records_total', { store: 'rounds' }),
    ).toBeGreaterThanOrEqual(2);
    expect(sample(restored, 'refreshbus_state_store_entries', { store: 'rounds' })).toBe(2);
  });
});
