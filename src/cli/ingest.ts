import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import { startIngest } from '../ingest/server.js';
import { createLogger } from '../lib/logger.js';
import { resolveEndpoints } from './endpoints.js';
import { runUntilSignal } from './lifecycle.js';

/** `refreshbus ingest`: the HTTP webhook ingest. */
export function registerIngestCommand(program: Command, config: () => Config): void {
  program
    .command('ingest')
    .description('serve the webhook routes and publish each verified webhook to the raw topic')
    .action(async () => {
      const cfg = config();
      const logger = createLogger(cfg.LOG_LEVEL);
      const endpoints = resolveEndpoints(cfg, logger);
      const ingest = await startIngest(cfg, endpoints, logger);
      await runUntilSignal(logger, cfg.INGEST_SHUTDOWN_TIMEOUT_MS, () => ingest.close());
    });
}
