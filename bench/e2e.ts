/**
 * End-to-end benchmark: `refreshbus all` (ingest + normalizer + processors, one process) fed at a
 * fixed 1,000 signed webhooks/s; for each webhook, the time from its 200 to the customer's
 * NewTransactionsAvailable being readable by a read_committed consumer. Every customer's round
 * was announced beforehand by a RefreshRequested for exactly that task, so the round closes as
 * soon as the webhook's event is processed (REQUESTED_TASKS_DONE) — no round deadline involved.
 *
 *   npm run bench:e2e [-- --quick] [--rate=1000] [--seconds=60]
 */
import { budTaskCompleted, signedHeaders, BENCH_SECRET } from './lib/bodies.js';
import { checkBuild, startRefreshbus, waitForHttp } from './lib/child.js';
import { createClient } from './lib/http-client.js';
import { freePort } from './lib/net.js';
import { numberOption, say, sleep } from './lib/options.js';
import { trackProgress } from './lib/progress.js';
import { committedOffsets, createTopics, openBenchStack } from './lib/stack.js';
import { runStage } from './lib/stage.js';
import { summarize } from './lib/stats.js';

const rate = numberOption('rate', 1000, 1000);
const seconds = numberOption('seconds', 10, 60);
const partitions = numberOption('partitions', 6, 6);
const drainTimeoutMs = numberOption('drain-timeout-ms', 60_000, 120_000);
const P99_TARGET_MS = 500;

await runStage(
  'e2e',
  'End to end: webhook 200 → signal readable (read_committed)',
  async (cleanups) => {
    checkBuild();
    const stack = await openBenchStack('e2e');
    cleanups.push(() => stack.close());
    const t = {
      raw: stack.name('raw'),
      requests: stack.name('requests'),
      events: stack.name('events'),
      dlq: stack.name('dlq'),
      completed: stack.name('completed'),
      newTx: stack.name('newtx'),
      alerts: stack.name('alerts'),
    };
    await createTopics(stack.admin, Object.values(t), partitions);
    const appId = stack.name('processors');
    const port = await freePort();
    const service = startRefreshbus('all', {
      ...stack.env,
      INGEST_PORT: String(port),
      NORMALIZE_OPS_PORT: String(await freePort()),
      PROCESS_OPS_PORT: String(await freePort()),
      TOPIC_WEBHOOKS_RAW: t.raw,
      TOPIC_REFRESH_REQUESTS: t.requests,
      TOPIC_REFRESH_EVENTS: t.events,
      TOPIC_REFRESH_DLQ: t.dlq,
      TOPIC_CUSTOMER_COMPLETED: t.completed,
      TOPIC_CUSTOMER_NEW_TRANSACTIONS: t.newTx,
      TOPIC_CUSTOMER_ALERTS: t.alerts,
      TOPIC_PARTITIONS: String(partitions),
      NORMALIZE_GROUP_ID: stack.name('normalizer'),
      NORMALIZE_TRANSACTIONAL_ID_PREFIX: stack.name('normalizer'),
      PROCESS_APPLICATION_ID: appId,
      BUD_AUTH: 'hmac',
      BUD_WEBHOOK_SECRETS: BENCH_SECRET,
      YODLEE_AUTH: 'hmac',
      YODLEE_WEBHOOK_SECRETS: BENCH_SECRET,
      REFRESH_REQUESTS_AUTH: 'hmac',
      REFRESH_REQUESTS_WEBHOOK_SECRETS: BENCH_SECRET,
    });
    cleanups.push(() => service.stop(10_000));
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/readyz`, 120_000, service);
    const client = createClient(url, 256);
    cleanups.push(() => {
      client.close();
      return Promise.resolve();
    });
    const n = Math.round(rate * seconds);
    const customer = (i: number) => `e2e-${i}`;

    // the reader: first arrival of each customer's signal, read_committed (kafkajs' default)
    const arrivals = new Map<string, number>();
    const consumer = stack.kafka.consumer({ groupId: stack.name('reader') });
    await consumer.connect();
    await consumer.subscribe({ topic: t.newTx, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const now = Date.now();
        for (const m of batch.messages) {
          const key = m.key?.toString();
          if (key !== undefined && !arrivals.has(key)) arrivals.set(key, now);
        }
        await Promise.resolve();
      },
    });
    cleanups.push(() => consumer.disconnect());

    // 1. announce every round: RefreshRequested for the one task its webhook will complete
    say(`announcing ${n} rounds (RefreshRequested)…`);
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
      `announced in ${((Date.now() - announceStarted) / 1000).toFixed(1)} s (${announceFailures} failed)`,
    );

    // 2. the webhooks, paced: webhook i is due at start + i/rate, whatever the answers do (open loop)
    const okAt = new Map<string, number>();
    const httpMs: number[] = [];
    let failures = 0;
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
            httpMs.push(r.doneAt - r.sentAt);
            if (r.status === 200) okAt.set(customer(i), r.doneAt);
            else failures++;
          }),
        );
      }
      await sleep(5);
    }
    const dispatchSeconds = (Date.now() - started) / 1000;
    await Promise.all(pending);
    const sendSeconds = (Date.now() - started) / 1000;
    say(`sent ${n} webhooks in ${sendSeconds.toFixed(1)} s (${failures} not 200)`);

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
    const latencies: number[] = [];
    let missing = 0;
    for (const [c, at] of okAt) {
      const arrived = arrivals.get(c);
      if (arrived === undefined) missing++;
      else latencies.push(arrived - at);
    }
    const e2e = summarize(latencies);
    const http = summarize(httpMs);
    say(
      `e2e: p50 ${e2e.summary.p50} ms, p99 ${e2e.summary.p99} ms, max ${e2e.summary.max} ms, ${missing} missing`,
    );
    return {
      settings: {
        rate: `${rate} webhooks/s`,
        duration: `${seconds} s (${n} webhooks, one customer each)`,
        webhook: 'Bud V1 refresh Completed/success with new transactions, HMAC-signed',
        'rounds announced':
          'RefreshRequested {task_ids: [the webhook’s task]} per customer, sent and consumed before the paced phase',
        service: 'node bin/refreshbus.js all (ingest + normalizer + processors in one process)',
        reader: 'kafkajs consumer, read_committed, in the bench process (with the sender)',
        partitions,
        'latency clock':
          'the bench process: from the 200 received to the record handed to eachBatch',
      },
      figures: [
        { name: 'end-to-end p50', unit: 'ms', measured: e2e.summary.p50 },
        {
          name: 'end-to-end p99',
          unit: 'ms',
          measured: e2e.summary.p99,
          target: { op: '<=', value: P99_TARGET_MS },
          note: `${rate} webhooks/s for ${seconds} s`,
        },
        { name: 'end-to-end max', unit: 'ms', measured: e2e.summary.max },
        { name: 'signals missing', unit: '', measured: missing, target: { op: '<=', value: 0 } },
        {
          name: 'webhooks not answered 200',
          unit: '',
          measured: failures,
          target: { op: '<=', value: 0 },
        },
        {
          name: 'achieved send rate',
          unit: 'webhooks/s',
          measured: Math.round((n / dispatchSeconds) * 10) / 10,
          note: 'webhooks dispatched / time to dispatch the last one',
        },
        {
          name: 'answered rate',
          unit: 'webhooks/s',
          measured: Math.round((n / sendSeconds) * 10) / 10,
          note: 'webhooks / time until the last 200: below the rate when the service falls behind',
        },
        { name: 'webhook HTTP p99 (request to 200)', unit: 'ms', measured: http.summary.p99 },
      ],
      baselines: [],
      charts: [
        {
          title: 'End to end at a fixed rate: webhook 200 → signal readable',
          subtitle: `${rate} webhooks/s for ${seconds} s; read_committed consumer; HTTP = request to 200`,
          series: [
            { label: 'webhook 200 → NewTransactionsAvailable', points: e2e.curve },
            { label: 'webhook request → 200 (HTTP)', points: http.curve },
          ],
        },
      ],
      notes: [
        `Drain after the last webhook: ${((Date.now() - drainStarted) / 1000).toFixed(1)} s; sender ticks that fell behind by > 20 ms of webhooks: ${lateStarts}.`,
      ],
      details: {
        e2e: e2e.summary,
        http: http.summary,
        announceFailures,
        missing,
        failures,
        dispatchSeconds,
        sendSeconds,
      },
    };
  },
);
