import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/config/config.js';
import { mapRawWebhook } from '../../src/normalize/mappers/index.js';
import { headerText } from '../../src/normalize/dlq.js';
import { testBroker } from './support/kafka.js';
import { budV1, normalizerConfig, produceRaw, rawRecord } from './support/normalizer.js';
import { HEADER } from '../../src/contract/headers.js';

const broker = testBroker();
const { resources } = broker;

/** The normalizer as a real process, so it can be killed with SIGKILL. */
function startProcess(env: Record<string, string>) {
  const child = spawn(
    process.execPath,
    [path.join(packageRoot, 'bin/refreshbus.js'), 'normalize'],
    {
      env: { PATH: process.env.PATH, ...env, LOG_LEVEL: process.env.CRASH_LOG_LEVEL ?? 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  if (process.env.CRASH_LOG_DIR) {
    const log = createWriteStream(
      path.join(process.env.CRASH_LOG_DIR, `normalizer-${child.pid}.log`),
    );
    child.stdout.pipe(log);
    child.stderr.pipe(log);
  } else {
    child.stdout.resume();
    child.stderr.resume();
  }
  resources.track(child, (c) => Promise.resolve(c.kill('SIGKILL')));
  return child;
}

describe('normalizer crash', () => {
  it(
    'killed with SIGKILL mid-stream and restarted, yields every expected event exactly once for read_committed readers',
    { timeout: 240_000 },
    async () => {
      const config = normalizerConfig({ NORMALIZE_SESSION_TIMEOUT_MS: '8000' });
      const env = {
        KAFKA_BROKERS: (config.KAFKA_BROKERS ?? []).join(','),
        KAFKA_ENGINE: config.KAFKA_ENGINE,
        SCHEMA_REGISTRY_URL: config.SCHEMA_REGISTRY_URL ?? '',
        TOPIC_WEBHOOKS_RAW: config.TOPIC_WEBHOOKS_RAW,
        TOPIC_REFRESH_REQUESTS: config.TOPIC_REFRESH_REQUESTS,
        TOPIC_REFRESH_EVENTS: config.TOPIC_REFRESH_EVENTS,
        TOPIC_REFRESH_DLQ: config.TOPIC_REFRESH_DLQ,
        // a start creates all of refreshbus's topics: these too are the test's own, not the defaults
        TOPIC_CUSTOMER_COMPLETED: config.TOPIC_CUSTOMER_COMPLETED,
        TOPIC_CUSTOMER_NEW_TRANSACTIONS: config.TOPIC_CUSTOMER_NEW_TRANSACTIONS,
        TOPIC_CUSTOMER_ALERTS: config.TOPIC_CUSTOMER_ALERTS,
        PROCESS_APPLICATION_ID: config.PROCESS_APPLICATION_ID,
        TOPIC_PARTITIONS: String(config.TOPIC_PARTITIONS),
        NORMALIZE_GROUP_ID: config.NORMALIZE_GROUP_ID,
        NORMALIZE_TRANSACTIONAL_ID_PREFIX: config.NORMALIZE_TRANSACTIONAL_ID_PREFIX,
        NORMALIZE_SESSION_TIMEOUT_MS: String(config.NORMALIZE_SESSION_TIMEOUT_MS),
        NORMALIZE_OPS_PORT: '0', // a restarted instance may start before the killed one's port is free
      };
      const { kafka } = broker;
      const admin = await broker.createTopics(
        [config.TOPIC_WEBHOOKS_RAW, config.TOPIC_REFRESH_EVENTS, config.TOPIC_REFRESH_DLQ],
        3,
      );

      // 20,000 webhooks for 2,000 customers, 1 in 100 delivered twice, a few poison
      const inputs = [];
      for (let n = 0; n < 2000; n++) {
        for (let t = 0; t < 10; t++) {
          const body = budV1(n, t, t === 7 ? 'provider_failure' : 'success');
          inputs.push(rawRecord('bud', body, `customer-${n}`, `ingest-${n}-${t}`));
          if ((n * 10 + t) % 100 === 0)
            inputs.push(rawRecord('bud', body, `customer-${n}`, `ingest-${n}-${t}-again`));
        }
      }
      for (let i = 0; i < 5; i++)
        inputs.push(rawRecord('bud', '{"broken": ', `poison-${i}`, `poison-${i}`));
      await produceRaw(kafka, config.TOPIC_WEBHOOKS_RAW, inputs);

      const expected = new Map<string, number>();
      let expectedPoison = 0;
      for (const m of inputs) {
        const r = mapRawWebhook({
          source: 'bud',
          value: m.value as Buffer,
          receivedAt: 0,
          ingestId: '',
          topic: '',
          partition: 0,
          offset: 0,
        });
        if (!r.ok) expectedPoison += 1;
        else
          for (const e of r.events) expected.set(e.event_id, (expected.get(e.event_id) ?? 0) + 1);
      }
      const expectedTotal = [...expected.values()].reduce((a, b) => a + b, 0);

      // first run: killed as soon as its first output reaches the log
      const first = startProcess(env);
      const exited = new Promise((r) => first.once('exit', r));
      for (let i = 0; ; i++) {
        const offsets = await admin.fetchTopicOffsets(config.TOPIC_REFRESH_EVENTS);
        if (offsets.some((p) => p.high !== '0')) break;
        if (i > 1200) throw new Error('the normalizer produced nothing within 60 s');
        await new Promise((r) => setTimeout(r, 50));
      }
      first.kill('SIGKILL');
      await exited;
      const afterCrash = await broker.readAll(config.TOPIC_REFRESH_EVENTS, {
        readCommitted: true,
        quietMs: 2000,
      });
      expect(afterCrash.length).toBeLessThan(expectedTotal); // the crash really was mid-stream

      // restart: it resumes from the committed offsets; the dead run's open transaction is aborted
      startProcess(env);
      const events = await broker.readAll(config.TOPIC_REFRESH_EVENTS, {
        readCommitted: true,
        count: expectedTotal,
        maxWaitMs: 120_000,
      });
      const seen = new Map<string, number>();
      for (const m of events) {
        const id = headerText(m.headers, HEADER.eventId) ?? '';
        seen.set(id, (seen.get(id) ?? 0) + 1);
      }
      expect(events.length).toBe(expectedTotal);
      expect(seen).toEqual(expected);
      const dlq = await broker.readAll(config.TOPIC_REFRESH_DLQ, {
        readCommitted: true,
        count: expectedPoison,
      });
      expect(dlq.length).toBe(expectedPoison);
    },
  );
});
