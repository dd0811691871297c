import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Config } from '../../config/config.js';
import { createKafka } from '../../kafka/client.js';
import type { Logger } from '../../lib/logger.js';
import { createLogger } from '../../lib/logger.js';
import { createRegistry } from '../../registry/registry.js';
import { runTopicsOf } from '../simulate/check.js';
import { RUN_ID, planDay } from '../simulate/day.js';
import { progressLine } from '../simulate/progress.js';
import type { SimulationOptions, SimulationResult } from '../simulate/run.js';
import {
  checkProgressText,
  newRunId,
  runSimulation,
  sendProgressText,
  summarizeSimulation,
} from '../simulate/run.js';
import { SimulateError } from '../simulate/sender.js';
import { resolveEndpoints } from '../../cli/endpoints.js';

const positiveInteger = (flag: string, max: number) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1 || n > max)
    throw new InvalidArgumentError(`${flag} must be a whole number from 1 to ${max}`);
  return n;
};
const positiveNumber = (flag: string, max: number) => (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > max)
    throw new InvalidArgumentError(`${flag} must be a number above 0 and at most ${max}`);
  return n;
};
const seed = (value: string) => {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError('--seed must be a whole number');
  return n;
};
const runId = (value: string) => {
  if (!RUN_ID.test(value))
    throw new InvalidArgumentError('--run-id must be 1–64 letters, digits, ".", "_" or "-"');
  return value;
};

/** The ingest's own address from the settings it runs with. */
function defaultUrl(cfg: Config): string {
  if (cfg.INGEST_PORT === 0)
    throw new SimulateError('INGEST_PORT is 0 (any free port): pass the ingest address with --url');
  const host = ['0.0.0.0', '::'].includes(cfg.INGEST_HOST) ? '127.0.0.1' : cfg.INGEST_HOST;
  return `http://${host.includes(':') ? `[${host}]` : host}:${cfg.INGEST_PORT}`;
}

async function ingestAnswers(url: string): Promise<void> {
  try {
    await fetch(new URL('/healthz', url), { signal: AbortSignal.timeout(3000) });
  } catch (err) {
    throw new SimulateError(
      `no ingest answers at ${url} (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}): start the pipeline (\`refreshbus all\`) with the same settings, or pass --url`,
    );
  }
}

interface SimulateOptions {
  customers: number;
  rate: number;
  seed: number;
  url?: string;
  runId?: string;
  concurrency: number;
  ledger?: string;
  check: boolean;
  timeout: number;
}

/** The command's help after its options: how calls are signed, what it prints, an example. */
const SIMULATE_HELP = `
Calls are signed the way the ingest is configured, from the same environment: Standard Webhooks
HMAC with the first of <PREFIX>_WEBHOOK_SECRETS where <PREFIX>_AUTH includes hmac, the shared
secret header for secret, nothing for ip and none. A route that requires jwks (Bud's default)
cannot be simulated: run the pipeline with BUD_AUTH=hmac for simulated traffic. Nor can plaid
(Plaid's default: JWTs signed with Plaid's private key): run it with PLAID_AUTH=hmac. Plaid Items
are registered to their customers (PUT /connections/plaid/<item_id>, CONNECTIONS_AUTH) before
Plaid's webhooks for them are sent. The schedule respects ROUND_SETTLE_MS and
ROUND_RETRY_GRACE_MS: give both commands the same values.

Progress goes to stderr, a JSON summary to stdout; the exit status is 1 when a call was not
accepted or the check failed.

Example (one shell):
  S=whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=
  export BUD_AUTH=hmac PLAID_AUTH=hmac BUD_WEBHOOK_SECRETS=$S PLAID_WEBHOOK_SECRETS=$S \\
         REFRESH_REQUESTS_WEBHOOK_SECRETS=$S CONNECTIONS_WEBHOOK_SECRETS=$S \\
         YODLEE_ALLOWED_CIDRS=127.0.0.1/32 ROUND_SETTLE_MS=2000 ROUND_RETRY_GRACE_MS=10000
  refreshbus all &
  refreshbus simulate --customers 1000 --rate 200 --check`;

/** `refreshbus simulate`: a realistic day of traffic against a running ingest; the benchmarks' load source. */
export function registerSimulateCommand(program: Command, config: () => Config): void {
  const command = program
    .command('simulate')
    .description(
      'play a simulated day of signed webhooks and refresh requests against a running ingest, and optionally check what came out against the day’s ledger',
    );
  addSimulateOptions(command)
    .addHelpText('after', SIMULATE_HELP)
    .action(async (opts: SimulateOptions) => {
      const cfg = config();
      try {
        await simulate(opts, cfg);
      } catch (err) {
        if (!(err instanceof SimulateError)) throw err;
        console.error(`refreshbus simulate: ${err.message}`);
        process.exitCode = 1;
      }
    });
}

/** The options of `refreshbus simulate` ({@link SimulateOptions}). */
function addSimulateOptions(command: Command): Command {
  return command
    .option(
      '--customers <n>',
      'customers in the day',
      positiveInteger('--customers', 1_000_000),
      100,
    )
    .option(
      '--rate <per-second>',
      'calls per second, on average',
      positiveNumber('--rate', 100_000),
      50,
    )
    .option('--seed <n>', 'the same seed plays the same day', seed, 1)
    .option('--url <url>', 'ingest base URL (default: http://<INGEST_HOST>:<INGEST_PORT>)')
    .option('--run-id <id>', 'prefix of the customer ids (default: sim-<time>-<random>)', runId)
    .option(
      '--concurrency <n>',
      'requests in flight at once',
      positiveInteger('--concurrency', 10_000),
      64,
    )
    .option(
      '--ledger <file>',
      'write the ledger (what must come out) and the delivery log to this JSON file',
    )
    .option(
      '--check',
      'after sending, read the topics (read_committed) and compare them with the ledger',
      false,
    )
    .option(
      '--timeout <seconds>',
      'with --check: longest wait for the outputs once every call is answered',
      positiveNumber('--timeout', 86_400),
      120,
    );
}

/** Progress goes to stderr, one line each. */
const say = (line: string) => process.stderr.write(`${line}\n`);

/**
 * Plans the day, plays it against the ingest (and checks it, with `--check`), writes the ledger
 * when asked and prints the summary; the exit status is 1 when the run was not ok.
 */
async function simulate(opts: SimulateOptions, cfg: Config): Promise<void> {
  const url = opts.url ?? defaultUrl(cfg);
  await ingestAnswers(url);
  const plan = planDay({
    runId: opts.runId ?? newRunId('sim'),
    seed: opts.seed,
    customers: opts.customers,
    startTime: Date.now(),
    ratePerSecond: opts.rate,
    timing: { settleMs: cfg.ROUND_SETTLE_MS, retryGraceMs: cfg.ROUND_RETRY_GRACE_MS },
  });
  say(
    `simulate: run ${plan.ledger.runId}, seed ${opts.seed}: ${opts.customers} customers, ${plan.calls.length} calls at ${opts.rate}/s to ${url}`,
  );
  const logger = createLogger(cfg.LOG_LEVEL, process.stderr);
  const check = opts.check ? checkSettings(cfg, opts, logger) : undefined;
  const result = await playWithProgress(opts, {
    plan,
    url,
    auth: cfg.auth,
    tuning: { concurrency: opts.concurrency },
    ...(check ? { check } : {}),
  });
  const summary = summarizeSimulation(result);
  if (opts.ledger) {
    await writeFile(
      opts.ledger,
      JSON.stringify({ summary, ledger: plan.ledger, deliveries: result.sent.deliveries }, null, 1),
    );
    say(`simulate: ledger and delivery log written to ${opts.ledger}`);
  }
  console.log(JSON.stringify(summary, null, 2));
  if (!result.ok) process.exitCode = 1;
}

/** Where `--check` reads the outputs: the Kafka and registry the pipeline uses, its topics. */
function checkSettings(
  cfg: Config,
  opts: SimulateOptions,
  logger: Logger,
): NonNullable<SimulationOptions['check']> {
  const endpoints = resolveEndpoints(cfg, logger);
  return {
    kafka: createKafka(
      { brokers: endpoints.brokers, clientId: `${cfg.KAFKA_CLIENT_ID}-simulate` },
      logger,
    ),
    registry: createRegistry(endpoints.registryUrl),
    topics: runTopicsOf(cfg),
    timeoutMs: opts.timeout * 1000,
    graceMs: 3000,
  };
}

/**
 * Runs the simulation with a progress line on stderr; Ctrl-C stops sending (calls not sent yet
 * are left out) and the run still ends with its summary.
 */
async function playWithProgress(
  opts: SimulateOptions,
  run: Omit<SimulationOptions, 'signal' | 'onSendProgress' | 'onSent' | 'onCheckProgress'>,
): Promise<SimulationResult> {
  const stop = new AbortController();
  const onSignal = () => {
    say('simulate: stopping (calls not sent yet are left out)…');
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  const line = progressLine(process.stderr);
  try {
    return await runSimulation({
      ...run,
      signal: stop.signal,
      onSendProgress: (p) => {
        line.update(`sending: ${sendProgressText(p)}`);
      },
      onSent: (sent) => {
        line.done(
          `sending: ${sendProgressText(sent.progress)} in ${((sent.finishedAt - sent.startedAt) / 1000).toFixed(1)} s`,
        );
        if (opts.check) say('checking: waiting for the outputs…');
      },
      onCheckProgress: (p) => {
        line.update(`checking: ${checkProgressText(p)}`);
      },
    });
  } finally {
    process.off('SIGINT', onSignal);
    line.done();
  }
}
