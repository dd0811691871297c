import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { DEMO_DAY, demoSummary, runPipelineDemo } from '../../src/tools/demo/pipeline.js';
import { createLogger } from '../../src/lib/logger.js';
import { brokers, registryUrl } from './support/kafka.js';

/** Each distinct message of a pipeline log (with its component and error), counted, in order. */
function logSummary(file: string): string {
  const counts = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const j = JSON.parse(line) as { component?: string; msg?: string; err?: { message?: string } };
    const key = `${j.component ?? '-'} | ${j.msg ?? ''}${j.err?.message ? ` | ${j.err.message.slice(0, 160)}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${String(n)}× ${k}`).join('\n');
}

describe('the demo (README Quick start)', () => {
  it(
    'runs the whole pipeline on a simulated day and finds every output the ledger expects, exactly once',
    { timeout: 180_000 },
    async () => {
      const endpoints = { brokers: brokers(), registryUrl: registryUrl() };
      const lines: string[] = [];
      // the pipeline's log (info) goes to DEMO_LOG or a temporary file; a failure prints a summary
      const log =
        process.env.DEMO_LOG ?? path.join(mkdtempSync(path.join(os.tmpdir(), 'demo-')), 'log');
      const logger = createLogger('info', pino.destination({ dest: log, sync: true }));
      const result = await runPipelineDemo(loadConfig({}), endpoints, logger, {
        say: (l) => lines.push(l),
        progress: () => undefined,
        progressDone: (l) => {
          if (l) lines.push(l);
        },
      });
      const { ledger, calls } = result.plan;
      expect(ledger.customers).toHaveLength(DEMO_DAY.customers);
      expect(result.sent.progress.statuses).toEqual({ '200': calls.length });
      expect(lines.join('\n')).toMatch(new RegExp(`sending: ${calls.length}/${calls.length} sent`));

      const report = result.report;
      // on failure, say what the check found wrong
      const sections = [
        'stored',
        'events',
        'completions',
        'newTransactions',
        'alerts',
        'deadLetters',
      ] as const;
      const wrong = sections
        .map((name) => ({ name, ...report?.[name] }))
        .filter((s) => s.missing?.length || s.duplicated?.length || s.unexpected?.length);
      if (!report?.ok) console.error(`demo log (${log}):\n${logSummary(log)}`);
      expect(report?.ok, JSON.stringify({ wrong, undecodable: report?.undecodable })).toBe(true);
      expect(report?.stored.matched).toBe(calls.length);
      expect(report?.events.matched).toBe(
        calls.reduce(
          (n, c) =>
            n + (ledger.events[c.id]?.length ?? 0) + (ledger.deliveryEvents?.[c.id]?.length ?? 0),
          0,
        ),
      );
      expect(report?.completions.matched).toBe(ledger.completions.length);
      expect(report?.newTransactions.matched).toBe(ledger.newTransactions.length);
      expect(report?.alerts.matched).toBe(ledger.alerts.length);
      expect(report?.deadLetters.matched).toBe(ledger.deadLetters.length);
      // exactly: what was read for the run is what the ledger expects, nothing more
      expect(result.observed?.completions).toHaveLength(ledger.completions.length);
      expect(result.observed?.newTransactions).toHaveLength(ledger.newTransactions.length);
      expect(result.observed?.alerts).toHaveLength(ledger.alerts.length);
      expect(result.observed?.deadLetters).toHaveLength(ledger.deadLetters.length);
      expect(result.ok).toBe(true);

      const summary = demoSummary(result).join('\n');
      expect(summary).toContain(`CustomerRefreshCompleted (${ledger.completions.length}):`);
      expect(summary).toContain(`ReconnectAlert (${ledger.alerts.length}):`);
      expect(summary).toMatch(/REQUESTED_TASKS_DONE/);
      expect(summary).toMatch(/RAISED +UPDATE_CREDENTIALS/);
      expect(summary).toMatch(/CLEARED +NONE/);
      expect(summary).toMatch(/Ledger check: PASSED .* 0 missing, 0 duplicated, 0 unexpected/);
      // Plaid: signed and verified as in production (ES256, keys from the stand-in of Plaid's
      // API), Items registered, a warning with its expiry, an unregistered Item dead-lettered
      expect(calls.filter((c) => c.route === '/connections/plaid').length).toBeGreaterThan(0);
      expect(result.plaidKeysFetched).toBeGreaterThanOrEqual(1);
      expect(summary).toMatch(/Plaid's \d+ webhooks signed .*\(\d+ fetched\)/);
      expect(summary).toMatch(/WARNING +RECONNECT_SOON .* expires \d{4}-/);
      expect(summary).toMatch(/Dead-lettered: \d+ — .*UNREGISTERED_CONNECTION ×1/);
    },
  );
});
