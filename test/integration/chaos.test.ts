import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createKafka } from '../../src/kafka/client.js';
import { ensureTopics, topicDefinitions } from '../../src/kafka/topics.js';
import { createLogger } from '../../src/lib/logger.js';
import { createRegistry } from '../../src/registry/registry.js';
import { runTopicsOf } from '../../src/tools/simulate/check.js';
import { planDay } from '../../src/tools/simulate/day.js';
import { Random } from '../../src/tools/simulate/random.js';
import { newRunId, runSimulation } from '../../src/tools/simulate/run.js';
import { Fleet, freePort } from './support/fleet.js';
import type { ServiceKind } from './support/fleet.js';
import { brokers, isolatedNames, registryUrl } from './support/kafka.js';

/**
 * The crash test: the whole pipeline as separate processes (ingest, 2 normalizers, 2 processors),
 * driven by the simulator while services are killed with SIGKILL at random moments and started
 * again, and a third processor joins and leaves; then the simulator's ledger is checked.
 *
 * Short mode runs inside `npm test`; `npm run test:chaos` runs the long mode (CHAOS_MODE=long).
 */
const LONG = process.env.CHAOS_MODE === 'long';
const MODE = LONG
  ? { customers: 400, ratePerSecond: 12, killEveryMs: [2000, 5000], seed: 20261123 }
  : { customers: 50, ratePerSecond: 6, killEveryMs: [1000, 2500], seed: 7 };
const MIN_KILLS = LONG ? 30 : 10;
const SECRET = 'whsec_' + Buffer.from('refreshbus-chaos-test-secret').toString('base64');

const fleet: { current?: Fleet } = {};
afterAll(async () => {
  await fleet.current?.killAll();
});

async function until(what: string, timeoutMs: number, probe: () => Promise<boolean>) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('chaos: SIGKILLs across the pipeline while the simulator plays a day', () => {
  it(
    `${LONG ? 'long' : 'short'} mode: every 2xx stored, every event, completion, signal, alert and dead letter exactly once`,
    { timeout: LONG ? 1_800_000 : 300_000 },
    async () => {
      const ingestPort = await freePort();
      const env: Record<string, string> = {
        KAFKA_BROKERS: brokers().join(','),
        SCHEMA_REGISTRY_URL: registryUrl(),
        LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'warn',
        ...isolatedNames(6),
        // a killed member holds its partitions this long
        NORMALIZE_SESSION_TIMEOUT_MS: '6000',
        PROCESS_SESSION_TIMEOUT_MS: '6000',
        NORMALIZE_OPS_PORT: '0',
        PROCESS_OPS_PORT: '0',
        INGEST_PORT: String(ingestPort),
        BUD_AUTH: 'hmac',
        BUD_WEBHOOK_SECRETS: SECRET,
        YODLEE_AUTH: 'ip',
        YODLEE_ALLOWED_CIDRS: '127.0.0.1/32,::1/128',
        REFRESH_REQUESTS_AUTH: 'hmac',
        REFRESH_REQUESTS_WEBHOOK_SECRETS: SECRET,
        PLAID_AUTH: 'hmac',
        PLAID_WEBHOOK_SECRETS: SECRET,
        CONNECTIONS_AUTH: 'hmac',
        CONNECTIONS_WEBHOOK_SECRETS: SECRET,
        // round deadlines well above what kills hold a partition up (session timeout + restart +
        // restore; back-to-back kills of both normalizers add up), so a kill delays a round but
        // never splits it (docs/reliability.md: rounds straddling an outage longer than the settle time split)
        ROUND_SETTLE_MS: LONG ? '60000' : '20000',
        ROUND_RETRY_GRACE_MS: LONG ? '90000' : '40000',
        ROUND_QUIET_DEADLINE_MS: LONG ? '300000' : '120000',
        PROCESS_TIMER_INTERVAL_MS: '250',
      };
      const config = loadConfig(env);
      const logger = createLogger('silent');
      const kafka = createKafka({ brokers: brokers(), clientId: 'chaos-test' }, logger);
      const admin = kafka.admin();
      await admin.connect();
      await ensureTopics(admin, topicDefinitions(config));
      await admin.disconnect();

      const logDir =
        process.env.CHAOS_LOG_DIR ?? (LONG ? await mkdtemp(path.join(os.tmpdir(), 'chaos-')) : '');
      const f = new Fleet(env, logDir || undefined);
      fleet.current = f;
      const members: [string, ServiceKind][] = [
        ['normalize-1', 'normalize'],
        ['normalize-2', 'normalize'],
        ['process-1', 'process'],
        ['process-2', 'process'],
        ['ingest-1', 'ingest'],
      ];
      for (const [name, kind] of members) f.start(name, kind);
      const url = `http://127.0.0.1:${String(ingestPort)}`;
      await until('the ingest to be ready', 60_000, async () => (await fetch(`${url}/readyz`)).ok);

      const plan = planDay({
        runId: newRunId('chaos'),
        seed: MODE.seed,
        customers: MODE.customers,
        startTime: Date.now(),
        ratePerSecond: MODE.ratePerSecond,
        timing: { settleMs: config.ROUND_SETTLE_MS, retryGraceMs: config.ROUND_RETRY_GRACE_MS },
      });

      // the monkey: SIGKILL a random member every few seconds, start it again a moment later;
      // midway a third processor joins, later it leaves
      const rng = new Random(MODE.seed);
      const state = { sending: true };
      const scaled = { added: false, removed: false };
      const started = Date.now();
      const monkey = (async () => {
        // keeps going after the last call is answered until enough kills are in (the outputs are
        // still being produced then: a kill there tests the processors' restore and timers)
        while (state.sending || f.kills.length < MIN_KILLS) {
          await new Promise((r) =>
            setTimeout(r, rng.int(MODE.killEveryMs[0] ?? 2000, MODE.killEveryMs[1] ?? 4000)),
          );
          const elapsed = Date.now() - started;
          if (!scaled.added && elapsed > 10_000) {
            f.start('process-3', 'process');
            scaled.added = true;
          } else if (scaled.added && !scaled.removed && elapsed > 25_000) {
            await f.stop('process-3');
            scaled.removed = true;
          }
          const names = f.names().filter((n) => n !== 'process-3');
          const victim = names[rng.int(0, names.length - 1)] ?? 'ingest-1';
          const kind = members.find(([n]) => n === victim)?.[1] ?? 'ingest';
          await f.kill(victim);
          await new Promise((r) => setTimeout(r, rng.int(200, 1500)));
          f.start(victim, kind);
        }
      })();

      const result = await runSimulation({
        plan,
        url,
        auth: config.auth,
        // like an aggregator: retry 5xx and refused connections with backoff, long enough to
        // outlast a restart of the ingest
        tuning: { concurrency: 16, attempts: 12, backoffMs: 250, maxBackoffMs: 2000 },
        check: {
          kafka,
          registry: createRegistry(registryUrl()),
          topics: runTopicsOf(config),
          timeoutMs: LONG ? 600_000 : 150_000,
          graceMs: 5000,
        },
        onSent: () => {
          state.sending = false;
        },
      });
      state.sending = false;
      await monkey;
      for (const member of f.names())
        expect({ member, running: f.running(member) }).toEqual({ member, running: true });
      // whatever the monkey left dead must come back for the outputs to complete: it did, as
      // every kill is followed by a start; the check above waited for the outputs

      const report = result.report;
      const figures = {
        mode: LONG ? 'long' : 'short',
        customers: MODE.customers,
        calls: plan.calls.length,
        statuses: result.sent.progress.statuses,
        kills: f.kills.length,
        killsByService: Object.fromEntries(
          (['ingest', 'normalize', 'process'] as const).map((k) => [
            k,
            f.kills.filter((x) => x.name.startsWith(k)).length,
          ]),
        ),
        processorAddedAndRemoved: scaled.added && scaled.removed,
        expected: {
          events: report?.events.expected,
          completions: report?.completions.expected,
          newTransactions: report?.newTransactions.expected,
          alerts: report?.alerts.expected,
          deadLetters: report?.deadLetters.expected,
        },
        lost: report
          ? Object.values({
              stored: report.stored,
              events: report.events,
              completions: report.completions,
              newTransactions: report.newTransactions,
              alerts: report.alerts,
              deadLetters: report.deadLetters,
            }).reduce((n, s) => n + s.missing.length, 0)
          : undefined,
        duplicated: report
          ? [
              report.stored,
              report.events,
              report.completions,
              report.newTransactions,
              report.alerts,
              report.deadLetters,
            ].reduce((n, s) => n + s.duplicated.length + s.unexpected.length, 0)
          : undefined,
        unacknowledgedCopies: report?.unacknowledgedCopies,
        plaidRepeats: report?.plaidRepeats,
        seconds: Math.round((Date.now() - started) / 1000),
      };
      console.log(`chaos figures ${JSON.stringify(figures)}`);

      expect(result.sent.progress.statuses).toEqual({ '200': plan.calls.length });
      expect(report?.undecodable).toEqual([]);
      for (const [name, section] of Object.entries({
        stored: report?.stored,
        events: report?.events,
        completions: report?.completions,
        newTransactions: report?.newTransactions,
        alerts: report?.alerts,
        deadLetters: report?.deadLetters,
      })) {
        expect({ name, missing: section?.missing }).toEqual({ name, missing: [] });
        expect({ name, duplicated: section?.duplicated }).toEqual({ name, duplicated: [] });
        expect({ name, unexpected: section?.unexpected }).toEqual({ name, unexpected: [] });
      }
      expect(result.ok).toBe(true);
      expect(f.kills.length).toBeGreaterThanOrEqual(MIN_KILLS);
      expect(figures.killsByService.ingest).toBeGreaterThan(0);
      expect(figures.killsByService.normalize).toBeGreaterThan(0);
      expect(figures.killsByService.process).toBeGreaterThan(0);
      expect(scaled.added && scaled.removed).toBe(true);
    },
  );
});
