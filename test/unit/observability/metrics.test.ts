import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PartitionLag } from '../../../src/kafka/exactly-once.js';
import type { StreamRunner } from '../../../src/kafka/stream-runner.js';
import { createLogger } from '../../../src/lib/logger.js';
import { StreamMetrics, createMetricsRegistry } from '../../../src/observability/metrics.js';
import { runnerReadiness } from '../../../src/observability/ops-server.js';

/** What StreamMetrics uses of a runner: its assignments, status and lag. */
function fakeRunner() {
  const emitter = new EventEmitter();
  const state = {
    stopped: false,
    lags: [] as PartitionLag[],
    lagCalls: 0,
    lagFails: false,
  };
  const runner = {
    onAssigned: (listener: (assignment: Record<string, number[]>) => void) =>
      emitter.on('assigned', listener),
    status: () => ({
      member: !state.stopped,
      assignment: { raw: [0, 1] },
      failingSince: undefined,
      lastHeartbeatAt: Date.now(),
      stopped: state.stopped,
    }),
    lag: () => {
      state.lagCalls++;
      return state.lagFails
        ? Promise.reject(new Error('no coordinator'))
        : Promise.resolve(state.lags);
    },
  };
  const join = (assignment: Record<string, number[]>) => {
    emitter.emit('assigned', assignment);
  };
  return { runner: runner as unknown as StreamRunner, state, join };
}

/** A gauge's samples by `topic/partition`. */
async function samples(metrics: StreamMetrics, name: string): Promise<Record<string, number>> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return Object.fromEntries(
    (metric?.values ?? []).map((v) => [
      `${String(v.labels.service)}:${String(v.labels.topic)}/${String(v.labels.partition)}`,
      v.value,
    ]),
  );
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('StreamMetrics partition health', () => {
  it('reports each partition lag and stalled seconds from commits, failures and polled lag, and readiness names the stuck one', async () => {
    const metrics = StreamMetrics.of(createMetricsRegistry({ defaultMetrics: false }));
    const observer = metrics.transactions('normalize');
    const health = metrics.partitionHealth('normalize', 4000);
    const { runner, state, join } = fakeRunner();
    metrics.attachRunner('normalize', runner, () => true);
    join({ raw: [0, 1] });
    state.lags = [
      { topic: 'raw', partition: 0, lag: 3 },
      { topic: 'raw', partition: 1, lag: 25 },
    ];
    // partition 0 retries one record; partition 1 keeps committing
    for (let i = 0; i < 8; i++) {
      observer.onFailed({ topic: 'raw', partition: 0, type: 'UNKNOWN' });
      observer.onCommitted({ topic: 'raw', partition: 1, records: 5, outputs: {}, seconds: 0.01 });
      await vi.advanceTimersByTimeAsync(1000);
    }

    expect(await samples(metrics, 'refreshbus_stream_partition_lag')).toEqual({
      'normalize:raw/0': 3,
      'normalize:raw/1': 25,
    });
    expect(await samples(metrics, 'refreshbus_stream_partition_stalled_seconds')).toEqual({
      'normalize:raw/0': 8,
      'normalize:raw/1': 0,
    });
    const now = Date.now();
    expect(runnerReadiness(runner.status(), now, 4000, health.stalled(now)).reason).toBe(
      'stalled partition (input waiting without a commit): raw/0 for 8 s (lag 3, transactions failing)',
    );
  });

  it('logs a failed lag poll at debug and goes on; stops polling and forgets the partitions once the runner stops', async () => {
    const logged: string[] = [];
    const logger = createLogger('debug', {
      write: (line: string) => {
        logged.push(line);
      },
    });
    const metrics = StreamMetrics.of(createMetricsRegistry({ defaultMetrics: false }), logger);
    metrics.partitionHealth('process', 2000);
    const { runner, state, join } = fakeRunner();
    metrics.attachRunner('process', runner, () => true);
    join({ events: [0] });
    state.lagFails = true;
    await vi.advanceTimersByTimeAsync(500);
    expect(logged.map((l) => JSON.parse(l) as { level: number; msg: string })).toContainEqual(
      expect.objectContaining({ level: 20, msg: 'partition lag not available' }),
    );

    state.lagFails = false;
    state.lags = [{ topic: 'events', partition: 0, lag: 2 }];
    await vi.advanceTimersByTimeAsync(500);
    expect(await samples(metrics, 'refreshbus_stream_partition_lag')).toEqual({
      'process:events/0': 2,
    });

    state.stopped = true;
    await vi.advanceTimersByTimeAsync(500);
    const calls = state.lagCalls;
    await vi.advanceTimersByTimeAsync(5000);
    expect(state.lagCalls).toBe(calls);
    expect(await samples(metrics, 'refreshbus_stream_partition_lag')).toEqual({});
    expect(vi.getTimerCount()).toBe(0);
  });
});
