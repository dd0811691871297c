import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { Config } from '../config/config.js';
import { createKafka } from '../kafka/client.js';
import { createLogger } from '../lib/logger.js';
import { startNormalizer } from '../normalize/normalizer.js';
import { matchDeadLetter, replayDlq } from '../normalize/replay.js';
import { opsClients, withAdmin } from '../ops/clients.js';
import { deadLetterLine, dlqSummary } from '../ops/dlq.js';
import { jsonLines } from '../ops/output.js';
import { parseCount } from '../ops/parse.js';
import { readTopic } from '../ops/reader.js';
import { resolveEndpoints } from './endpoints.js';
import { runUntilSignal } from './lifecycle.js';

interface ListOptions {
  code?: string[];
  since?: number;
  until?: number;
  max?: number;
  stage: string;
}

function parseTime(value: string): number {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new InvalidArgumentError(`not an ISO-8601 time: ${value}`);
  return ms;
}

/** Which dead-letter topic: the normalizer's (raw records) or the processors' (their inputs). */
const stageOption = () =>
  new Option('--stage <stage>', "whose dead letters: the normalizer's or the processors'")
    .choices(['normalize', 'process'])
    .default('normalize');

const dlqTopicOf = (cfg: Config, stage: string) =>
  stage === 'process' ? cfg.TOPIC_PROCESS_DLQ : cfg.TOPIC_REFRESH_DLQ;

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
  registerDlqList(dlq, config);
  registerDlqReplay(dlq, config);
}

/** The options that pick dead letters, by code and by time, for `list` and `replay`. */
function deadLetterFilter(command: Command): Command {
  return command
    .option('--code <codes...>', 'only records with these ob-error-code values')
    .option(
      '--since <time>',
      'only records dead-lettered at or after this ISO-8601 time',
      parseTime,
    )
    .option('--until <time>', 'only records dead-lettered before this ISO-8601 time', parseTime);
}

/** `refreshbus dlq list`: dead letters as JSON lines, never their bodies. */
function registerDlqList(dlq: Command, config: () => Config): void {
  deadLetterFilter(
    dlq
      .command('list')
      .description(
        'list dead-lettered records as JSON lines — offset, time, origin, error code and message, ' +
          'body size, never the body — with a count by code on stderr',
      ),
  )
    .option('--max <n>', 'stop after listing n records', parseCount)
    .addOption(stageOption())
    .action(async (options: ListOptions) => {
      const cfg = config();
      const topic = dlqTopicOf(cfg, options.stage);
      const clients = opsClients(cfg, 'dlq');
      const filter = { codes: options.code, since: options.since, until: options.until };
      const out = jsonLines();
      const byCode: Record<string, number> = {};
      let scanned = 0;
      let listed = 0;
      try {
        await withAdmin(clients, (admin) =>
          readTopic(
            clients.kafka,
            admin,
            {
              topic,
              start: { from: 'beginning' },
              follow: false,
              groupId: `${cfg.KAFKA_CLIENT_ID}-dlq-list-${randomUUID()}`,
              signal: out.closed,
            },
            async (partition, message) => {
              scanned += 1;
              const { code, matches } = matchDeadLetter(message, filter);
              if (!matches) return 'continue';
              byCode[code] = (byCode[code] ?? 0) + 1;
              listed += 1;
              await out.write(deadLetterLine(partition, message, code));
              return options.max !== undefined && listed >= options.max ? 'stop' : 'continue';
            },
          ),
        );
      } finally {
        out.dispose();
      }
      console.error(`dlq: ${dlqSummary(topic, listed, scanned, byCode)}`);
    });
}

/** `refreshbus dlq replay`: dead letters back to the topic they came from. */
function registerDlqReplay(dlq: Command, config: () => Config): void {
  deadLetterFilter(
    dlq
      .command('replay')
      .description(
        'republish dead-lettered records to the topic they came from, for the normalizer (or, with ' +
          '--stage process, the processors) to take again',
      ),
  )
    .option('--dry-run', 'count what would be replayed, publish nothing', false)
    .addOption(stageOption())
    .action(
      async (options: {
        code?: string[];
        since?: number;
        until?: number;
        dryRun: boolean;
        stage: string;
      }) => {
        const cfg = config();
        const logger = createLogger(cfg.LOG_LEVEL === 'info' ? 'warn' : cfg.LOG_LEVEL);
        const endpoints = resolveEndpoints(cfg, logger);
        const kafka = createKafka(
          { brokers: endpoints.brokers, clientId: `${cfg.KAFKA_CLIENT_ID}-dlq` },
          logger,
        );
        const result = await replayDlq(kafka, {
          dlqTopic: dlqTopicOf(cfg, options.stage),
          groupId: `${cfg.KAFKA_CLIENT_ID}-dlq-replay-${Date.now()}`,
          filter: { codes: options.code, since: options.since, until: options.until },
          dryRun: options.dryRun,
        });
        console.log(JSON.stringify({ dryRun: options.dryRun, ...result }));
      },
    );
}
