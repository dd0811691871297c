import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/config/config.js';
import { ensureTopics, topicDefinitions } from '../../src/kafka/topics.js';
import type { ProcessorInput, ReconnectAlert } from '../../src/processors/types.js';
import { budV1 } from '../support/events.js';
import { testBroker, testRegistry } from './support/kafka.js';
import { processorConfig, publishInputs } from './support/processors.js';

const broker = testBroker();
const { resources } = broker;

describe('processors crash and scale-out', () => {
  it(
    'kill -9 mid-stream, restart, and a second instance joining: every output exactly once, no state lost',
    { timeout: 240_000 },
    async () => {
      const config = processorConfig({ TOPIC_PARTITIONS: '4', ROUND_SETTLE_MS: '3000' });
      const env = {
        PATH: process.env.PATH ?? '',
        LOG_LEVEL: process.env.CRASH_LOG_LEVEL ?? 'warn',
        PROCESS_OPS_PORT: '0', // several instances on one host
        KAFKA_BROKERS: (config.KAFKA_BROKERS ?? []).join(','),
        KAFKA_ENGINE: config.KAFKA_ENGINE,
        SCHEMA_REGISTRY_URL: config.SCHEMA_REGISTRY_URL ?? '',
        TOPIC_REFRESH_REQUESTS: config.TOPIC_REFRESH_REQUESTS,
        TOPIC_REFRESH_EVENTS: config.TOPIC_REFRESH_EVENTS,
        TOPIC_WEBHOOKS_RAW: config.TOPIC_WEBHOOKS_RAW,
        TOPIC_REFRESH_DLQ: config.TOPIC_REFRESH_DLQ,
        TOPIC_CUSTOMER_COMPLETED: config.TOPIC_CUSTOMER_COMPLETED,
        TOPIC_CUSTOMER_NEW_TRANSACTIONS: config.TOPIC_CUSTOMER_NEW_TRANSACTIONS,
        TOPIC_CUSTOMER_ALERTS: config.TOPIC_CUSTOMER_ALERTS,
        TOPIC_PARTITIONS: String(config.TOPIC_PARTITIONS),
        PROCESS_APPLICATION_ID: config.PROCESS_APPLICATION_ID,
        PROCESS_SESSION_TIMEOUT_MS: String(config.PROCESS_SESSION_TIMEOUT_MS),
        PROCESS_TIMER_INTERVAL_MS: String(config.PROCESS_TIMER_INTERVAL_MS),
        ROUND_SETTLE_MS: String(config.ROUND_SETTLE_MS),
        ROUND_RETRY_GRACE_MS: String(config.ROUND_RETRY_GRACE_MS),
        ROUND_QUIET_DEADLINE_MS: String(config.ROUND_QUIET_DEADLINE_MS),
      };
      const start = () => {
        const child = spawn(
          process.execPath,
          [path.join(packageRoot, 'bin/refreshbus.js'), 'process'],
          {
            env,
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        const sink = process.env.CRASH_LOG_DIR
          ? createWriteStream(path.join(process.env.CRASH_LOG_DIR, `process-${child.pid}.log`))
          : undefined;
        if (sink) {
          child.stdout.pipe(sink);
          child.stderr.pipe(sink);
        } else {
          child.stdout.resume();
          child.stderr.resume();
        }
        resources.track(child, (c) => Promise.resolve(c.kill('SIGKILL')));
        return child;
      };
      const { kafka } = broker;
      const admin = await broker.admin();
      await ensureTopics(admin, topicDefinitions(config));

      const customers = 1500;
      const now = Date.now();
      const inputs: ProcessorInput[] = [];
      for (let i = 0; i < customers; i++) {
        const customer = `cust-${i}`;
        inputs.push(
          ...budV1(now, { customer, task: `a-${i}`, provider: 'Bank_A', hasNew: 'true' }),
        );
        inputs.push(
          ...budV1(now, { customer, task: `b-${i}`, provider: 'Bank_B', hasNew: 'false' }),
        );
        if (i % 10 === 0) {
          inputs.push(
            ...budV1(now + 1, {
              customer,
              task: `c-${i}`,
              provider: 'Bank_C',
              status: 'Failed',
              result: 'auth_expired',
              reconnect: true,
            }),
          );
          inputs.push(...budV1(now + 2, { customer, task: `c2-${i}`, provider: 'Bank_C' }));
        }
      }
      await publishInputs(kafka, config, inputs);

      const first = start();
      const firstExit = new Promise((r) => first.once('exit', r));
      for (let i = 0; ; i++) {
        const offsets = await admin.fetchTopicOffsets(config.TOPIC_CUSTOMER_COMPLETED);
        if (offsets.some((p) => p.high !== '0')) break;
        if (i > 1200) throw new Error('no completion within 60 s');
        await new Promise((r) => setTimeout(r, 50));
      }
      first.kill('SIGKILL');
      await firstExit;

      start();
      await new Promise((r) => setTimeout(r, 4000));
      start(); // a second instance joins: partitions and their state are handed over

      const completed = await broker.readAll(config.TOPIC_CUSTOMER_COMPLETED, {
        readCommitted: true,
        count: customers,
        maxWaitMs: 150_000,
      });
      const counts = new Map<string, number>();
      for (const m of completed)
        counts.set(m.key?.toString() ?? '', (counts.get(m.key?.toString() ?? '') ?? 0) + 1);
      expect(completed).toHaveLength(customers);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);

      const signals = await broker.readAll(config.TOPIC_CUSTOMER_NEW_TRANSACTIONS, {
        readCommitted: true,
        count: customers,
      });
      expect(signals).toHaveLength(customers);
      expect(new Set(signals.map((s) => s.key?.toString())).size).toBe(customers);

      const alertRecords = await broker.readAll(config.TOPIC_CUSTOMER_ALERTS, {
        readCommitted: true,
        count: (customers / 10) * 2,
      });
      const registry = testRegistry();
      const alerts = await Promise.all(
        alertRecords.map(
          async (r) => (await registry.decode(r.value ?? Buffer.alloc(0))) as ReconnectAlert,
        ),
      );
      expect(alerts.filter((a) => a.status === 'RAISED')).toHaveLength(customers / 10);
      expect(alerts.filter((a) => a.status === 'CLEARED')).toHaveLength(customers / 10);
      expect(new Set(alerts.map((a) => a.alert_id)).size).toBe(alerts.length);
    },
  );
});
