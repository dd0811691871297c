import { Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/lib/logger.js';
import { createMetricsRegistry } from '../../../src/observability/metrics.js';
import type { Readiness } from '../../../src/observability/ops-server.js';
import {
  buildOpsApp,
  combinedReadiness,
  runnerReadiness,
  startOpsServer,
} from '../../../src/observability/ops-server.js';
import { PartitionHealth } from '../../../src/observability/partition-health.js';

const status = {
  member: true,
  assignment: { raw: [0, 1] },
  failingSince: undefined,
  lastHeartbeatAt: 1_000_000,
  stopped: false,
};

describe('runnerReadiness', () => {
  it('is ready as a group member whose transactions succeed', () => {
    expect(runnerReadiness(status, 1_000_000, 30_000)).toEqual({ ready: true });
  });

  it('is not ready before joining, while stopping, or when transactions fail longer than the stall limit', () => {
    expect(runnerReadiness({ ...status, member: false }, 0, 30_000)).toEqual({
      ready: false,
      reason: 'not a member of its consumer group (yet)',
    });
    expect(runnerReadiness({ ...status, stopped: true }, 0, 30_000)).toEqual({
      ready: false,
      reason: 'stopping',
    });
    expect(runnerReadiness({ ...status, failingSince: 955_000 }, 1_000_000, 30_000)).toEqual({
      ready: false,
      reason: 'transactions failing for 45 s',
    });
  });

  it('rides out a short failure (a retried transaction) without flapping', () => {
    expect(runnerReadiness({ ...status, failingSince: 971_000 }, 1_000_000, 30_000)).toEqual({
      ready: true,
    });
  });

  it('is not ready when the group coordinator has not answered a heartbeat within the stall limit (an idle service in an outage)', () => {
    expect(runnerReadiness(status, 1_031_000, 30_000)).toEqual({
      ready: false,
      reason: 'no heartbeat answered for 31 s',
    });
  });

  it('is not ready while one partition is stalled though the others commit, naming it', () => {
    const health = new PartitionHealth(30_000);
    health.assigned({ raw: [0, 1] }, 900_000);
    health.lagsPolled(
      [
        { topic: 'raw', partition: 0, lag: 4 },
        { topic: 'raw', partition: 1, lag: 90 },
      ],
      900_000,
    );
    health.failed('raw', 0, 'UNKNOWN', 901_000);
    health.committed('raw', 1, 10, 999_000);
    // the runner's one "failing since" was reset by partition 1's commit
    expect(runnerReadiness(status, 1_000_000, 30_000, health.stalled(1_000_000))).toEqual({
      ready: false,
      reason:
        'stalled partition (input waiting without a commit): raw/0 for 99 s (lag 4, transactions failing)',
    });
  });

  it('names every stalled partition, and keeps the reasons that come first', () => {
    const stalled = [
      { topic: 'raw', partition: 0, stalledMs: 45_000, lag: 3, failing: false },
      { topic: 'raw', partition: 2, stalledMs: 31_400, lag: undefined, failing: true },
    ];
    expect(runnerReadiness(status, 1_000_000, 30_000, stalled)).toEqual({
      ready: false,
      reason:
        'stalled partitions (input waiting without a commit): raw/0 for 45 s (lag 3), raw/2 for 31 s (transactions failing)',
    });
    expect(runnerReadiness({ ...status, member: false }, 1_000_000, 30_000, stalled)).toEqual({
      ready: false,
      reason: 'not a member of its consumer group (yet)',
    });
  });
});

describe('combinedReadiness', () => {
  it('is ready when every part is, else gives each unready part its name and reason', () => {
    expect(combinedReadiness([['normalizer', { ready: true }]])).toEqual({ ready: true });
    expect(
      combinedReadiness([
        ['normalizer', { ready: false, reason: 'stalled partition (…): raw/0 for 40 s' }],
        ['processors', { ready: true }],
        ['other', { ready: false }],
      ]),
    ).toEqual({
      ready: false,
      reason: 'normalizer: stalled partition (…): raw/0 for 40 s; other: not ready',
    });
  });
});

describe('ops endpoints', () => {
  const build = async (readiness: () => Readiness) => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    new Counter({ name: 'refreshbus_test_total', help: 'test', registers: [registry] }).inc(3);
    return buildOpsApp({ registry, readiness, logger: createLogger('silent') });
  };

  it('answers /healthz, /readyz and /metrics in Prometheus text format', async () => {
    const app = await build(() => ({ ready: true }));
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await app.inject('/readyz')).json()).toEqual({ status: 'ready' });
    const metrics = await app.inject('/metrics');
    expect(metrics.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metrics.body).toContain('refreshbus_test_total 3');
    await app.close();
  });

  it('names the setting when its port is taken, instead of failing with EADDRINUSE', async () => {
    const options = {
      host: '127.0.0.1',
      registry: createMetricsRegistry({ defaultMetrics: false }),
      readiness: () => ({ ready: true }),
      logger: createLogger('silent'),
    };
    const first = await startOpsServer({ ...options, port: 0, portSetting: 'PROCESS_OPS_PORT' });
    const port = Number(new URL(first.url).port);
    await expect(
      startOpsServer({ ...options, port, portSetting: 'PROCESS_OPS_PORT' }),
    ).rejects.toThrow(
      `PROCESS_OPS_PORT: 127.0.0.1:${String(port)} is in use (another instance on this host?); choose another port, or 0 for any free one`,
    );
    await first.close();
  });

  it('answers 503 with the contract error shape and the reason when not ready', async () => {
    const app = await build(() => ({ ready: false, reason: 'restoring state of partitions 2' }));
    const res = await app.inject('/readyz');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      error: { code: 'UNAVAILABLE', message: 'restoring state of partitions 2' },
    });
    const unknown = await app.inject('/nope');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no such endpoint' } });
    await app.close();
  });
});
