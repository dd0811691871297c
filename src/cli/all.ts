import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import { startIngest } from '../ingest/server.js';
import { createLogger } from '../lib/logger.js';
import type { Logger } from '../lib/logger.js';
import { startNormalizer } from '../normalize/normalizer.js';
import { startProcessors } from '../processors/service.js';
import type { Endpoints } from '../stack/local-stack.js';
import { createMetricsRegistry } from '../observability/metrics.js';
import { resolveEndpoints } from './endpoints.js';
import { runUntilSignal } from './lifecycle.js';

/**
 * Everything in one process: ingest, normalizer, processors (the local default). The ingest's
 * `/metrics` serves all three services' metrics, from one registry.
 */
export async function startAll(config: Config, endpoints: Endpoints, logger: Logger) {
  const metrics = createMetricsRegistry();
  // the normalizer and the processors create the topics they need before the ingest takes traffic
  const normalizer = await startNormalizer(config, endpoints, logger, { metrics });
  const processors = await startProcessors(config, endpoints, logger, { metrics });
  const ingest = await startIngest(config, endpoints, logger, { metrics });
  return {
    ingest,
    normalizer,
    processors,
    async close() {
      await ingest.close();
      await normalizer.close();
      await processors.close();
    },
  };
}

/** `refreshbus all`. */
export function registerAllCommand(program: Command, config: () => Config): void {
  program
    .command('all')
    .description('run ingest, normalizer and processors in one process (the local default)')
    .action(async () => {
      const cfg = config();
      const logger = createLogger(cfg.LOG_LEVEL);
      const running = await startAll(cfg, resolveEndpoints(cfg, logger), logger);
      await runUntilSignal(
        logger,
        cfg.INGEST_SHUTDOWN_TIMEOUT_MS +
          cfg.NORMALIZE_SHUTDOWN_TIMEOUT_MS +
          cfg.PROCESS_SHUTDOWN_TIMEOUT_MS,
        () => running.close(),
      );
    });
}
