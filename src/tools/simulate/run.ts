import { randomBytes } from 'node:crypto';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Kafka } from 'kafkajs';
import type { Config } from '../../config/config.js';
import type { CheckProgress, RunTopics } from './check.js';
import { RunObserver, snapshotOffsets } from './check.js';
import type { CheckReport, Observed, Section } from './compare.js';
import type { DayPlan } from './day.js';
import type { SendOptions, SendProgress, SendResult, SignerOptions } from './sender.js';
import { sendCalls, signersFromAuth } from './sender.js';

export interface SimulationOptions {
  readonly plan: DayPlan;
  /** The ingest's base URL. */
  readonly url: string;
  /** The ingest's authentication settings (`config.auth`): how each route is signed. */
  readonly auth: Config['auth'];
  /**
   * Signs Plaid webhooks as Plaid does, where PLAID_AUTH includes `plaid`: a sandbox whose key
   * server the ingest fetches keys from (the demo's, the tests').
   */
  readonly plaid?: SignerOptions['plaid'];
  readonly tuning?: Pick<
    SendOptions,
    'concurrency' | 'attempts' | 'backoffMs' | 'maxBackoffMs' | 'requestTimeoutMs'
  >;
  /** Check the run's outputs against its ledger, on the Kafka and registry the pipeline uses. */
  readonly check?: {
    readonly kafka: Kafka;
    readonly registry: Pick<SchemaRegistry, 'decode'>;
    readonly topics: RunTopics;
    /** Longest wait for everything expected, after sending. */
    readonly timeoutMs: number;
    /** Extra wait once nothing is missing, for late duplicates or extras to show. */
    readonly graceMs: number;
  };
  readonly signal?: AbortSignal;
  readonly onSendProgress?: (progress: SendProgress) => void;
  /** Once every call is answered, before the wait for outputs. */
  readonly onSent?: (sent: SendResult) => void;
  readonly onCheckProgress?: (progress: CheckProgress) => void;
}

export interface SimulationResult {
  readonly plan: DayPlan;
  readonly sent: SendResult;
  readonly report: CheckReport | undefined;
  /** What the check read from the topics (the run's records only). */
  readonly observed: Observed | undefined;
  /** Every call answered 2xx and, when checked, the check passed. */
  readonly ok: boolean;
}

/**
 * Plays a planned day against an ingest and, when asked, checks what came out against the
 * ledger. The reusable core of `refreshbus simulate` and `refreshbus demo`.
 */
export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const { plan, check } = options;
  const signers = signersFromAuth(
    options.auth,
    plan.calls.map((c) => c.route),
    options.plaid ? { plaid: options.plaid } : {},
  );
  let observer: RunObserver | undefined;
  if (check) {
    const from = await snapshotOffsets(check.kafka, check.topics);
    observer = await RunObserver.start({
      kafka: check.kafka,
      registry: check.registry,
      topics: check.topics,
      from,
      customerPrefix: `${plan.ledger.runId}-`,
    });
  }
  try {
    const sent = await sendCalls(plan.calls, {
      ...options.tuning,
      url: options.url,
      signers,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onSendProgress ? { onProgress: options.onSendProgress } : {}),
    });
    options.onSent?.(sent);
    const report =
      observer && check
        ? await observer.waitFor(plan.ledger, sent.deliveries, {
            timeoutMs: check.timeoutMs,
            graceMs: check.graceMs,
            ...(options.onCheckProgress ? { onProgress: options.onCheckProgress } : {}),
          })
        : undefined;
    const allAccepted = sent.progress.accepted === plan.calls.length;
    return {
      plan,
      sent,
      report,
      observed: observer?.observed(),
      ok: allAccepted && (report?.ok ?? true),
    };
  } finally {
    await observer?.stop();
  }
}

/** A run id no earlier run used: a prefix, the time, and a little randomness for runs in the same second. */
export function newRunId(prefix: string): string {
  const time = new Date()
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(0, 14);
  return `${prefix}-${time}-${randomBytes(2).toString('hex')}`;
}

const EXAMPLES = 5;

function sectionSummary(s: Section) {
  const first = (list: readonly string[]) =>
    list.length > EXAMPLES
      ? [...list.slice(0, EXAMPLES), `… and ${list.length - EXAMPLES} more`]
      : list;
  return {
    expected: s.expected,
    found: s.found,
    matched: s.matched,
    missing: s.missing.length,
    duplicated: s.duplicated.length,
    unexpected: s.unexpected.length,
    ...(s.missing.length ? { missingExamples: first(s.missing) } : {}),
    ...(s.duplicated.length ? { duplicatedExamples: first(s.duplicated) } : {}),
    ...(s.unexpected.length ? { unexpectedExamples: first(s.unexpected) } : {}),
  };
}

/** One line of check progress: found of expected, per kind. */
export function checkProgressText(p: CheckProgress): string {
  const part = (name: string, x: { matched: number; expected: number }) =>
    `${name} ${x.matched}/${x.expected}`;
  return [
    part('completions', p.completions),
    part('new-transactions', p.newTransactions),
    part('alerts', p.alerts),
    part('dead letters', p.deadLetters),
    part('events', p.events),
  ].join(', ');
}

/** One line of send progress. */
export function sendProgressText(p: SendProgress): string {
  const statuses = Object.entries(p.statuses)
    .map(([s, n]) => `${n}× ${s}`)
    .join(', ');
  return `${p.sent}/${p.total} sent, ${p.answered} answered${statuses ? ` (${statuses})` : ''}${p.retries ? `, ${p.retries} retries` : ''}${p.lagMs > 1000 ? `, ${(p.lagMs / 1000).toFixed(1)} s behind plan` : ''}`;
}

/** The run in numbers, as `refreshbus simulate` prints it (JSON). */
export function summarizeSimulation(result: SimulationResult) {
  const { ledger, calls } = result.plan;
  const scenarios: Record<string, number> = {};
  for (const c of ledger.customers) scenarios[c.scenario] = (scenarios[c.scenario] ?? 0) + 1;
  const { progress, startedAt, finishedAt, deliveries } = result.sent;
  const failures = deliveries.filter((d) => d.acknowledgedAt === null);
  const latencies = deliveries
    .flatMap((d) =>
      d.acknowledgedAt !== null && d.firstSentAt !== null ? [d.acknowledgedAt - d.firstSentAt] : [],
    )
    .sort((a, b) => a - b);
  const percentile = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? null;
  const report = result.report;
  return {
    ok: result.ok,
    runId: ledger.runId,
    seed: ledger.seed,
    customers: ledger.customers.length,
    calls: calls.length,
    scenarios,
    duplicates: calls.filter((c) => c.duplicateOf !== undefined).length,
    lateDeliveries: calls.filter((c) => c.late).length,
    send: {
      durationMs: finishedAt - startedAt,
      accepted: progress.accepted,
      statuses: progress.statuses,
      retries: progress.retries,
      /** First attempt to 2xx, retries included. */
      answerMs: { p50: percentile(0.5), p99: percentile(0.99), max: latencies.at(-1) ?? null },
      maxLagMs: progress.maxLagMs,
      ...(failures.length
        ? {
            failedExamples: failures
              .slice(0, EXAMPLES)
              .map((d) =>
                `${d.callId} ${d.route}: ${d.status ?? 'no answer'} ${d.error ?? ''}`.trim(),
              ),
          }
        : {}),
    },
    expected: {
      events: [
        ...Object.values(ledger.events),
        ...Object.values(ledger.deliveryEvents ?? {}),
      ].reduce((n, list) => n + list.length, 0),
      completions: ledger.completions.length,
      newTransactions: ledger.newTransactions.length,
      alerts: ledger.alerts.length,
      deadLetters: ledger.deadLetters.length,
    },
    ...(report
      ? {
          check: {
            ok: report.ok,
            stored: sectionSummary(report.stored),
            events: sectionSummary(report.events),
            completions: sectionSummary(report.completions),
            newTransactions: sectionSummary(report.newTransactions),
            alerts: sectionSummary(report.alerts),
            deadLetters: sectionSummary(report.deadLetters),
            unacknowledgedCopies: report.unacknowledgedCopies,
            plaidRepeats: report.plaidRepeats,
            ...(report.undecodable.length ? { undecodable: report.undecodable } : {}),
          },
        }
      : {}),
  };
}
