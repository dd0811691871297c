import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.js';
import { startProcessors } from '../../src/processors/service.js';
import type {
  CustomerRefreshCompleted,
  NewTransactionsAvailable,
  ReconnectAlert,
} from '../../src/processors/types.js';
import { budV1 } from '../support/events.js';
import { Resources, readAll, testKafka, testRegistry } from './support/kafka.js';
import { processorConfig, publishInputs } from './support/processors.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

async function decodeAll<T>(records: { value: Buffer | null }[]): Promise<T[]> {
  const registry = testRegistry();
  return Promise.all(
    records.map(async (r) => (await registry.decode(r.value ?? Buffer.alloc(0))) as T),
  );
}

describe('processors on the real broker', () => {
  it('two banks, three requested tasks out of order and twice, a reconnect episode: each output exactly once', async () => {
    const config = processorConfig();
    const kafka = testKafka();
    const running = resources.track(
      await startProcessors(
        config,
        { brokers: config.KAFKA_BROKERS ?? [], registryUrl: config.SCHEMA_REGISTRY_URL ?? '' },
        createLogger('silent'),
      ),
      (r) => r.close(),
    );
    const now = Date.now();
    await publishInputs(kafka, config, [
      // 1. hosted refresh, two banks
      ...budV1(now, { customer: 'c1', task: 'a', provider: 'Bank_A', hasNew: 'true' }),
      ...budV1(now, { customer: 'c1', task: 'b', provider: 'Bank_B', hasNew: 'false' }),
      // 2. three requested refreshes, out of order, one twice
      {
        kind: 'request',
        request: {
          request_id: 'r1',
          customer_id: 'c2',
          providers: [],
          task_ids: ['t1', 't2', 't3'],
          requested_at: now,
        },
      },
      ...budV1(now, { customer: 'c2', task: 't3', provider: 'P3' }),
      ...budV1(now, { customer: 'c2', task: 't1', provider: 'P1' }),
      ...budV1(now, { customer: 'c2', task: 't1', provider: 'P1' }),
      ...budV1(now, { customer: 'c2', task: 't2', provider: 'P2', hasNew: true }),
      // 4. reconnect_required twice, then success
      ...budV1(now, {
        customer: 'c4',
        task: 'f1',
        provider: 'Bank',
        status: 'Failed',
        result: 'auth_expired',
        reconnect: true,
      }),
      ...budV1(now + 1, {
        customer: 'c4',
        task: 'f2',
        provider: 'Bank',
        status: 'Failed',
        result: 'auth_expired',
        reconnect: true,
      }),
      ...budV1(now + 2, { customer: 'c4', task: 's', provider: 'Bank' }),
      // 5. a provider never reports: the quiet deadline (a timer) closes the round
      {
        kind: 'request',
        request: {
          request_id: 'r5',
          customer_id: 'c5',
          providers: ['Bank_A', 'Bank_B'],
          task_ids: [],
          requested_at: now,
        },
      },
      ...budV1(now, { customer: 'c5', task: 'x', provider: 'Bank_A' }),
    ]);

    const completed = await decodeAll<CustomerRefreshCompleted>(
      await readAll(kafka, config.TOPIC_CUSTOMER_COMPLETED, {
        readCommitted: true,
        count: 4,
        maxWaitMs: 60_000,
      }),
    );
    const byCustomer = Object.fromEntries(completed.map((c) => [c.customer_id, c]));
    expect(completed).toHaveLength(4);
    expect(byCustomer.c5).toMatchObject({ close_reason: 'TIMED_OUT', missing: ['Bank_B'] });
    expect(byCustomer.c1?.connections.map((c) => c.provider)).toEqual(['Bank_A', 'Bank_B']);
    expect(byCustomer.c2).toMatchObject({ close_reason: 'REQUESTED_TASKS_DONE' });
    expect(byCustomer.c2?.connections.map((c) => c.task_id)).toEqual(['t1', 't2', 't3']);

    const signals = await decodeAll<NewTransactionsAvailable>(
      await readAll(kafka, config.TOPIC_CUSTOMER_NEW_TRANSACTIONS, {
        readCommitted: true,
        count: 2,
      }),
    );
    expect(signals.map((s) => [s.customer_id, s.providers]).sort()).toEqual([
      ['c1', ['Bank_A']],
      ['c2', ['P2']],
    ]);

    const alerts = await decodeAll<ReconnectAlert>(
      await readAll(kafka, config.TOPIC_CUSTOMER_ALERTS, { readCommitted: true, count: 2 }),
    );
    expect(alerts.map((a) => [a.customer_id, a.status])).toEqual([
      ['c4', 'RAISED'],
      ['c4', 'CLEARED'],
    ]);
    expect(running.host.stateSize()).toMatchObject({ rounds: 4, alerts: 4 });
  });
});
