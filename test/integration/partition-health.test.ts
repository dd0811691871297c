import { describe, expect, it } from 'vitest';
import { ExactlyOnceRunner } from '../../src/kafka/exactly-once.js';
import { createLogger } from '../../src/lib/logger.js';
import { StreamMetrics, createMetricsRegistry } from '../../src/observability/metrics.js';
import { buildOpsApp, runnerReadiness } from '../../src/observability/ops-server.js';
import { createTopics, testBroker, uniqueName } from './support/kafka.js';
import { until } from './support/pipeline.js';

const broker = testBroker();

// above the runner's 3 s heartbeat interval, whose silence readiness also reports
const STALL_MS = 6000;

/** Prometheus text samples of `name` whose labels include `labels`. */
function samples(text: string, name: string, labels: Record<string, string>): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (m?.[1] !== name) continue;
    const found = new Map([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => found.get(k) === v)) out.push(Number(m[3]));
  }
  return out;
}

describe('per-partition health against a real broker', () => {
  it('turns /readyz not ready naming the partition stuck on one record, while another partition keeps committing', async () => {
    const input = uniqueName('health-in');
    const output = uniqueName('health-out');
    const admin = await broker.admin();
    // a broker just started may not answer for a new topic's partitions yet
    await until('the topics to be created', 30_000, () =>
      createTopics(admin, [input], 2)
        .then(() => createTopics(admin, [output]))
        .then(
          () => true,
          () => undefined,
        ),
    );

    const metrics = StreamMetrics.of(createMetricsRegistry({ defaultMetrics: false }));
    const runner = broker.resources.track(
      new ExactlyOnceRunner({
        kafka: broker.kafka,
        groupId: uniqueName('health-group'),
        topics: [input],
        transactionalIdPrefix: uniqueName('health-txn'),
        partitionsConsumedConcurrently: 2,
        maxBackoffMs: 500,
        logger: createLogger('silent'),
        ...metrics.transactions('normalize'),
        // an infrastructure failure that never clears, for this one record only
        process: (chunk) => {
          if (chunk.messages.some((m) => m.value?.toString() === 'stuck'))
            return Promise.reject(new Error('the record cannot be processed'));
          return Promise.resolve([
            { topic: output, messages: chunk.messages.map((m) => ({ value: m.value })) },
          ]);
        },
      }),
      (r) => r.stop(),
    );
    const health = metrics.partitionHealth('normalize', STALL_MS);
    const readiness = () => {
      const now = Date.now();
      return runnerReadiness(runner.status(), now, STALL_MS, health.stalled(now));
    };
    metrics.attachRunner('normalize', runner, () => readiness().ready);
    const ops = broker.resources.track(
      await buildOpsApp({
        registry: metrics.registry,
        readiness,
        logger: createLogger('silent'),
      }),
      (app) => app.close(),
    );
    await runner.start();
    await until('the runner to join its group', 30_000, () =>
      runner.status().member && Object.keys(runner.status().assignment).length > 0
        ? true
        : undefined,
    );

    const producer = await broker.producer({ idempotent: true });
    await producer.send({ topic: input, acks: -1, messages: [{ partition: 0, value: 'stuck' }] });
    // partition 1 keeps receiving and committing: the runner's one "failing since" is reset by
    // its commits, so only the per-partition clock can tell that partition 0 is stuck
    const feed = { on: true, sent: 0 };
    const feeding = (async () => {
      while (feed.on) {
        await producer.send({
          topic: input,
          acks: -1,
          messages: [{ partition: 1, value: `ok-${String(feed.sent)}` }],
        });
        feed.sent++;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    broker.resources.track(feed, async (f) => {
      f.on = false;
      await feeding;
    });

    const consumedTotal = async () =>
      (await metrics.consumed.get()).values.reduce((n, v) => n + v.value, 0);
    const stalled = await until('/readyz to report the stuck partition', 30_000, async () => {
      const res = await ops.inject('/readyz');
      return res.statusCode === 503 ? res.json<{ error: { message: string } }>() : undefined;
    });
    expect(stalled.error.message).toMatch(
      new RegExp(`^stalled partition \\(input waiting without a commit\\): ${input}/0 for \\d+ s`),
    );
    expect(stalled.error.message).toContain('transactions failing');
    expect(stalled.error.message).not.toContain(`${input}/1`);

    // partition 1 goes on committing after the stall was reported, and is never called stalled
    const before = await consumedTotal();
    await until('partition 1 to commit more', 30_000, async () =>
      (await consumedTotal()) >= before + 5 ? true : undefined,
    );
    expect(readiness().reason).toMatch(new RegExp(`: ${input}/0 for `));
    const text = (await ops.inject('/metrics')).body;
    const labels = (partition: string) => ({ service: 'normalize', topic: input, partition });
    expect(
      samples(text, 'refreshbus_stream_partition_stalled_seconds', labels('0'))[0],
    ).toBeGreaterThanOrEqual(STALL_MS / 1000);
    expect(samples(text, 'refreshbus_stream_partition_stalled_seconds', labels('1'))).toEqual([0]);
    expect(samples(text, 'refreshbus_ready', { service: 'normalize' })).toEqual([0]);
  });
});
