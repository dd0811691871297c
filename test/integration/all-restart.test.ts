import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/config/config.js';
import { brokers, registryUrl, testBroker, uniqueName } from './support/kafka.js';
import { freePort } from './support/fleet.js';

// Issue 16, item 5: after kill -9 of `refreshbus all`, the restarted process's port answers at
// once. The consumer groups wait out the dead member's session (30 s by default) before they
// hand out partitions; the ingest needs no group and must not wait for them.

const broker = testBroker();

function startAll(env: Record<string, string>): ChildProcess & { logs: () => string } {
  const child = spawn(process.execPath, [path.join(packageRoot, 'bin/refreshbus.js'), 'all'], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stdout.on('data', (d: Buffer) => (logs += d.toString()));
  child.stderr.on('data', (d: Buffer) => (logs += d.toString()));
  broker.resources.track(child, (c) => Promise.resolve(c.kill('SIGKILL')));
  return Object.assign(child, { logs: () => logs });
}

/** Milliseconds until `POST /webhooks/bud` is answered 200, polling every 100 ms. */
async function untilAccepting(base: string, limitMs: number, logs: () => string): Promise<number> {
  const started = Date.now();
  for (;;) {
    const status = await fetch(`${base}/webhooks/bud`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        data: { customer_id: 'restart-1', task_id: 't', status: 'Completed' },
      }),
      signal: AbortSignal.timeout(2000),
    }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return Date.now() - started;
    if (Date.now() - started > limitMs)
      throw new Error(`no 200 within ${String(limitMs)} ms (last ${String(status)}):\n${logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('refreshbus all after kill -9', () => {
  it('accepts webhooks again within 5 s of its restart, while its consumer groups rebalance', async () => {
    const port = await freePort();
    const id = uniqueName('restart');
    const env = {
      KAFKA_BROKERS: brokers().join(','),
      SCHEMA_REGISTRY_URL: registryUrl(),
      INGEST_PORT: String(port),
      LOG_LEVEL: 'info',
      TOPIC_WEBHOOKS_RAW: `${id}.raw`,
      TOPIC_REFRESH_REQUESTS: `${id}.requests`,
      TOPIC_REFRESH_EVENTS: `${id}.events`,
      TOPIC_REFRESH_DLQ: `${id}.dlq`,
      TOPIC_CUSTOMER_COMPLETED: `${id}.completed`,
      TOPIC_CUSTOMER_NEW_TRANSACTIONS: `${id}.newtx`,
      TOPIC_CUSTOMER_ALERTS: `${id}.alerts`,
      TOPIC_PARTITIONS: '3',
      NORMALIZE_GROUP_ID: `${id}.normalizer`,
      NORMALIZE_TRANSACTIONAL_ID_PREFIX: `${id}.normalizer`,
      PROCESS_APPLICATION_ID: `${id}.processors`,
      BUD_AUTH: 'none',
      YODLEE_AUTH: 'none',
      REFRESH_REQUESTS_AUTH: 'none',
      PLAID_AUTH: 'none',
      CONNECTIONS_AUTH: 'none',
      // the groups' default: a dead member holds its partitions this long
      NORMALIZE_SESSION_TIMEOUT_MS: '30000',
      PROCESS_SESSION_TIMEOUT_MS: '30000',
    };
    const base = `http://127.0.0.1:${String(port)}`;
    const first = startAll(env);
    await untilAccepting(base, 120_000, first.logs);
    // the groups have members now: wait until the normalizer and processors run
    for (let i = 0; !/processors running/.test(first.logs()); i++) {
      if (i > 600) throw new Error(`the processors did not start:\n${first.logs()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const exited = new Promise((r) => first.once('exit', r));
    first.kill('SIGKILL');
    await exited;

    const second = startAll(env);
    const tookMs = await untilAccepting(base, 20_000, second.logs);
    console.info(
      `[all-restart] the restarted process accepted a webhook after ${String(tookMs)} ms`,
    );
    expect(tookMs).toBeLessThan(5000);

    // and what it took while its groups rebalanced is processed once they have: one event for
    // each webhook answered 200, the one before the crash and the one after
    const events = await broker.readAll(`${id}.events`, {
      readCommitted: true,
      count: 2,
      maxWaitMs: 120_000,
    });
    expect(events).toHaveLength(2);
  }, 300_000);
});
