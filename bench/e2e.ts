/**
 * End-to-end benchmark: the three services fed at a fixed 1,000 signed webhooks/s; for each
 * webhook, the time from its 200 to the customer's NewTransactionsAvailable being readable by a
 * read_committed consumer. Every customer's round was announced beforehand by a RefreshRequested
 * for exactly that task, so the round closes as soon as the webhook's event is processed
 * (REQUESTED_TASKS_DONE) — no round deadline or timer tick involved.
 *
 * Two topologies, each on topics of its own: `split` runs `refreshbus ingest`, `normalize` and
 * `process` as three processes (as deployed), `all` runs `refreshbus all` (one process, the local
 * default). Per hop, from the records' CreateTime (the writer's clock: same machine) and the
 * instant a read_committed reader in the bench got them: 200 → event written by the normalizer →
 * event readable (committed) → signal written by the processors → signal readable.
 *
 * The paced phase starts with a warm-up (`--warmup`, 20 s in full mode) at the same rate:
 * the services are fresh processes, and their first seconds (V8 compiling the hot paths, the
 * first transactions of each producer) are not what a service that has been running shows. The
 * warm-up's webhooks are measured too, and reported apart: `end-to-end p99 during the warm-up`.
 *
 *   npm run bench:e2e [-- --quick] [--rate=1000] [--seconds=60] [--warmup=20]
 *                     [--topology=split,all]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { budTaskCompleted, signedHeaders, HMAC_AUTH_ENV } from './lib/bodies.js';
import { startRefreshbus, waitForHttp } from './lib/child.js';
import type { Service } from './lib/child.js';
import { findPid, sampleCpu } from './lib/cpu.js';
import { createClient } from './lib/http-client.js';
import { buckets, scrape } from './lib/metrics.js';
import type { Sample } from './lib/metrics.js';
import { freePort } from './lib/net.js';
import { numberOption, say, sleep, stringListOption } from './lib/options.js';
import { trackProgress } from './lib/progress.js';
import type { ArrivalsConfig, ArrivalsMessage } from './workers/arrivals.js';
import type { Figure } from './lib/report.js';
import { committedOffsets, createTopics } from './lib/stack.js';
import type { BenchStack } from './lib/stack.js';
import { runStackStage } from './lib/stage.js';
import { bucketCurve, summarize, windowedP99 } from './lib/stats.js';
import type { LatencySummary } from './lib/stats.js';

const rate = numberOption('rate', 1000, 1000);
const seconds = numberOption('seconds', 10, 60);
const warmupSeconds = numberOption('warmup', 5, 20);
const partitions = numberOption('partitions', 6, 6);
const drainTimeoutMs = numberOption('drain-timeout-ms', 60_000, 120_000);
const TOPOLOGIES = ['split', 'all'] as const;
type Topology = (typeof TOPOLOGIES)[number];
const topologies = stringListOption('topology', TOPOLOGIES, TOPOLOGIES);
const P99_TARGET_MS = 500;

const DESCRIBE: Record<Topology, string> = {
  split:
    '3 processes: node bin/refreshbus.js ingest, normalize, process (as deployed, one per service)',
  all: 'node bin/refreshbus.js all (ingest + normalizer + processors in one process)',
};

/** When one webhook's records were written (CreateTime) and read (bench clock), epoch ms. */
interface Trace {
  readonly ok: number;
  readonly raw: { ts: number; rx: number };
  readonly event: { ts: number; rx: number };
  readonly signal: { ts: number; rx: number };
}

/**
 * The hops of one webhook. CreateTime is stamped when kafkajs encodes the produce request: for
 * the transactional writers, after the input was fetched and mapped, before the commit.
 */
const HOPS: readonly (readonly [string, string, (t: Trace) => number])[] = [
  [
    'raw written → 200',
    'ingest: the raw record’s CreateTime to the 200 received (acks=all, then the HTTP answer)',
    (t) => t.ok - t.raw.ts,
  ],
  [
    'raw written → event written',
    'normalizer: until its fetch of the raw record returned (previous transactions), mapping, send',
    (t) => t.event.ts - t.raw.ts,
  ],
  [
    'event written → signal written',
    'normalizer’s commit, then the processors’ fetch of the event (previous transactions), state, send',
    (t) => t.signal.ts - t.event.ts,
  ],
  [
    'signal written → readable',
    'processors’ commit (offsets, EndTxn, markers), then the reader’s fetch',
    (t) => t.signal.rx - t.signal.ts,
  ],
  [
    'event written → readable',
    'not on the path: the normalizer’s commit + the reader’s fetch, as the signal’s last hop',
    (t) => t.event.rx - t.event.ts,
  ],
];

/**
 * First CreateTime and arrival (epoch ms) per key, per topic, read_committed, by a consumer on a
 * worker thread of its own (bench/workers/arrivals.ts): the sender's HTTP work on this thread
 * would otherwise delay the arrival clock.
 */
async function readFirstArrivals(brokers: readonly string[], groupId: string, topics: string[]) {
  const seen = new Map(topics.map((t) => [t, new Map<string, { ts: number; rx: number }>()]));
  const config: ArrivalsConfig = { brokers, groupId, topics };
  // the worker is TypeScript too: register tsx's loader in it first (a .ts entry is refused before
  // an --import hook would run)
  const entry = new URL('./workers/arrivals.ts', import.meta.url).href;
  const worker = new Worker(
    `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`,
    { eval: true, workerData: config },
  );
  let stopped: ((m: { loopDelayP99Ms: number; loopDelayMaxMs: number }) => void) | undefined;
  const running = new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m: ArrivalsMessage) => {
      if (m.type === 'running') resolve();
      else if (m.type === 'stopped') stopped?.(m);
      else {
        const byKey = seen.get(m.topic);
        m.keys.forEach((key, i) => byKey?.set(key, { ts: m.ts[i] ?? Number.NaN, rx: m.rx }));
      }
    });
  });
  await running;
  return {
    seen,
    stop: async () => {
      const done = new Promise<{ loopDelayP99Ms: number; loopDelayMaxMs: number }>((resolve) => {
        stopped = resolve;
      });
      worker.postMessage('stop');
      const timeout = sleep(10_000).then(() => ({ loopDelayP99Ms: NaN, loopDelayMaxMs: NaN }));
      const result = await Promise.race([done, timeout]);
      await worker.terminate();
      return result;
    },
  };
}

/** Transaction commit durations (processing start → commit acknowledged) between two scrapes. */
function commitCurve(before: Sample[] | undefined, after: Sample[] | undefined, service: string) {
  const name = 'refreshbus_transaction_commit_duration_seconds';
  const start = new Map(buckets(before ?? [], name, { service }).map((b) => [b.le, b.count]));
  const delta = buckets(after ?? [], name, { service }).map((b) => ({
    le: b.le,
    count: b.count - (start.get(b.le) ?? 0),
  }));
  const curve = bucketCurve(delta);
  const at = (p: number) => curve.find((c) => c.p === p)?.ms ?? Number.NaN;
  return {
    transactions: delta[delta.length - 1]?.count ?? 0,
    p50: at(50),
    p99: at(99),
  };
}

interface TopologyResult {
  readonly topology: Topology;
  readonly e2e: ReturnType<typeof summarize>;
  /** end to end of the warm-up's webhooks (not in `e2e`) */
  readonly warmup: ReturnType<typeof summarize>;
  /** end-to-end p99 per 10 s of the paced phase, by the webhook's 200 */
  readonly e2eBy10s: ReturnType<typeof windowedP99>;
  readonly http: ReturnType<typeof summarize>;
  readonly hops: Record<string, LatencySummary>;
  readonly cpu: ReturnType<ReturnType<typeof sampleCpu>['stop']>;
  /** Event loop delay of the sender (this thread) during the paced phase. */
  readonly senderLoop: { p99Ms: number; maxMs: number };
  readonly commits: Record<string, ReturnType<typeof commitCurve>>;
  readonly missing: number;
  readonly failures: number;
  /** why, per reason: `HTTP <status>` or the socket error's code */
  readonly failureReasons: Record<string, number>;
  readonly announceFailures: number;
  readonly lateStarts: number;
  readonly dispatchSeconds: number;
  readonly sendSeconds: number;
  readonly drainSeconds: number;
}

async function runTopology(
  stack: BenchStack,
  topology: Topology,
  cleanups: (() => Promise<void>)[],
): Promise<TopologyResult> {
  const name = (what: string) => stack.name(`${topology}.${what}`);
  const t = {
    raw: name('raw'),
    requests: name('requests'),
    events: name('events'),
    dlq: name('dlq'),
    completed: name('completed'),
    newTx: name('newtx'),
    alerts: name('alerts'),
  };
  await createTopics(stack.admin, Object.values(t), partitions);
  const appId = name('processors');
  const port = await freePort();
  const normalizeOps = await freePort();
  const processOps = await freePort();
  const env = {
    ...stack.env,
    INGEST_PORT: String(port),
    NORMALIZE_OPS_PORT: String(normalizeOps),
    PROCESS_OPS_PORT: String(processOps),
    TOPIC_WEBHOOKS_RAW: t.raw,
    TOPIC_REFRESH_REQUESTS: t.requests,
    TOPIC_REFRESH_EVENTS: t.events,
    TOPIC_REFRESH_DLQ: t.dlq,
    TOPIC_CUSTOMER_COMPLETED: t.completed,
    TOPIC_CUSTOMER_NEW_TRANSACTIONS: t.newTx,
    TOPIC_CUSTOMER_ALERTS: t.alerts,
    TOPIC_PARTITIONS: String(partitions),
    NORMALIZE_GROUP_ID: name('normalizer'),
    NORMALIZE_TRANSACTIONAL_ID_PREFIX: name('normalizer'),
    PROCESS_APPLICATION_ID: appId,
    ...HMAC_AUTH_ENV,
  };
  const url = `http://127.0.0.1:${port}`;
  // the services, and where each answers /readyz and /metrics
  const services: { label: string; service: Service; ops: string }[] = [];
  const start = (command: string, ops: string) => {
    const service = startRefreshbus(command, env);
    services.push({ label: command, service, ops });
  };
  if (topology === 'all') start('all', url);
  else {
    // the normalizer and the processors first: the ingest takes traffic once they run
    start('normalize', `http://127.0.0.1:${normalizeOps}`);
    start('process', `http://127.0.0.1:${processOps}`);
    start('ingest', url);
  }
  const stopServices = async () => {
    await Promise.all(services.map(({ service }) => service.stop(10_000)));
  };
  cleanups.push(stopServices);
  for (const { ops, service } of services) await waitForHttp(`${ops}/readyz`, 120_000, service);
  const client = createClient(url, 256);
  // webhooks 0 … warm-1 are the warm-up's, warm … n-1 are measured
  const warm = Math.round(rate * warmupSeconds);
  const n = warm + Math.round(rate * seconds);
  const customer = (i: number) => `e2e-${i}`;
  const indexOf = (c: string) => Number(c.slice('e2e-'.length));

  // the signal's reader: first arrival of each customer's signal, read_committed
  const signals = await readFirstArrivals(stack.endpoints.brokers, name('reader'), [t.newTx]);
  const arrivals = signals.seen.get(t.newTx) ?? new Map<string, { rx: number }>();
  // the hops' reader (another consumer, so the signal's reader is as before)
  const hops = await readFirstArrivals(stack.endpoints.brokers, name('hops'), [
    t.raw,
    t.events,
    t.newTx,
  ]);

  try {
    // 1. announce every round: RefreshRequested for the one task its webhook will complete
    say(`${topology}: announcing ${n} rounds (RefreshRequested)…`);
    const announceStarted = Date.now();
    let announceFailures = 0;
    for (let i = 0; i < n; i += 64) {
      await Promise.all(
        Array.from({ length: Math.min(64, n - i) }, async (_, k) => {
          const body = Buffer.from(
            JSON.stringify({ customer_id: customer(i + k), task_ids: [`task-${i + k}`] }),
          );
          const r = await client.post(
            '/refresh-requests',
            signedHeaders(`req_${i + k}`, body),
            body,
          );
          if (r.status !== 200) announceFailures++;
        }),
      );
    }
    await trackProgress({
      what: 'processors reading the requests',
      total: n - announceFailures,
      startedAt: announceStarted,
      done: () => committedOffsets(stack.admin, appId, t.requests),
    });
    say(
      `${topology}: announced in ${((Date.now() - announceStarted) / 1000).toFixed(1)} s (${announceFailures} failed)`,
    );

    // 2. the webhooks, paced: webhook i is due at start + i/rate, whatever the answers do (open loop)
    const scrapeAll = () =>
      Promise.all(services.map(({ ops }) => scrape(`${ops}/metrics`))).then((s) =>
        s.flatMap((samples) => samples ?? []),
      );
    const metricsBefore = await scrapeAll();
    const cpu = sampleCpu({
      ...Object.fromEntries(services.map(({ label, service }) => [label, service.pid])),
      bench: process.pid,
      kafka: findPid('kafka.Kafka'),
      registry: findPid('quarkus-run.jar'),
    });
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const okAt = new Map<string, number>();
    const httpMs: number[] = [];
    let failures = 0;
    const failureReasons = new Map<string, number>();
    let lateStarts = 0;
    const pending: Promise<void>[] = [];
    const started = Date.now();
    let next = 0;
    while (next < n) {
      const due = Math.min(n, Math.floor(((Date.now() - started) * rate) / 1000) + 1);
      if (due - next > rate / 50) lateStarts++;
      for (; next < due; next++) {
        const i = next;
        const body = budTaskCompleted(customer(i), `task-${i}`, 'Bank_A');
        pending.push(
          client.post('/webhooks/bud', signedHeaders(`msg_${i}`, body), body).then((r) => {
            if (i >= warm) httpMs.push(r.doneAt - r.sentAt);
            if (r.status === 200) okAt.set(customer(i), r.doneAt);
            else {
              failures++;
              const reason = r.error ?? `HTTP ${String(r.status)}`;
              failureReasons.set(reason, (failureReasons.get(reason) ?? 0) + 1);
            }
          }),
        );
      }
      await sleep(5);
    }
    const dispatchSeconds = (Date.now() - started) / 1000;
    await Promise.all(pending);
    const sendSeconds = (Date.now() - started) / 1000;
    const reasons = [...failureReasons].map(([reason, count]) => `${reason} ×${String(count)}`);
    say(
      `${topology}: sent ${n} webhooks in ${sendSeconds.toFixed(1)} s (${failures} not 200${reasons.length ? `: ${reasons.join(', ')}` : ''})`,
    );

    // 3. wait for the signals still on their way
    const drainStarted = Date.now();
    let last = -1;
    let lastChange = Date.now();
    while (arrivals.size < okAt.size && Date.now() - lastChange < drainTimeoutMs) {
      if (arrivals.size !== last) {
        last = arrivals.size;
        lastChange = Date.now();
      }
      await sleep(250);
    }
    const drainSeconds = (Date.now() - drainStarted) / 1000;
    const cpuUse = cpu.stop();
    loopDelay.disable();
    const senderLoop = {
      p99Ms: Math.round(loopDelay.percentile(99) / 1e5) / 10,
      maxMs: Math.round(loopDelay.max / 1e5) / 10,
    };
    await sleep(500); // the hops' reader: the last records
    const metricsAfter = await scrapeAll();

    const latencies: number[] = [];
    const warmupLatencies: number[] = [];
    const measuredFrom = started + warmupSeconds * 1000;
    const timed: { at: number; ms: number }[] = [];
    const hopMs: number[][] = HOPS.map(() => []);
    let missing = 0;
    const raw = hops.seen.get(t.raw);
    const events = hops.seen.get(t.events);
    const outs = hops.seen.get(t.newTx);
    for (const [c, at] of okAt) {
      const arrived = arrivals.get(c);
      if (arrived === undefined) missing++;
      else if (indexOf(c) < warm) {
        warmupLatencies.push(arrived.rx - at);
        continue;
      } else {
        latencies.push(arrived.rx - at);
        timed.push({ at: at - measuredFrom, ms: arrived.rx - at });
      }
      const r = raw?.get(c);
      const e = events?.get(c);
      const o = outs?.get(c);
      if (!r || !e || !o) continue;
      const trace = { ok: at, raw: r, event: e, signal: o };
      HOPS.forEach(([, , of], h) => hopMs[h]?.push(of(trace)));
    }
    const e2e = summarize(latencies);
    const warmup = summarize(warmupLatencies);
    const e2eBy10s = windowedP99(timed, 10_000);
    say(
      `${topology}: e2e p50 ${e2e.summary.p50} ms, p99 ${e2e.summary.p99} ms, max ${e2e.summary.max} ms, ${missing} missing`,
    );
    say(
      `  warm-up (${warmupSeconds} s, not in the figures above): p50 ${warmup.summary.p50} ms, p99 ${warmup.summary.p99} ms`,
    );
    say(
      `  p99 per 10 s after the warm-up: ${e2eBy10s.map((w) => `${w.fromS} s: ${w.p99} ms`).join(', ')}`,
    );
    const hopSummaries = Object.fromEntries(
      HOPS.map(([label], h) => [label, summarize(hopMs[h] ?? []).summary]),
    );
    for (const [label, s] of Object.entries(hopSummaries))
      say(`  ${label}: p50 ${s.p50} ms, p99 ${s.p99} ms`);
    const commits = Object.fromEntries(
      ['normalize', 'process'].map((s) => [s, commitCurve(metricsBefore, metricsAfter, s)]),
    );
    say(
      `  cpu (% of one core): ${JSON.stringify(cpuUse.processes)}; machine ${cpuUse.machinePercent.meanPercent} % of ${cpuUse.cores} cores, other processes ${cpuUse.othersPercent.meanPercent} %; sender's event loop delay p99 ${senderLoop.p99Ms} ms`,
    );
    return {
      topology,
      e2e,
      warmup,
      e2eBy10s,
      http: summarize(httpMs),
      hops: hopSummaries,
      cpu: cpuUse,
      senderLoop,
      commits,
      missing,
      failures,
      failureReasons: Object.fromEntries(failureReasons),
      announceFailures,
      lateStarts,
      dispatchSeconds,
      sendSeconds,
      drainSeconds,
    };
  } finally {
    client.close();
    const readerLoops = [await hops.stop(), await signals.stop()];
    say(
      `  readers' event loop delay p99: ${readerLoops.map((l) => `${l.loopDelayP99Ms} ms`).join(', ')}`,
    );
    await stopServices();
  }
}

function figuresOf(r: TopologyResult): Figure[] {
  const tag = r.topology === 'all' ? ' (all, 1 process)' : ' (3 processes)';
  const cpuNote = Object.entries(r.cpu.processes)
    .map(([label, use]) => `${label} ${use.meanPercent} % (max ${use.maxPercent} %)`)
    .join(', ');
  return [
    { name: `end-to-end p50${tag}`, unit: 'ms', measured: r.e2e.summary.p50 },
    {
      name: `end-to-end p99${tag}`,
      unit: 'ms',
      measured: r.e2e.summary.p99,
      target: { op: '<=', value: P99_TARGET_MS },
      note: `${rate} webhooks/s for ${seconds} s, after ${warmupSeconds} s of warm-up`,
    },
    { name: `end-to-end max${tag}`, unit: 'ms', measured: r.e2e.summary.max },
    {
      name: `end-to-end p99, worst 10 s of the run${tag}`,
      unit: 'ms',
      measured: Math.max(...r.e2eBy10s.filter((w) => w.count > 0).map((w) => w.p99)),
      note: `per 10 s after the warm-up, by the webhook's 200: ${r.e2eBy10s
        .filter((w) => w.count > 0)
        .map((w) => `${w.fromS}–${w.fromS + 10} s ${w.p99} ms (${w.count})`)
        .join(', ')}`,
    },
    {
      name: `end-to-end p99 during the warm-up${tag}`,
      unit: 'ms',
      measured: r.warmup.summary.p99,
      note: `the first ${warmupSeconds} s at ${rate} webhooks/s of services just started (p50 ${r.warmup.summary.p50} ms, max ${r.warmup.summary.max} ms, ${r.warmup.summary.count} webhooks); not in the figures above`,
    },
    ...HOPS.flatMap(([label, note]) => [
      {
        name: `hop ${label} p50${tag}`,
        unit: 'ms',
        measured: r.hops[label]?.p50 ?? Number.NaN,
        note,
      },
      { name: `hop ${label} p99${tag}`, unit: 'ms', measured: r.hops[label]?.p99 ?? Number.NaN },
    ]),
    ...Object.entries(r.commits).map(([service, c]) => ({
      name: `${service} transaction p50 / p99${tag}`,
      unit: 'ms',
      measured: c.p99,
      note: `p50 ${c.p50} ms, ${c.transactions} transactions (refreshbus_transaction_commit_duration_seconds, interpolated in its buckets)`,
    })),
    {
      name: `CPU, whole machine${tag}`,
      unit: '%',
      measured: r.cpu.machinePercent.meanPercent,
      note: `of ${r.cpu.cores} cores; per process (100 % = one core): ${cpuNote}; other work on the machine ${r.cpu.othersPercent.meanPercent} %`,
    },
    {
      name: `signals missing${tag}`,
      unit: '',
      measured: r.missing,
      target: { op: '<=', value: 0 },
    },
    {
      name: `webhooks not answered 200${tag}`,
      unit: '',
      measured: r.failures,
      target: { op: '<=', value: 0 },
      ...(r.failures > 0
        ? {
            note: Object.entries(r.failureReasons)
              .map(([reason, count]) => `${reason} ×${String(count)}`)
              .join(', '),
          }
        : {}),
    },
    {
      name: `achieved send rate${tag}`,
      unit: 'webhooks/s',
      measured: Math.round((rate * (warmupSeconds + seconds) * 10) / r.dispatchSeconds) / 10,
      note: 'webhooks dispatched / time to dispatch the last one',
    },
    {
      name: `answered rate${tag}`,
      unit: 'webhooks/s',
      measured: Math.round((rate * (warmupSeconds + seconds) * 10) / r.sendSeconds) / 10,
      note: 'webhooks / time until the last 200: below the rate when the service falls behind',
    },
    { name: `webhook HTTP p99 (request to 200)${tag}`, unit: 'ms', measured: r.http.summary.p99 },
  ];
}

await runStackStage(
  'e2e',
  'End to end: webhook 200 → signal readable (read_committed)',
  async (stack, cleanups) => {
    const results: TopologyResult[] = [];
    for (const topology of topologies) results.push(await runTopology(stack, topology, cleanups));
    return {
      settings: {
        rate: `${rate} webhooks/s`,
        duration: `${seconds} s measured (${rate * seconds} webhooks, one customer each), after a warm-up of ${warmupSeconds} s at the same rate (${rate * warmupSeconds} webhooks, reported apart)`,
        webhook: 'Bud V1 refresh Completed/success with new transactions, HMAC-signed',
        'rounds announced':
          'RefreshRequested {task_ids: [the webhook’s task]} per customer, sent and consumed before the paced phase',
        services: topologies.map((t) => `${t}: ${DESCRIBE[t]}`).join('; '),
        reader: 'kafkajs consumers, read_committed, in the bench process (with the sender)',
        partitions,
        'latency clock':
          'the bench process: from the 200 received to the record handed to eachBatch; hops from the records’ CreateTime (the writers’ clocks, same machine)',
      },
      figures: results.flatMap(figuresOf),
      baselines: [],
      charts: results.map((r) => ({
        title: `End to end at a fixed rate: webhook 200 → signal readable (${r.topology})`,
        subtitle: `${DESCRIBE[r.topology]}; ${rate} webhooks/s for ${seconds} s after ${warmupSeconds} s of warm-up; read_committed consumer; HTTP = request to 200`,
        series: [
          { label: 'webhook 200 → NewTransactionsAvailable', points: r.e2e.curve },
          { label: 'webhook request → 200 (HTTP)', points: r.http.curve },
        ],
      })),
      notes: results.map(
        (r) =>
          `${r.topology}: drain after the last webhook ${r.drainSeconds.toFixed(1)} s; sender ticks that fell behind by > 20 ms of webhooks: ${r.lateStarts}.`,
      ),
      details: Object.fromEntries(
        results.map((r) => [
          r.topology,
          {
            e2e: r.e2e.summary,
            warmup: r.warmup.summary,
            e2eBy10s: r.e2eBy10s,
            http: r.http.summary,
            hops: r.hops,
            commits: r.commits,
            cpu: r.cpu,
            senderLoop: r.senderLoop,
            announceFailures: r.announceFailures,
            missing: r.missing,
            failures: r.failures,
            dispatchSeconds: r.dispatchSeconds,
            sendSeconds: r.sendSeconds,
          },
        ]),
      ),
    };
  },
);
