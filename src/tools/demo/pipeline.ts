import type { Config } from '../../config/config.js';
import { loadConfig } from '../../config/config.js';
import { createKafka } from '../../kafka/client.js';
import type { Logger } from '../../lib/logger.js';
import type { CustomerRefreshCompleted, ReconnectAlert } from '../../processors/types.js';
import { createRegistry } from '../../registry/registry.js';
import { runTopicsOf } from '../simulate/check.js';
import type { CheckReport, Section } from '../simulate/compare.js';
import { planDay } from '../simulate/day.js';
import type { SimulationResult } from '../simulate/run.js';
import { checkProgressText, newRunId, runSimulation, sendProgressText } from '../simulate/run.js';
import type { PlaidSandbox } from '../plaid/sandbox.js';
import { startPlaidSandbox } from '../plaid/sandbox.js';
import type { Endpoints } from '../stack/local-stack.js';
import { startAll } from '../../cli/all.js';

const SECRET = 'whsec_' + Buffer.from('refreshbus-local-demo-secret').toString('base64');

/**
 * The demo's settings: the local default plus short deadlines, signed webhooks, a free port.
 * Plaid's webhooks are checked as in production (PLAID_AUTH=plaid: ES256 JWTs, keys fetched from
 * `plaid`, a local stand-in of Plaid's API); the rest with HMAC, as the simulator signs them.
 */
export function demoConfig(
  base: Config,
  endpoints: Endpoints,
  plaid: Pick<PlaidSandbox, 'url' | 'clientId' | 'secret'>,
): Config {
  return loadConfig({
    KAFKA_BROKERS: endpoints.brokers.join(','),
    SCHEMA_REGISTRY_URL: endpoints.registryUrl,
    LOG_LEVEL: 'warn',
    INGEST_PORT: '0',
    BUD_AUTH: 'hmac',
    BUD_WEBHOOK_SECRETS: SECRET,
    YODLEE_AUTH: 'ip',
    YODLEE_ALLOWED_CIDRS: '127.0.0.1/32,::1/128',
    REFRESH_REQUESTS_AUTH: 'hmac',
    REFRESH_REQUESTS_WEBHOOK_SECRETS: SECRET,
    PLAID_AUTH: 'plaid',
    PLAID_API_URL: plaid.url,
    PLAID_CLIENT_ID: plaid.clientId,
    PLAID_SECRET: plaid.secret,
    CONNECTIONS_AUTH: 'hmac',
    CONNECTIONS_WEBHOOK_SECRETS: SECRET,
    ROUND_SETTLE_MS: '2000',
    ROUND_RETRY_GRACE_MS: '10000',
    ROUND_QUIET_DEADLINE_MS: '20000',
    PROCESS_TIMER_INTERVAL_MS: '250',
    TOPIC_PARTITIONS: String(base.TOPIC_PARTITIONS),
  });
}

/** The day the demo plays: small enough to finish in seconds, with every scenario in it. */
export const DEMO_DAY = { customers: 20, seed: 7, ratePerSecond: 25 } as const;

/** Where the demo tells what it does: lines, and a progress line that is rewritten. */
export interface DemoOutput {
  say(line: string): void;
  progress(text: string): void;
  /** Ends the progress line (with `text` as its last state). */
  progressDone(text?: string): void;
}

export interface DemoResult extends SimulationResult {
  readonly runId: string;
  /** Seconds from the start until the pipeline took traffic. */
  readonly startupSeconds: number;
  readonly seconds: number;
  /** Keys the ingest fetched from the stand-in of Plaid's API to verify Plaid's signatures. */
  readonly plaidKeysFetched: number;
}

/**
 * Runs the whole pipeline (`refreshbus all`) on the given infrastructure, with a local stand-in
 * of Plaid's signing keys, plays a simulated day against it, and checks what came out against
 * the day's ledger.
 */
export async function runPipelineDemo(
  base: Config,
  endpoints: Endpoints,
  logger: Logger,
  out: DemoOutput,
  day: { customers: number; seed: number; ratePerSecond: number } = DEMO_DAY,
): Promise<DemoResult> {
  const plaid = await startPlaidSandbox();
  try {
    const result = await playDemoDay(base, endpoints, logger, out, day, plaid);
    return { ...result, plaidKeysFetched: plaid.served.keys };
  } finally {
    await plaid.close();
  }
}

/** The demo with Plaid's stand-in running: the pipeline started, the day played and checked. */
async function playDemoDay(
  base: Config,
  endpoints: Endpoints,
  logger: Logger,
  out: DemoOutput,
  day: { customers: number; seed: number; ratePerSecond: number },
  plaid: PlaidSandbox,
): Promise<Omit<DemoResult, 'plaidKeysFetched'>> {
  const started = Date.now();
  const config = demoConfig(base, endpoints, plaid);
  const runId = newRunId('demo');
  out.say(
    'pipeline: starting ingest, normalizer and processors (refreshbus all); missing topics are created, schemas registered…',
  );
  const all = await startAll(config, endpoints, logger);
  const startupSeconds = (Date.now() - started) / 1000;
  try {
    out.say(`pipeline: taking traffic at ${all.ingest.url} (${startupSeconds.toFixed(1)} s)`);
    const plan = planDay({
      runId,
      ...day,
      startTime: Date.now(),
      timing: { settleMs: config.ROUND_SETTLE_MS, retryGraceMs: config.ROUND_RETRY_GRACE_MS },
    });
    const scenarios = new Map<string, number>();
    for (const c of plan.ledger.customers)
      scenarios.set(c.scenario, (scenarios.get(c.scenario) ?? 0) + 1);
    out.say(
      `traffic: a day for ${day.customers} customers (${runId}-c…), ${plan.calls.length} calls at ${day.ratePerSecond}/s, seed ${day.seed}: ${[...scenarios].map(([s, n]) => `${s} ×${n}`).join(', ')}`,
    );
    const kafka = createKafka(
      { brokers: endpoints.brokers, clientId: `${config.KAFKA_CLIENT_ID}-demo-check` },
      logger,
    );
    const result = await runSimulation({
      plan,
      url: all.ingest.url,
      auth: config.auth,
      plaid,
      check: {
        kafka,
        registry: createRegistry(endpoints.registryUrl),
        topics: runTopicsOf(config),
        timeoutMs: 60_000,
        graceMs: 2000,
      },
      onSendProgress: (p) => {
        out.progress(`sending: ${sendProgressText(p)}`);
      },
      onSent: (sent) => {
        out.progressDone(
          `sending: ${sendProgressText(sent.progress)} in ${((sent.finishedAt - sent.startedAt) / 1000).toFixed(1)} s`,
        );
      },
      onCheckProgress: (p) => {
        out.progress(`waiting for rounds to close: ${checkProgressText(p)}`);
      },
    });
    out.progressDone();
    return { ...result, runId, startupSeconds, seconds: (Date.now() - started) / 1000 };
  } finally {
    await all.close();
  }
}

const EXAMPLES = 6;

function completionLine(c: CustomerRefreshCompleted, short: (id: string) => string): string {
  // a Plaid Item names no provider: the Item (its id starts with the customer's)
  const conns = c.connections
    .map(
      (x) =>
        `${x.provider ?? (x.connection_id === null ? '?' : short(x.connection_id))}:${x.outcome}${x.action_required === 'NONE' ? '' : `/${x.action_required}`}`,
    )
    .join(' ');
  return `${short(c.customer_id)}  ${c.close_reason.padEnd(20)}  ${conns}${c.any_new_transactions ? '  [new data]' : ''}`;
}

/** Up to `n` items, preferring ones whose `kind` was not shown yet (one example per scenario). */
function examples<T>(items: readonly T[], kind: (item: T) => string, n = EXAMPLES): T[] {
  const shown = new Set<string>();
  const first = items.filter((i) => {
    const k = kind(i);
    if (shown.has(k)) return false;
    shown.add(k);
    return true;
  });
  const rest = items.filter((i) => !first.includes(i));
  return [...first, ...rest].slice(0, n);
}

function sectionLine(name: string, s: Section): string {
  return `${name} ${s.matched}/${s.expected}`;
}

/** How the summary names a run's customers and their scenarios. */
interface Naming {
  /** A customer id without the run's prefix. */
  readonly short: (id: string) => string;
  readonly scenarioOf: ReadonlyMap<string, string>;
}

/** The line after a list of examples: how many were left out. */
const more = (total: number, shown: number) =>
  total > shown ? [`  … and ${total - shown} more`] : [];

/** What was sent and how the ingest answered. */
function sentLine(result: DemoResult): string {
  const { calls } = result.plan;
  const sent = result.sent.progress;
  const statuses = Object.entries(sent.statuses)
    .map(([s, n]) => `${n}× ${s}`)
    .join(', ');
  const retries = sent.retries ? `, ${sent.retries} retries` : '';
  const duplicates = calls.filter((c) => c.duplicateOf).length;
  const late = calls.filter((c) => c.late).length;
  return `Sent ${calls.length} calls: ${statuses}${retries} (${duplicates} duplicate deliveries, ${late} late)`;
}

/** What came out, each output with a few examples, and what was dead-lettered. */
function outputLines(result: DemoResult, { short, scenarioOf }: Naming): string[] {
  const { ledger } = result.plan;
  const observed = result.observed;
  const completions = observed?.completions ?? [];
  const signals = observed?.newTransactions ?? [];
  const alerts = observed?.alerts ?? [];
  const dlq = observed?.deadLetters ?? [];
  // one completion of each scenario that has any: the day is made to show every one
  const shownCompletions = examples(
    completions,
    (c) => scenarioOf.get(c.customer_id) ?? '',
    Math.max(EXAMPLES, new Set(ledger.customers.map((c) => c.scenario)).size),
  );
  const shownSignals = examples(signals, (s) => scenarioOf.get(s.customer_id) ?? '', 4);
  const alertKind = (a: ReconnectAlert) =>
    `${a.status} ${a.action_required}${a.reason ? ' with a reason' : ''}`;
  // one alert of each kind at least
  const shownAlerts = examples(alerts, alertKind, Math.max(5, new Set(alerts.map(alertKind)).size));
  return [
    `CustomerRefreshCompleted (${completions.length}):`,
    ...shownCompletions.map(
      (c) => `  ${completionLine(c, short)}   (${scenarioOf.get(c.customer_id) ?? '?'})`,
    ),
    ...more(completions.length, shownCompletions.length),
    '',
    `NewTransactionsAvailable (${signals.length}):`,
    ...shownSignals.map(
      (s) =>
        `  ${short(s.customer_id)} ← ${s.providers.length ? s.providers.join(', ') : '(no provider named)'}`,
    ),
    ...more(signals.length, shownSignals.length),
    '',
    `ReconnectAlert (${alerts.length}):`,
    ...shownAlerts.map((a) => `  ${alertLine(a, short)}`),
    ...more(alerts.length, shownAlerts.length),
    '',
    `Dead-lettered: ${dlq.length}${dlqCodes(dlq)} (replay with: refreshbus dlq replay)`,
  ];
}

/** An alert: whose, what it asks, of which connection, why, and (a WARNING) until when. */
function alertLine(a: ReconnectAlert, short: (id: string) => string): string {
  const reason = a.reason && a.reason.length > 60 ? `${a.reason.slice(0, 59)}…` : a.reason;
  const expires = a.expires_at === null ? '' : `  expires ${new Date(a.expires_at).toISOString()}`;
  return `${short(a.customer_id)}  ${a.status.padEnd(7)}  ${a.action_required.padEnd(18)}  ${a.provider ?? '-'}${a.connection_id ? ` / ${short(a.connection_id)}` : ''}${reason ? `  (${reason})` : ''}${expires}`;
}

/** The dead letters' codes, counted: ` — UNKNOWN_SHAPE ×1, …`, or nothing. */
function dlqCodes(dlq: readonly { code?: string | null }[]): string {
  const counts = new Map<string, number>();
  for (const d of dlq) counts.set(d.code ?? '?', (counts.get(d.code ?? '?') ?? 0) + 1);
  const list = [...counts].sort(([a], [b]) => a.localeCompare(b));
  return list.length ? ` — ${list.map(([code, n]) => `${code} ×${n}`).join(', ')}` : '';
}

/** The ledger check: its verdict and counts, then up to five of each kind of problem. */
function ledgerCheckLines(result: DemoResult, report: CheckReport): string[] {
  const sent = result.sent.progress;
  const counts = [
    sectionLine('calls stored', report.stored),
    sectionLine('events', report.events),
    sectionLine('completions', report.completions),
    sectionLine('signals', report.newTransactions),
    sectionLine('alerts', report.alerts),
    sectionLine('dead letters', report.deadLetters),
  ].join(', ');
  const sections = Object.entries({
    'calls stored': report.stored,
    events: report.events,
    completions: report.completions,
    signals: report.newTransactions,
    alerts: report.alerts,
    'dead letters': report.deadLetters,
  });
  const total = (pick: (s: Section) => readonly string[]) =>
    sections.reduce((n, [, s]) => n + pick(s).length, 0);
  const verdict = result.ok ? 'PASSED' : 'FAILED';
  const lines = [
    `Ledger check: ${verdict} — ${counts} found exactly once; ${total((s) => s.missing)} missing, ${total((s) => s.duplicated)} duplicated, ${total((s) => s.unexpected)} unexpected`,
  ];
  if (sent.accepted < result.plan.calls.length) {
    lines.push(
      `  ${result.plan.calls.length - sent.accepted} calls were not accepted by the ingest`,
    );
  }
  for (const [name, s] of sections) {
    for (const [what, list] of [
      ['missing', s.missing],
      ['duplicated', s.duplicated],
      ['unexpected', s.unexpected],
    ] as const) {
      for (const item of list.slice(0, 5)) lines.push(`  ${name}, ${what}: ${item}`);
      if (list.length > 5) lines.push(`  ${name}, ${what}: … and ${list.length - 5} more`);
    }
  }
  for (const u of report.undecodable) lines.push(`  undecodable: ${u}`);
  return lines;
}

/** The demo's summary for people: what came out, a few examples of each, and the ledger check. */
export function demoSummary(result: DemoResult): string[] {
  const { ledger } = result.plan;
  const prefix = `${result.runId}-`;
  const naming: Naming = {
    short: (id) => (id.startsWith(prefix) ? id.slice(prefix.length) : id),
    scenarioOf: new Map(ledger.customers.map((c) => [c.id, c.scenario])),
  };
  const plaidCalls = result.plan.calls.filter((c) => c.route === '/webhooks/plaid').length;
  const lines = [
    '',
    `refreshbus demo — run ${result.runId}: ${ledger.customers.length} customers, seed ${ledger.seed} (${result.seconds.toFixed(1)} s)`,
    '',
    sentLine(result),
    ...(plaidCalls
      ? [
          `  Plaid's ${plaidCalls} webhooks signed as Plaid signs them (ES256 Plaid-Verification), verified with keys the ingest fetched from a local stand-in of Plaid's API (${result.plaidKeysFetched} fetched)`,
        ]
      : []),
    '',
    ...outputLines(result, naming),
    '',
  ];
  const report = result.report;
  if (!report) return [...lines, 'Ledger check: not run'];
  return [...lines, ...ledgerCheckLines(result, report)];
}
