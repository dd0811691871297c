/**
 * Process benchmark: the stateful processors (`refreshbus process`, its own process) over a
 * backlog of canonical events for 100k and 1M customers — events/s exactly once, then a second
 * process restores the state from the changelogs (records/s until /readyz), and its resident
 * memory holding every customer's state (/proc/<pid>/status).
 *
 *   npm run bench:process [-- --quick] [--customers=100000,1000000] [--partitions=6]
 */
import { readMemory, startBenchScript, startRefreshbus, waitForHttp } from './lib/child.js';
import type { Service } from './lib/child.js';
import { fillEventsTopic } from './lib/fill-events.js';
import { buckets, scrape, total } from './lib/metrics.js';
import type { Sample } from './lib/metrics.js';
import { freePort } from './lib/net.js';
import { flagOption, numberListOption, numberOption, quick, say, sleep } from './lib/options.js';
import { trackProgress } from './lib/progress.js';
import type { Figure } from './lib/report.js';
import { ratio } from './lib/report.js';
import type { BenchStack } from './lib/stack.js';
import { committedOffsets, createTopics, endOffsets } from './lib/stack.js';
import { runStackStage } from './lib/stage.js';
import { bucketCurve } from './lib/stats.js';

const customersList = numberListOption('customers', [100_000], [100_000, 1_000_000]);
const partitions = numberOption('partitions', 6, 6);
const closeTimeoutMs = numberOption('close-timeout-ms', 120_000, 300_000);

async function measure(stack: BenchStack, customers: number, track: (s: Service) => void) {
  const id = stack.name(`processors-${customers}`);
  const t = {
    events: stack.name(`events-${customers}`),
    requests: stack.name(`requests-${customers}`),
    completed: stack.name(`completed-${customers}`),
    newTx: stack.name(`newtx-${customers}`),
    alerts: stack.name(`alerts-${customers}`),
  };
  await createTopics(stack.admin, Object.values(t), partitions);
  const fill = await fillEventsTopic({
    kafka: stack.kafka,
    registryUrl: stack.endpoints.registryUrl,
    topic: t.events,
    customers,
  });
  const opsPort = await freePort();
  const env = {
    ...stack.env,
    TOPIC_REFRESH_EVENTS: t.events,
    TOPIC_REFRESH_REQUESTS: t.requests,
    TOPIC_CUSTOMER_COMPLETED: t.completed,
    TOPIC_CUSTOMER_NEW_TRANSACTIONS: t.newTx,
    TOPIC_CUSTOMER_ALERTS: t.alerts,
    TOPIC_PARTITIONS: String(partitions),
    PROCESS_APPLICATION_ID: id,
    PROCESS_OPS_PORT: String(opsPort),
    ROUND_SETTLE_MS: '1000',
    PROCESS_TIMER_INTERVAL_MS: '250',
  };
  const metricsUrl = `http://127.0.0.1:${opsPort}/metrics`;

  // 1. process the backlog
  const started = Date.now();
  const first = startRefreshbus('process', env);
  track(first);
  let peakRss = 0;
  const progress = await trackProgress({
    what: `processors (${customers} customers)`,
    total: fill.events,
    startedAt: started,
    done: () => committedOffsets(stack.admin, id, t.events),
    onTick: () => {
      peakRss = Math.max(peakRss, readMemory(first.pid)?.rssMB ?? 0);
    },
  });
  say(
    `processed ${fill.events} events: ${progress.steadyPerSecond}/s steady, ${progress.overallPerSecond}/s overall`,
  );
  // the last rounds close at their settle deadline (timer transactions)
  let completed = 0;
  const closeDeadline = Date.now() + closeTimeoutMs;
  while (Date.now() < closeDeadline) {
    completed = await endOffsets(stack.admin, t.completed);
    if (completed >= customers) break;
    await sleep(500);
  }
  const allClosedSeconds = (Date.now() - started) / 1000;
  const afterProcessing = (await scrape(metricsUrl)) ?? [];
  const memoryProcessing = readMemory(first.pid);
  await first.stop();
  const changelogs = [`${id}.rounds.changelog`, `${id}.alerts.changelog`];
  const changelogOffsets = (
    await Promise.all(changelogs.map((c) => endOffsets(stack.admin, c).catch(() => 0)))
  ).reduce((a, b) => a + b, 0);
  const outputOffsets = (
    await Promise.all([t.completed, t.newTx, t.alerts].map((o) => endOffsets(stack.admin, o)))
  ).reduce((a, b) => a + b, 0);
  const fanout = (changelogOffsets + outputOffsets) / fill.events;

  // 2. a new process restores every partition's state, then is ready
  const restoreStarted = Date.now();
  // at info: its `state restored` lines time the restores (below)
  const second = startRefreshbus('process', { ...env, LOG_LEVEL: 'info' });
  track(second);
  const readyAt = await waitForHttp(`http://127.0.0.1:${opsPort}/readyz`, 10 * 60_000, second);
  const restoreSeconds = (readyAt - restoreStarted) / 1000;
  const entries = (samples: readonly Sample[], store: string) =>
    total(samples, 'refreshbus_state_store_entries', { store });
  const atReady: Sample[] = (await scrape(metricsUrl)) ?? [];
  // /readyz should mean every assigned partition is restored: check that the stores hold every
  // customer the first process held, and time that too
  const expectedRounds = entries(afterProcessing, 'rounds');
  let full = atReady;
  let fullAt = readyAt;
  const fullDeadline = Date.now() + 5 * 60_000;
  while (entries(full, 'rounds') < expectedRounds && Date.now() < fullDeadline) {
    await sleep(200);
    full = (await scrape(metricsUrl)) ?? full;
    fullAt = Date.now();
  }
  const fullSeconds = (fullAt - restoreStarted) / 1000;
  const restored = total(full, 'refreshbus_state_restore_records_total');
  const stateAtReady = { rounds: entries(atReady, 'rounds'), alerts: entries(atReady, 'alerts') };
  const stateAfterRestore = { rounds: entries(full, 'rounds'), alerts: entries(full, 'alerts') };
  if (stateAtReady.rounds < expectedRounds)
    say(
      `NOTE: /readyz answered 200 with ${stateAtReady.rounds}/${expectedRounds} customers restored; all present after ${fullSeconds.toFixed(1)} s (${stateAfterRestore.rounds})`,
    );
  await sleep(3000);
  const memoryAtReady = readMemory(second.pid);
  // then idle: V8 and malloc give back what the restore left behind (kafkajs fetch buffers,
  // decoded records) over the next seconds; what stays is what holding the state costs
  await sleep(12_000);
  const memoryRestored = readMemory(second.pid);
  // live heap vs resident: RSS also holds garbage of the restore not yet collected
  const heapUsedMB = Math.round(
    total((await scrape(metricsUrl)) ?? [], 'refreshbus_nodejs_heap_size_used_bytes') / 2 ** 20,
  );
  await second.stop();
  // the restores themselves (Node's start and the group join excluded), from their log lines
  const reading = restoreSpan(second.stdout());
  const readingSeconds = reading.seconds;
  say(
    `restore: ${restored} changelog records in ${restoreSeconds.toFixed(1)} s; RSS ${memoryRestored?.rssMB} MB (peak ${memoryRestored?.peakRssMB} MB)`,
  );
  // 3. baseline (at the first size only): kafkajs moving the same records without transactions,
  // state or logic
  const copy =
    flagOption('skip-baseline') || customers !== customersList[0]
      ? undefined
      : await copyBaseline(stack, t.events, fill.events, fanout, track);
  return {
    customers,
    events: fill.events,
    fanout: Math.round(fanout * 100) / 100,
    copy,
    fillSeconds: fill.seconds,
    progress,
    completed,
    allRoundsClosedSeconds: Math.round(allClosedSeconds * 10) / 10,
    stateAfterProcessing: {
      rounds: entries(afterProcessing, 'rounds'),
      alerts: entries(afterProcessing, 'alerts'),
    },
    consumedMetric: total(afterProcessing, 'refreshbus_records_consumed_total', {
      service: 'process',
    }),
    memoryProcessing,
    peakRssProcessingMB: Math.max(peakRss, memoryProcessing?.peakRssMB ?? 0),
    commitCurve: bucketCurve(
      buckets(afterProcessing, 'refreshbus_transaction_commit_duration_seconds', {
        service: 'process',
      }),
    ),
    changelogOffsets,
    restoredRecords: restored,
    restoreSeconds: Math.round(restoreSeconds * 10) / 10,
    /** Process start to every customer's state present (to /readyz if that was later). */
    restoreFullSeconds: Math.round(Math.max(fullSeconds, restoreSeconds) * 10) / 10,
    restoreRecordsPerSecond:
      restoreSeconds > 0 ? Math.round(restored / Math.max(fullSeconds, restoreSeconds)) : null,
    stateAtReady,
    /** From the first partition's restore starting to the last one's ending (they overlap). */
    restoreReadingSeconds: Math.round(readingSeconds * 100) / 100,
    restoreReadingRecords: reading.records,
    restoreReadingPartitions: reading.partitions,
    restoreReadingRecordsPerSecond:
      readingSeconds > 0 ? Math.round(reading.records / readingSeconds) : null,
    stateAfterRestore,
    memoryAtReady,
    memoryRestored,
    heapUsedMB,
  };
}

/**
 * A plain kafkajs consume → produce of the events topic (bench/workers/copy.ts), no transactions,
 * writing `fanout` records per event read — as many as the processors wrote (changelogs and
 * outputs, transaction markers included): what kafkajs alone achieves with the same traffic.
 */
async function copyBaseline(
  stack: BenchStack,
  topic: string,
  events: number,
  fanout: number,
  track: (s: Service) => void,
): Promise<{ steady: number; overall: number; fanout: number }> {
  const group = stack.name(`copy-${events}`);
  const target = stack.name(`copy-${events}`);
  await createTopics(stack.admin, [target], partitions);
  const started = Date.now();
  const service = startBenchScript('copy', 'bench/workers/copy.ts', [], {
    BENCH_BROKERS: stack.endpoints.brokers.join(','),
    BENCH_FROM: topic,
    BENCH_TO: target,
    BENCH_GROUP: group,
    BENCH_FANOUT: String(fanout),
  });
  track(service);
  const progress = await trackProgress({
    what: `copy baseline (fan-out ${fanout.toFixed(2)})`,
    total: events,
    startedAt: started,
    done: () => committedOffsets(stack.admin, group, topic),
  });
  await service.stop();
  say(
    `copy baseline: ${progress.steadyPerSecond} events/s steady (${progress.overallPerSecond} overall)`,
  );
  return { steady: progress.steadyPerSecond, overall: progress.overallPerSecond, fanout };
}

/**
 * When the processors' restores ran, from their `state restored` log lines (pino JSON on stdout:
 * `time` (ISO) at the end, `ms` it took, `records` read): the first start to the last end.
 */
function restoreSpan(stdout: string): { seconds: number; records: number; partitions: number } {
  let start = Infinity;
  let end = -Infinity;
  let records = 0;
  let partitions = 0;
  for (const line of stdout.split('\n')) {
    if (!line.includes('"state restored"')) continue;
    const entry = JSON.parse(line) as { time: string; ms: number; records: number };
    const at = Date.parse(entry.time);
    start = Math.min(start, at - entry.ms);
    end = Math.max(end, at);
    records += entry.records;
    partitions += 1;
  }
  return { seconds: partitions > 0 ? (end - start) / 1000 : NaN, records, partitions };
}

await runStackStage(
  'process',
  'Process: stateful processors, exactly once, state in changelogs',
  async (stack, cleanups) => {
    const running: Service[] = [];
    cleanups.push(async () => {
      for (const s of running) await s.stop(5000);
    });
    const runs = [];
    for (const customers of customersList)
      runs.push(await measure(stack, customers, (s) => running.push(s)));
    const largest = runs[runs.length - 1];
    const figures: Figure[] = runs.map((r) => ({
      name: `events/s exactly once, ${r.customers.toLocaleString('en-GB')} customers (steady)`,
      unit: 'events/s',
      measured: r.progress.steadyPerSecond,
      target: { op: '>=', value: 20_000 },
      note: `overall incl. start-up ${r.progress.overallPerSecond}/s`,
    }));
    if (largest) {
      figures.push(
        {
          name: `state restore from changelogs, ${largest.customers.toLocaleString('en-GB')} customers`,
          unit: 'records/s',
          measured: largest.restoreReadingRecordsPerSecond,
          target: { op: '>=', value: 100_000 },
          note: `${largest.restoreReadingRecords} records of ${largest.restoreReadingPartitions} partitions in ${largest.restoreReadingSeconds} s, from the first restore starting to the last ending; with the process’s start and group join: ${largest.restoreRecordsPerSecond} records/s (${largest.restoredRecords} records, process start to /readyz ${largest.restoreSeconds} s, to every customer’s state present ${largest.restoreFullSeconds} s)`,
        },
        {
          name: `resident memory with ${largest.customers.toLocaleString('en-GB')} customers’ state (after restore)`,
          unit: 'MB',
          measured: largest.memoryRestored?.rssMB ?? null,
          target: { op: '<=', value: 400 },
          note: `${quick || largest.customers < 1_000_000 ? 'quick mode: fewer customers than the target’s 1M; ' : ''}15 s after /readyz (3 s after: ${largest.memoryAtReady?.rssMB} MB); peak ${largest.memoryRestored?.peakRssMB} MB; V8 heap used ${largest.heapUsedMB} MB; while processing peak ${largest.peakRssProcessingMB} MB`,
        },
      );
    }
    return {
      settings: {
        customers: customersList.join(', '),
        'events per customer':
          '2 (Bud V1 successes from two banks; the first with new transactions)',
        partitions,
        'processor process':
          'node bin/refreshbus.js process (one instance, all partitions, all three processors)',
        ROUND_SETTLE_MS: 1000,
        PROCESS_TIMER_INTERVAL_MS: 250,
        'steady state': 'rate between 10 % and 90 % of input offsets committed',
        'restore time':
          'from the first partition’s restore starting to the last one’s ending (the processors’ `state restored` log lines); also from spawning the second process to its /readyz (Node start and group join included)',
        memory:
          'VmRSS of the processors’ process 15 s after /readyz, idle (and 3 s after, in the note); peak = VmHWM',
      },
      figures,
      baselines: runs.flatMap((r) =>
        r.copy
          ? [
              {
                name: `events/s, ${r.customers.toLocaleString('en-GB')} customers: plain kafkajs copy writing as many records (fan-out ${r.copy.fanout.toFixed(2)}), no transactions`,
                unit: 'events/s',
                baseline: r.copy.steady,
                refreshbus: r.progress.steadyPerSecond,
                ratio: ratio(r.progress.steadyPerSecond, r.copy.steady),
              },
            ]
          : [],
      ),
      charts: runs.map((r) => ({
        title: `Process: transaction commit duration, ${r.customers.toLocaleString('en-GB')} customers`,
        subtitle: 'from the processors’ Prometheus histogram (coarse buckets)',
        series: [{ label: 'refreshbus processors', points: r.commitCurve }],
      })),
      notes: runs.map(
        (r) =>
          `${r.customers} customers: ${r.events} events; all ${r.completed} rounds closed ${r.allRoundsClosedSeconds} s after start; state ${JSON.stringify(r.stateAfterProcessing)} → at /readyz ${JSON.stringify(r.stateAtReady)} → restored ${JSON.stringify(r.stateAfterRestore)}; changelog offsets ${r.changelogOffsets}.`,
      ),
      details: { runs },
    };
  },
);
