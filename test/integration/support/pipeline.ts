import { pino } from 'pino';
import { expect } from 'vitest';
import { startAll } from '../../../src/cli/all.js';
import type { Config } from '../../../src/config/config.js';
import { loadConfig } from '../../../src/config/config.js';
import { createKafka } from '../../../src/kafka/client.js';
import { createLogger } from '../../../src/lib/logger.js';
import { createRegistry } from '../../../src/registry/registry.js';
import type { RunTopics, StartOffsets } from '../../../src/tools/simulate/check.js';
import { RunObserver, runTopicsOf, snapshotOffsets } from '../../../src/tools/simulate/check.js';
import type { CheckReport } from '../../../src/tools/simulate/compare.js';
import type { DayPlan } from '../../../src/tools/simulate/day.js';
import { planDay } from '../../../src/tools/simulate/day.js';
import { newRunId } from '../../../src/tools/simulate/run.js';
import type { SendProgress, SendResult } from '../../../src/tools/simulate/sender.js';
import { sendCalls, signersFromAuth } from '../../../src/tools/simulate/sender.js';
import type { Endpoints } from '../../../src/tools/stack/local-stack.js';
import { isolatedNames, uniqueName } from './kafka.js';
import { HEADER } from '../../../src/contract/headers.js';

const SECRET = 'whsec_' + Buffer.from('pipeline-outage-secret').toString('base64');

/**
 * Settings of a whole pipeline (`refreshbus all`) on its own topics, groups and transactional ids,
 * signed the way the simulator signs. Round timings are long enough that an outage of some
 * seconds does not split a round: siblings held back by a 503 still join the round they belong
 * to, so the ledger (what a person expects without an outage) stays the truth.
 */
export function pipelineConfig(endpoints: Endpoints, overrides: Record<string, string> = {}) {
  return loadConfig({
    KAFKA_BROKERS: endpoints.brokers.join(','),
    SCHEMA_REGISTRY_URL: endpoints.registryUrl,
    LOG_LEVEL: 'warn',
    INGEST_PORT: '0',
    ...isolatedNames(3),
    BUD_AUTH: 'hmac',
    BUD_WEBHOOK_SECRETS: SECRET,
    YODLEE_AUTH: 'ip,secret',
    YODLEE_ALLOWED_CIDRS: '127.0.0.1/32,::1/128',
    YODLEE_SHARED_SECRET: 'a-shared-secret-for-yodlee',
    REFRESH_REQUESTS_AUTH: 'hmac',
    REFRESH_REQUESTS_WEBHOOK_SECRETS: SECRET,
    PLAID_AUTH: 'hmac',
    PLAID_WEBHOOK_SECRETS: SECRET,
    CONNECTIONS_AUTH: 'hmac',
    CONNECTIONS_WEBHOOK_SECRETS: SECRET,
    ROUND_SETTLE_MS: '30000',
    ROUND_RETRY_GRACE_MS: '45000',
    ROUND_QUIET_DEADLINE_MS: '90000',
    PROCESS_TIMER_INTERVAL_MS: '250',
    // an outage shows quickly: 503 after 1.5 s, readiness false after 8 s without progress
    // (above kafkajs's 5 s fetch wait, which an idle consumer's contact with Kafka is paced by)
    INGEST_PUBLISH_TIMEOUT_MS: '1500',
    INGEST_RETRY_AFTER_SECONDS: '1',
    READINESS_STALL_MS: '8000',
    // a member that lost the broker rejoins as a new one: the group waits out the old session
    NORMALIZE_SESSION_TIMEOUT_MS: '10000',
    PROCESS_SESSION_TIMEOUT_MS: '10000',
    ...overrides,
  });
}

export type RunningPipeline = Awaited<ReturnType<typeof startAll>>;

/** `refreshbus all` in this process; its warnings go to `logFile` when given (to debug a failure). */
export function startPipeline(
  config: Config,
  endpoints: Endpoints,
  logFile?: string,
): Promise<RunningPipeline> {
  const logger = logFile
    ? createLogger('warn', pino.destination({ dest: logFile, sync: true }))
    : createLogger('silent');
  return startAll(config, endpoints, logger);
}

/** Progress lines of a long test, with the seconds since it started (a timeout then says where). */
export function stepper(name: string) {
  const started = Date.now();
  return (what: string) => {
    console.info(`[${name} +${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);
  };
}

/** A seeded simulated day for the pipeline's timings. */
export function planTraffic(
  config: Config,
  options: { customers: number; rate: number; seed: number },
) {
  return planDay({
    runId: newRunId('outage'),
    seed: options.seed,
    customers: options.customers,
    startTime: Date.now(),
    ratePerSecond: options.rate,
    timing: { settleMs: config.ROUND_SETTLE_MS, retryGraceMs: config.ROUND_RETRY_GRACE_MS },
  });
}

/**
 * Sends the day's calls in the background, retrying like an aggregator for long enough to outlast
 * the outage. `progress()` is the latest count.
 */
export function startTraffic(plan: DayPlan, config: Config, url: string) {
  let latest: SendProgress | undefined;
  const done: Promise<SendResult> = sendCalls(plan.calls, {
    url,
    signers: signersFromAuth(
      config.auth,
      plan.calls.map((c) => c.route),
    ),
    concurrency: 32,
    attempts: 60,
    backoffMs: 250,
    maxBackoffMs: 2000,
    requestTimeoutMs: 15_000,
    onProgress: (p) => (latest = p),
  });
  return { done, progress: () => latest };
}

/**
 * Answers the ingest gave so far on its webhook and request routes (or only those of `sources`:
 * `bud`, `yodlee`, `refresh-requests`), by status, from its `refreshbus_ingest_requests_total`
 * counter: every answer counts, retries included.
 */
export async function ingestAnswers(
  url: string,
  sources?: readonly string[],
): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^refreshbus_ingest_requests_total\{([^}]*)\} (\d+)/.exec(line);
    if (!m) continue;
    const labels = new Map<string, string>();
    for (const l of (m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels.set(l[1] ?? '', l[2] ?? '');
    const source = labels.get('source') ?? '';
    if (source === 'ops' || source === 'other') continue;
    if (sources && !sources.includes(source)) continue;
    const status = labels.get('status') ?? '?';
    counts.set(status, (counts.get(status) ?? 0) + Number(m[2]));
  }
  return counts;
}

/** Answers given between two readings of {@link ingestAnswers}, by status. */
export function answersBetween(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [status, n] of after) {
    const d = n - (before.get(status) ?? 0);
    if (d > 0) out[status] = d;
  }
  return out;
}

export async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function readyzStatus(url: string): Promise<number> {
  return (await fetch(`${url}/readyz`)).status;
}

/** The topics' start offsets, taken before any traffic: the check reads the run's records only. */
export function startOffsets(endpoints: Endpoints, config: Config): Promise<StartOffsets> {
  const kafka = createKafka(
    { brokers: endpoints.brokers, clientId: 'outage-check' },
    createLogger('silent'),
  );
  return snapshotOffsets(kafka, runTopicsOf(config));
}

/**
 * The ledger check, once the pipeline is whole again: reads every output topic read_committed
 * from `from` (a fresh reader, so nothing an outage did to a reader can double what it saw).
 */
export async function checkLedger(options: {
  endpoints: Endpoints;
  topics: RunTopics;
  from: StartOffsets;
  plan: DayPlan;
  sent: SendResult;
  timeoutMs: number;
}): Promise<CheckReport> {
  const observer = await RunObserver.start({
    kafka: createKafka(
      { brokers: options.endpoints.brokers, clientId: 'outage-check' },
      createLogger('silent'),
    ),
    registry: createRegistry(options.endpoints.registryUrl),
    topics: options.topics,
    from: options.from,
    customerPrefix: `${options.plan.ledger.runId}-`,
  });
  try {
    return await observer.waitFor(options.plan.ledger, options.sent.deliveries, {
      timeoutMs: options.timeoutMs,
      graceMs: 3000,
    });
  } finally {
    await observer.stop();
  }
}

/**
 * Every call answered 2xx in the end; every 2xx on the raw or requests topic once; every expected
 * event, completion, signal, alert and dead letter exactly once, nothing else.
 */
export function expectLedgerHolds(plan: DayPlan, sent: SendResult, report: CheckReport): void {
  const unanswered = sent.deliveries.filter((d) => d.acknowledgedAt === null);
  expect(unanswered).toEqual([]);
  expect(report.undecodable).toEqual([]);
  const sections = {
    stored: report.stored,
    events: report.events,
    completions: report.completions,
    newTransactions: report.newTransactions,
    alerts: report.alerts,
    deadLetters: report.deadLetters,
  };
  for (const [name, s] of Object.entries(sections)) {
    expect({
      name,
      missing: s.missing,
      duplicated: s.duplicated,
      unexpected: s.unexpected,
    }).toEqual({ name, missing: [], duplicated: [], unexpected: [] });
    expect({ name, matched: s.matched }).toEqual({ name, matched: s.expected });
  }
  expect(report.stored.matched).toBe(plan.calls.length);
  expect(report.completions.matched).toBe(plan.ledger.completions.length);
  expect(report.ok).toBe(true);
}

/** The run in numbers, for the log and docs/reliability.md. */
export function figures(plan: DayPlan, sent: SendResult, report: CheckReport) {
  return {
    calls: plan.calls.length,
    accepted: sent.progress.accepted,
    retries: sent.progress.retries,
    events: report.events.matched,
    completions: report.completions.matched,
    newTransactions: report.newTransactions.matched,
    alerts: report.alerts.matched,
    deadLetters: report.deadLetters.matched,
    lost:
      report.stored.missing.length +
      report.events.missing.length +
      report.completions.missing.length +
      report.newTransactions.missing.length +
      report.alerts.missing.length,
    duplicated:
      report.stored.duplicated.length +
      report.events.duplicated.length +
      report.completions.duplicated.length +
      report.newTransactions.duplicated.length +
      report.alerts.duplicated.length,
    unacknowledgedCopies: report.unacknowledgedCopies,
    plaidRepeats: report.plaidRepeats,
  };
}

/**
 * When the check misses events, says for each missing webhook where it got to: its raw record
 * (partition/offset), the normalizer group's committed offset there, and any record for it on the
 * events topic read uncommitted. "Committed past it, no event" is a loss; "not committed past it"
 * a stalled partition; an event read uncommitted only is in a transaction left open or aborted
 * (a retried chunk's aborted copy is harmless; the check's read_committed reader did not see it).
 */
export async function explainMissingEvents(
  endpoints: Endpoints,
  config: Config,
  report: CheckReport,
): Promise<string[]> {
  const missing = new Set(
    report.events.missing.flatMap((label) => /\(ingest ([^)]+)\)/.exec(label)?.[1] ?? []),
  );
  if (missing.size === 0) return [];
  const kafka = createKafka(
    { brokers: endpoints.brokers, clientId: 'outage-explain' },
    createLogger('silent'),
  );
  const raw = config.TOPIC_WEBHOOKS_RAW;
  const events = config.TOPIC_REFRESH_EVENTS;
  const admin = kafka.admin();
  await admin.connect();
  const consumer = kafka.consumer({ groupId: uniqueName('explain'), readUncommitted: true });
  const found = new Map<string, string[]>();
  try {
    const ends = new Map<string, bigint>();
    for (const topic of [raw, events])
      for (const p of await admin.fetchTopicOffsets(topic))
        ends.set(`${topic}/${String(p.partition)}`, BigInt(p.high));
    const read = new Map<string, bigint>();
    await consumer.connect();
    await consumer.subscribe({ topics: [raw, events], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ topic, partition, message }) => {
        read.set(`${topic}/${String(partition)}`, BigInt(message.offset) + 1n);
        const id = message.headers?.[HEADER.ingestId]?.toString();
        if (id && missing.has(id)) {
          const list = found.get(id) ?? [];
          list.push(
            `${topic === raw ? 'raw' : 'event (read_uncommitted: committed, open or aborted)'} ${String(partition)}/${message.offset}`,
          );
          found.set(id, list);
        }
        return Promise.resolve();
      },
    });
    // every partition read to its end (transaction markers leave the last offsets unread)
    await until('the raw and events topics to be read', 30_000, () =>
      [...ends].every(([at, end]) => (read.get(at) ?? 0n) >= end - 1n || end === 0n)
        ? true
        : undefined,
    ).catch(() => undefined);
    const committed = new Map<number, string>();
    for (const p of (
      await admin.fetchOffsets({ groupId: config.NORMALIZE_GROUP_ID, topics: [raw] })
    )[0]?.partitions ?? [])
      committed.set(p.partition, p.offset);
    const ends0 = [...ends].map(
      ([at, end]) => `${at}: end ${String(end)}, read ${String(read.get(at) ?? 0n)}`,
    );
    return [
      ...[...missing].map((id) => {
        const places = found.get(id) ?? [];
        const rawAt = places.find((p) => p.startsWith('raw '));
        const partition = rawAt ? Number(rawAt.slice(4).split('/')[0]) : undefined;
        const at =
          partition === undefined
            ? ''
            : `; normalizer committed ${String(partition)} at ${committed.get(partition) ?? '?'}`;
        return `ingest ${id}: ${places.join(', ') || 'nowhere'}${at}`;
      }),
      ...ends0,
    ];
  } finally {
    await consumer.disconnect();
    await admin.disconnect();
  }
}

/** One outage test's simulated day: the pipeline, its traffic, and how the day is checked. */
export interface OutageDay {
  readonly step: (what: string) => void;
  readonly config: Config;
  readonly pipeline: RunningPipeline;
  /** The ingest's base URL. */
  readonly url: string;
  readonly plan: DayPlan;
  readonly traffic: ReturnType<typeof startTraffic>;
  /** Waits for every call's answer, then reads the outputs and compares them with the ledger. */
  finish(): Promise<{ sent: SendResult; report: CheckReport }>;
}

/**
 * What every outage test does around its outage: `refreshbus all` on names of its own, a day of
 * 40 customers at 15 calls/s sent with an aggregator's retries, returned once a third of the calls
 * were accepted (mid-run: the outage then meets traffic both ways). `beforeTraffic` runs once the
 * pipeline is up (checks of the deployment); the test then brings its outage and calls `finish`.
 */
export async function startOutageDay(
  resources: { track<T>(value: T, close: (v: T) => Promise<unknown>): T },
  options: {
    readonly name: string;
    readonly endpoints: Endpoints;
    readonly seed: number;
    readonly overrides?: Record<string, string>;
    /** The pipeline's warnings go there (PIPELINE_LOG=<file>, to debug a failure). */
    readonly logFile?: string;
    readonly beforeTraffic?: (config: Config) => Promise<void>;
    /** Runs once the config is known, before the pipeline starts (topics made ready, say). */
    readonly beforePipeline?: (config: Config) => Promise<void>;
  },
): Promise<OutageDay> {
  const { endpoints } = options;
  const step = stepper(options.name);
  const config = pipelineConfig(endpoints, options.overrides);
  await options.beforePipeline?.(config);
  const pipeline = resources.track(await startPipeline(config, endpoints, options.logFile), (p) =>
    p.close(),
  );
  await options.beforeTraffic?.(config);
  const url = pipeline.ingest.url;
  const from = await startOffsets(endpoints, config);
  const plan = planTraffic(config, { customers: 40, rate: 15, seed: options.seed });
  const traffic = startTraffic(plan, config, url);
  await until('a third of the calls to be accepted', 60_000, () =>
    (traffic.progress()?.accepted ?? 0) >= plan.calls.length / 3 ? true : undefined,
  );
  return {
    step,
    config,
    pipeline,
    url,
    plan,
    traffic,
    async finish() {
      const sent = await traffic.done;
      step('all calls answered');
      const report = await checkLedger({
        endpoints,
        topics: runTopicsOf(config),
        from,
        plan,
        sent,
        timeoutMs: 90_000,
      });
      step('checked');
      return { sent, report };
    },
  };
}
