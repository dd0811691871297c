import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.js';
import { startProcessors } from '../../src/processors/service.js';
import type {
  CustomerRefreshCompleted,
  NewTransactionsAvailable,
  ReconnectAlert,
} from '../../src/processors/types.js';
import { budV1, yodlee } from '../support/events.js';
import { SetupError } from '../../src/lib/errors.js';
import { testBroker, testRegistry } from './support/kafka.js';
import { processorConfig, publishInputs } from './support/processors.js';

const broker = testBroker();
const { resources } = broker;

async function decodeAll<T>(records: { value: Buffer | null }[]): Promise<T[]> {
  const registry = testRegistry();
  return Promise.all(
    records.map(async (r) => (await registry.decode(r.value ?? Buffer.alloc(0))) as T),
  );
}

describe('processors on the real broker', () => {
  it('hosted refresh, requested tasks out of order, retried failure, reconnect episode, timeout, Yodlee: each output exactly once', async () => {
    const config = processorConfig();
    const { kafka } = broker;
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
      // 3. a temporary failure (no reconnect), the success comes later (see below)
      ...budV1(now, {
        customer: 'c3',
        task: 't',
        provider: 'Bank',
        status: 'Failed',
        result: 'provider_failure',
        reconnect: false,
      }),
      // 6. Yodlee: interim, interim, completed; then another process: a credentials failure on another account
      ...yodlee(now, {
        login: 'y6',
        accountId: 61,
        info: 'REFRESH.INTERIM_PROGRESS',
        status: 'IN_PROGRESS',
        additionalStatus: 'DATA_RETRIEVAL_IN_PROGRESS',
      }),
      ...yodlee(now, {
        login: 'y6',
        accountId: 61,
        info: 'REFRESH.INTERIM_PROGRESS',
        status: 'IN_PROGRESS',
        additionalStatus: 'ACCT_SUMMARY_RECEIVED',
      }),
      ...yodlee(now, {
        login: 'y6',
        accountId: 61,
        info: 'REFRESH.PROCESS_COMPLETED',
        status: 'SUCCESS',
        additionalStatus: 'AVAILABLE_DATA_RETRIEVED',
        lastUpdated: new Date(now).toISOString(),
        lastUpdateAttempt: new Date(now).toISOString(),
      }),
      ...yodlee(now, {
        login: 'y6',
        accountId: 62,
        info: 'REFRESH.PROCESS_COMPLETED',
        status: 'FAILED',
        additionalStatus: 'INCORRECT_CREDENTIALS',
        eligibility: 'ALLOW_UPDATE_WITH_CREDENTIALS',
        lastUpdateAttempt: new Date(now).toISOString(),
      }),
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

    // 3. the retry succeeds within the grace (shortened to 4 s here, 45 min by default)
    await new Promise((r) => setTimeout(r, 2000));
    await publishInputs(
      kafka,
      config,
      budV1(Date.now(), { customer: 'c3', task: 't', provider: 'Bank', hasNew: true }),
    );

    const completed = await decodeAll<CustomerRefreshCompleted>(
      await broker.readAll(config.TOPIC_CUSTOMER_COMPLETED, {
        readCommitted: true,
        count: 7,
        maxWaitMs: 60_000,
      }),
    );
    const byCustomer = Object.fromEntries(completed.map((c) => [c.customer_id, c]));
    expect(completed).toHaveLength(7);
    expect(byCustomer.c1?.connections.map((c) => c.provider)).toEqual(['Bank_A', 'Bank_B']);
    expect(byCustomer.c2).toMatchObject({ close_reason: 'REQUESTED_TASKS_DONE' });
    expect(byCustomer.c2?.connections.map((c) => c.task_id)).toEqual(['t1', 't2', 't3']);
    expect(byCustomer.c3?.connections).toMatchObject([
      { outcome: 'SUCCESS', result_code: 'success' },
    ]);
    expect(byCustomer.c5).toMatchObject({ close_reason: 'TIMED_OUT', missing: ['Bank_B'] });
    // two PROCESS_COMPLETED notifications: two FastLink processes, each its own round
    expect(
      completed
        .filter((c) => c.customer_id === 'y6')
        .map((c) => c.connections.map((x) => [x.connection_id, x.outcome, x.action_required])),
    ).toEqual([[['61', 'SUCCESS', 'NONE']], [['62', 'FAILED', 'UPDATE_CREDENTIALS']]]);

    // a Bud success that does not say whether it brought transactions counts as new data
    const signals = await decodeAll<NewTransactionsAvailable>(
      await broker.readAll(config.TOPIC_CUSTOMER_NEW_TRANSACTIONS, {
        readCommitted: true,
        count: 6,
      }),
    );
    expect(signals.map((s) => [s.customer_id, s.providers]).sort()).toEqual([
      ['c1', ['Bank_A']],
      ['c2', ['P1', 'P2', 'P3']],
      ['c3', ['Bank']],
      ['c4', ['Bank']],
      ['c5', ['Bank_A']],
      ['y6', ['16441']],
    ]);

    const alerts = await decodeAll<ReconnectAlert>(
      await broker.readAll(config.TOPIC_CUSTOMER_ALERTS, { readCommitted: true, count: 3 }),
    );
    // no alert for c3's temporary failure; one episode for c4; the credentials failure of y6
    expect(alerts.map((a) => [a.customer_id, a.status, a.action_required]).sort()).toEqual([
      ['c4', 'CLEARED', 'NONE'],
      ['c4', 'RAISED', 'RECONNECT'],
      ['y6', 'RAISED', 'UPDATE_CREDENTIALS'],
    ]);
    expect(running.host.stateSize()).toMatchObject({ rounds: 6, alerts: 6 });
  });

  it('refuses to start, naming the topics, when a changelog has fewer partitions than the inputs', async () => {
    const config = processorConfig(); // 3 partitions
    // changelogs left by a run with TOPIC_PARTITIONS=2
    await broker.createTopics([`${config.PROCESS_APPLICATION_ID}.rounds.changelog`], 2);
    const start = startProcessors(
      config,
      { brokers: config.KAFKA_BROKERS ?? [], registryUrl: config.SCHEMA_REGISTRY_URL ?? '' },
      createLogger('silent'),
    );
    await expect(start).rejects.toThrow(SetupError);
    await expect(start).rejects.toThrow(
      `${config.TOPIC_REFRESH_EVENTS} 3, ${config.TOPIC_REFRESH_REQUESTS} 3, ${config.PROCESS_APPLICATION_ID}.rounds.changelog 2, ${config.PROCESS_APPLICATION_ID}.alerts.changelog 3`,
    );
  });
});
