import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAll } from '../../src/cli/all.js';
import type { Config } from '../../src/config/config.js';
import { loadConfig, packageRoot } from '../../src/config/config.js';
import { createKafka } from '../../src/kafka/client.js';
import { createLogger } from '../../src/lib/logger.js';
import { createRegistry } from '../../src/registry/registry.js';
import { runTopicsOf } from '../../src/tools/simulate/check.js';
import { planDay } from '../../src/tools/simulate/day.js';
import { newRunId, runSimulation } from '../../src/tools/simulate/run.js';
import type { Delivery, Ledger } from '../../src/tools/simulate/types.js';
import { SCENARIOS } from '../../src/tools/simulate/types.js';
import { brokers, isolatedNames, registryUrl } from './support/kafka.js';

const SECRET = 'whsec_' + Buffer.from('simulate-integration-secret').toString('base64');

/** What the pipeline under test and the simulator are both given, as environment variables. */
function pipelineEnv(): Record<string, string> {
  return {
    KAFKA_BROKERS: brokers().join(','),
    SCHEMA_REGISTRY_URL: registryUrl(),
    LOG_LEVEL: 'warn',
    ...isolatedNames(3),
    BUD_AUTH: 'hmac',
    BUD_WEBHOOK_SECRETS: SECRET,
    // Yodlee by address and a shared secret, as deployments put one in front
    YODLEE_AUTH: 'ip,secret',
    YODLEE_ALLOWED_CIDRS: '127.0.0.1/32,::1/128',
    YODLEE_SHARED_SECRET: 'a-shared-secret-for-yodlee',
    REFRESH_REQUESTS_AUTH: 'hmac',
    REFRESH_REQUESTS_WEBHOOK_SECRETS: SECRET,
    PLAID_AUTH: 'hmac',
    PLAID_WEBHOOK_SECRETS: SECRET,
    CONNECTIONS_AUTH: 'hmac',
    CONNECTIONS_WEBHOOK_SECRETS: SECRET,
    // a round's siblings must be processed within the settle window: room for a cold start
    ROUND_SETTLE_MS: '3000',
    ROUND_RETRY_GRACE_MS: '10000',
    ROUND_QUIET_DEADLINE_MS: '20000',
    PROCESS_TIMER_INTERVAL_MS: '250',
  };
}

function cli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [path.join(packageRoot, 'bin/refreshbus.js'), ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code) => {
      resolve({ code, stdout, stderr });
    }),
  );
}

describe('refreshbus simulate (command line)', () => {
  it('explains itself with --help', async () => {
    const { code, stdout } = await cli(['simulate', '--help']);
    expect(code).toBe(0);
    for (const flag of ['--customers', '--rate', '--seed', '--url', '--ledger', '--check'])
      expect(stdout).toContain(flag);
    expect(stdout).toMatch(/cannot be simulated: run the pipeline with BUD_AUTH=hmac/);
  });

  it('refuses a rate that is not a positive number, exiting 1', async () => {
    const runs = await Promise.all(['abc', '0', '-5'].map((r) => cli(['simulate', `--rate=${r}`])));
    for (const { code, stderr } of runs) {
      expect(code).toBe(1);
      expect(stderr).toContain('--rate must be a number above 0');
    }
  });

  it('says no ingest answers, exiting 1, rather than trying every call', async () => {
    const { code, stderr } = await cli(['simulate', '--url', 'http://127.0.0.1:9']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/refreshbus simulate: no ingest answers at http:\/\/127\.0\.0\.1:9/);
  });
});

describe('the simulator against the whole pipeline (refreshbus all)', () => {
  const env = pipelineEnv();
  let config: Config;
  let all: Awaited<ReturnType<typeof startAll>>;
  const logger = createLogger('silent');

  beforeAll(async () => {
    config = loadConfig({ ...env, INGEST_PORT: '0' });
    all = await startAll(config, { brokers: brokers(), registryUrl: registryUrl() }, logger);
  });
  afterAll(async () => {
    await all.close();
  });

  it(
    'a day for 40 customers: every call stored once, every expected event, completion, signal, alert and dead letter exactly once, nothing else',
    { timeout: 120_000 },
    async () => {
      const plan = planDay({
        runId: newRunId('it-sim'),
        seed: 42,
        customers: 40,
        startTime: Date.now(),
        ratePerSecond: 40,
        timing: { settleMs: config.ROUND_SETTLE_MS, retryGraceMs: config.ROUND_RETRY_GRACE_MS },
      });
      const result = await runSimulation({
        plan,
        url: all.ingest.url,
        auth: config.auth,
        check: {
          kafka: createKafka({ brokers: brokers(), clientId: 'simulate-check' }, logger),
          registry: createRegistry(registryUrl()),
          topics: runTopicsOf(config),
          timeoutMs: 60_000,
          graceMs: 3000,
        },
      });
      const report = result.report;
      expect(result.sent.progress.statuses).toEqual({ '200': plan.calls.length });
      expect(report?.undecodable).toEqual([]);
      for (const section of [
        report?.stored,
        report?.events,
        report?.completions,
        report?.newTransactions,
        report?.alerts,
        report?.deadLetters,
      ]) {
        expect(section).toMatchObject({ missing: [], duplicated: [], unexpected: [] });
        expect(section?.matched).toBe(section?.expected);
      }
      const { ledger } = plan;
      expect(report?.completions.matched).toBe(ledger.completions.length);
      expect(report?.newTransactions.matched).toBe(ledger.newTransactions.length);
      expect(report?.alerts.matched).toBe(ledger.alerts.length);
      expect(report?.deadLetters.matched).toBe(ledger.deadLetters.length);
      expect(report?.stored.matched).toBe(plan.calls.length);
      expect(result.ok).toBe(true);
      // the day had what it is made of
      expect(new Set(ledger.customers.map((c) => c.scenario)).size).toBe(SCENARIOS.length);
      expect(plan.calls.some((c) => c.duplicateOf)).toBe(true);
      expect(plan.calls.some((c) => c.late)).toBe(true);
      // Plaid's Items registered, their events known by what they are, a warning, an
      // unregistered Item dead-lettered
      expect(plan.calls.some((c) => c.route === '/connections/plaid')).toBe(true);
      expect(Object.keys(ledger.deliveryEvents ?? {}).length).toBeGreaterThan(0);
      expect(ledger.alerts.some((a) => a.status === 'WARNING')).toBe(true);
      expect(Object.values(ledger.deadLetterCodes ?? {})).toContain('UNREGISTERED_CONNECTION');
    },
  );

  it(
    'the command signs from the same settings as the pipeline, checks, and writes its ledger',
    { timeout: 120_000 },
    async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'refreshbus-simulate-'));
      try {
        const file = path.join(dir, 'ledger.json');
        const { code, stdout, stderr } = await cli(
          [
            'simulate',
            '--customers=12',
            '--rate=30',
            '--seed=3',
            `--url=${all.ingest.url}`,
            '--check',
            `--ledger=${file}`,
          ],
          env,
        );
        expect({ code, stderr }).toMatchObject({ code: 0 });
        const summary = JSON.parse(stdout) as {
          ok: boolean;
          calls: number;
          check: { ok: boolean; completions: { matched: number; expected: number } };
        };
        expect(summary).toMatchObject({ ok: true, check: { ok: true } });
        expect(summary.check.completions.matched).toBe(summary.check.completions.expected);
        expect(stderr).toMatch(/sending: \d+\/\d+ sent/);
        const saved = JSON.parse(await readFile(file, 'utf8')) as {
          ledger: Ledger;
          deliveries: Delivery[];
        };
        expect(saved.deliveries).toHaveLength(summary.calls);
        expect(saved.deliveries.every((d) => d.status === 200 && d.ingestId)).toBe(true);
        expect(saved.ledger.customers).toHaveLength(12);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
