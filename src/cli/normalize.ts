import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Config } from '../config/config.js';
import { createKafka } from '../kafka/client.js';
import { createLogger } from '../lib/logger.js';
import { startNormalizer } from '../normalize/normalizer.js';
import { replayDlq } from '../normalize/replay.js';
import { resolveEndpoints } from './endpoints.js';
import { runUntilSignal } from './lifecycle.js';

function parseTime(value: string): number {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new InvalidArgumentError(`not an ISO-8601 time: ${value}`);
  return ms;
}

/** `refreshbus normalize` and `refreshbus dlq replay`. */
export function registerNormalizeCommands(program: Command, config: () => Config): void {
  program
    .command('normalize')
    .description(
      'map raw webhooks to canonical Avro RefreshEvent records, exactly once (poison → DLQ)',
    )
    .action(async () => {
      const cfg = config();
      const logger = createLogger(cfg.LOG_LEVEL);
      const normalizer = await startNormalizer(cfg, resolveEndpoints(cfg, logger), logger, {
        ops: true,
      });
      await runUntilSignal(logger, cfg.NORMALIZE_SHUTDOWN_TIMEOUT_MS, () => normalizer.close());
    });

  const dlq = program.command('dlq').description('inspect and re-drive dead-lettered records');
  dlq
    .command('replay')
    .description(
      'republish dead-lettered records to the topic they came from, for the normalizer to map again',
    )
    .option('--code <codes...>', 'only records with these ob-error-code values')
    .option(
      '--since <time>',
      'only records dead-lettered at or after this ISO-8601 time',
      parseTime,
    )
    .option('--until <time>', 'only records dead-lettered before this ISO-8601 time', parseTime)
    .option('--dry-run', 'count what would be replayed, publish nothing', false)
    .action(
      async (options: { code?: string[]; since?: number; until?: number; dryRun: boolean }) => {
        const cfg = config();
        const logger = createLogger(cfg.LOG_LEVEL === 'info' ? 'warn' : cfg.LOG_LEVEL);
        const endpoints = resolveEndpoints(cfg, logger);
        const kafka = createKafka(
          { brokers: endpoints.brokers, clientId: `${cfg.KAFKA_CLIENT_ID}-dlq` },
          logger,
        );
        const result = await replayDlq(kafka, {
          dlqTopic: cfg.TOPIC_REFRESH_DLQ,
          groupId: `${cfg.KAFKA_CLIENT_ID}-dlq-replay-${Date.now()}`,
          filter: { codes: options.code, since: options.since, until: options.until },
          dryRun: options.dryRun,
        });
        console.log(JSON.stringify({ dryRun: options.dryRun, ...result }));
      },
    );
}
