/**
 * Normalize benchmark: events/s of the exactly-once normalizer (`refreshbus normalize`) over a
 * backlog of raw webhooks, timed until every input offset is committed; against a plain
 * consume → produce copy of the same records without transactions, and Kafka's
 * ConsumerPerformance (the broker's consume ceiling).
 *
 *   npm run bench:normalize [-- --quick] [--records=500000] [--partitions=6]
 */
import { readMemory, startBenchScript, startRefreshbus, lastJson } from './lib/child.js';
import type { Service } from './lib/child.js';
import { fillRawTopic } from './lib/fill.js';
import { consumerPerformance } from './lib/kafka-tools.js';
import { buckets, scrape } from './lib/metrics.js';
import { freePort } from './lib/net.js';
import { flagOption, numberOption, say, sleep } from './lib/options.js';
import { trackProgress } from './lib/progress.js';
import type { Baseline, Chart } from './lib/report.js';
import { ratio } from './lib/report.js';
import { committedOffsets, createTopics, endOffsets } from './lib/stack.js';
import { runStackStage } from './lib/stage.js';
import type { CurvePoint } from './lib/stats.js';
import { bucketCurve } from './lib/stats.js';

const records = numberOption('records', 50_000, 500_000);
const partitions = numberOption('partitions', 6, 6);

await runStackStage(
  'normalize',
  'Normalize: raw webhooks → canonical events, exactly once',
  async (stack, cleanups) => {
    const t = {
      raw: stack.name('raw'),
      events: stack.name('events'),
      dlq: stack.name('dlq'),
      requests: stack.name('requests'),
      copy: stack.name('copy'),
    };
    await createTopics(stack.admin, Object.values(t), partitions);
    const fill = await fillRawTopic(stack.kafka, t.raw, records);
    let service: Service | undefined;
    cleanups.push(async () => service?.stop(5000));
    const skipBaselines = flagOption('skip-baseline');

    // baseline 2: the broker's consume ceiling
    const ceiling = skipBaselines
      ? undefined
      : await consumerPerformance({
          brokers: stack.endpoints.brokers,
          topic: t.raw,
          records,
          group: stack.name('consumer-perf'),
        });
    if (ceiling)
      say(
        `ConsumerPerformance: ${ceiling.recordsPerSecond} records/s (fetch only ${ceiling.fetchRecordsPerSecond})`,
      );

    // baseline 1: plain copy, no transactions
    let copy:
      { seconds: number; overall: number; steady: number; batchCurve: CurvePoint[] } | undefined;
    if (!skipBaselines) {
      const group = stack.name('copy');
      const started = Date.now();
      service = startBenchScript('copy', 'bench/workers/copy.ts', [], {
        BENCH_BROKERS: stack.endpoints.brokers.join(','),
        BENCH_FROM: t.raw,
        BENCH_TO: t.copy,
        BENCH_GROUP: group,
      });
      const progress = await trackProgress({
        what: 'copy baseline',
        total: records,
        startedAt: started,
        done: () => committedOffsets(stack.admin, group, t.raw),
      });
      await service.stop();
      const out = lastJson(service.stdout()) as { curve?: CurvePoint[] };
      copy = {
        seconds: progress.seconds,
        overall: progress.overallPerSecond,
        steady: progress.steadyPerSecond,
        batchCurve: out.curve ?? [],
      };
      say(`copy baseline: ${copy.overall} records/s overall, ${copy.steady} steady`);
      await sleep(1000);
    }

    // refreshbus: the real normalizer service
    const group = stack.name('normalizer');
    const opsPort = await freePort();
    const started = Date.now();
    service = startRefreshbus('normalize', {
      ...stack.env,
      TOPIC_WEBHOOKS_RAW: t.raw,
      TOPIC_REFRESH_EVENTS: t.events,
      TOPIC_REFRESH_DLQ: t.dlq,
      TOPIC_REFRESH_REQUESTS: t.requests,
      TOPIC_PARTITIONS: String(partitions),
      NORMALIZE_GROUP_ID: group,
      NORMALIZE_TRANSACTIONAL_ID_PREFIX: group,
      NORMALIZE_OPS_PORT: String(opsPort),
    });
    const pid = service.pid;
    let peakRss = 0;
    const progress = await trackProgress({
      what: 'normalizer',
      total: records,
      startedAt: started,
      done: () => committedOffsets(stack.admin, group, t.raw),
      onTick: () => {
        peakRss = Math.max(peakRss, readMemory(pid)?.rssMB ?? 0);
      },
    });
    const metrics = await scrape(`http://127.0.0.1:${opsPort}/metrics`);
    const memory = readMemory(pid);
    await service.stop();
    const eventsOut = await endOffsets(stack.admin, t.events);
    const dlqOut = await endOffsets(stack.admin, t.dlq);
    const eventsPerSecond = Math.round((fill.expectedEvents / records) * progress.steadyPerSecond);
    const eventsPerSecondOverall = Math.round(fill.expectedEvents / progress.seconds);
    say(
      `normalizer: ${progress.steadyPerSecond} raw records/s steady (${eventsPerSecond} events/s), ${progress.overallPerSecond} overall`,
    );

    const commitCurve = metrics
      ? bucketCurve(
          buckets(metrics, 'refreshbus_transaction_commit_duration_seconds', {
            service: 'normalize',
          }),
        )
      : [];
    const baselines: Baseline[] = [];
    if (copy)
      baselines.push({
        name: 'raw records/s vs plain consume → produce copy (no transactions), steady state',
        unit: 'records/s',
        baseline: copy.steady,
        refreshbus: progress.steadyPerSecond,
        ratio: ratio(progress.steadyPerSecond, copy.steady),
        note: `overall incl. start-up: copy ${copy.overall}, normalizer ${progress.overallPerSecond}`,
      });
    if (ceiling)
      baselines.push({
        name: 'raw records/s vs broker consume ceiling (ConsumerPerformance)',
        unit: 'records/s',
        baseline: ceiling.recordsPerSecond,
        refreshbus: progress.steadyPerSecond,
        ratio: ratio(progress.steadyPerSecond, ceiling.recordsPerSecond),
        note: `ConsumerPerformance fetch-only rate ${ceiling.fetchRecordsPerSecond} records/s`,
      });
    const charts: Chart[] = [
      {
        title: 'Normalize: time per committed chunk',
        subtitle:
          'refreshbus: transaction commit duration (Prometheus buckets, coarse); copy: sendBatch + commit per batch',
        series: [
          { label: 'refreshbus normalizer (transaction)', points: commitCurve },
          ...(copy
            ? [{ label: 'plain copy (sendBatch + commitOffsets)', points: copy.batchCurve }]
            : []),
        ],
      },
    ];
    return {
      settings: {
        'raw records': records,
        partitions,
        'record mix': 'Bud V1 50 % (10 % of them failed), Bud V2 25 %, Yodlee 25 %',
        'mean raw record': `${Math.round(fill.bytes / records)} B`,
        'expected events': fill.expectedEvents,
        'events per raw record': Math.round((fill.expectedEvents / records) * 100) / 100,
        'normalizer process': 'node bin/refreshbus.js normalize (one instance, all partitions)',
        'steady state': 'rate between 10 % and 90 % of input offsets committed',
      },
      figures: [
        {
          name: 'events/s exactly once (steady)',
          unit: 'events/s',
          measured: eventsPerSecond,
          target: { op: '>=', value: 20_000 },
          note: `${records} raw records`,
        },
        {
          name: 'events/s exactly once (overall, from process start incl. group join)',
          unit: 'events/s',
          measured: eventsPerSecondOverall,
        },
        { name: 'raw records/s (steady)', unit: 'records/s', measured: progress.steadyPerSecond },
        { name: 'normalizer peak RSS', unit: 'MB', measured: memory?.peakRssMB ?? peakRss },
      ],
      baselines,
      charts,
      notes: [
        `Output offsets (records + transaction markers): events ${eventsOut}, DLQ ${dlqOut}; fill took ${fill.seconds.toFixed(1)} s.`,
      ],
      details: { fill, ceiling, copy, normalizer: progress, memory, commitCurve },
    };
  },
);
