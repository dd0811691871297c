import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import { startIngest } from '../ingest/server.js';
import { createLogger } from '../lib/logger.js';
import type { Logger } from '../lib/logger.js';
import { startNormalizer } from '../normalize/normalizer.js';
import { startProcessors } from '../processors/service.js';
import type { Endpoints } from '../config/endpoints.js';
import { createMetricsRegistry } from '../observability/metrics.js';
import { combinedReadiness } from '../observability/ops-server.js';
import type { Readiness } from '../observability/ops-server.js';
import { createKafka } from '../kafka/client.js';
import { createMissingTopics } from '../kafka/topics.js';
import { resolveEndpoints } from './endpoints.js';
import { runUntilSignal } from './lifecycle.js';

const STARTING: Readiness = { ready: false, reason: 'starting' };

/**
 * Everything in one process: ingest, normalizer, processors (the local default). The ingest's
 * `/metrics` serves all three services' metrics, from one registry, and its `/readyz` reports
 * the normalizer's and the processors' readiness too (while still accepting webhooks: they are
 * stored, and processed once the stalled stage moves again).
 */
export async function startAll(config: Config, endpoints: Endpoints, logger: Logger) {
  const metrics = createMetricsRegistry();
  const stages: {
    normalizer?: Awaited<ReturnType<typeof startNormalizer>>;
    processors?: Awaited<ReturnType<typeof startProcessors>>;
  } = {};
  const downstream = () =>
    combinedReadiness([
      ['normalizer', stages.normalizer?.readiness() ?? STARTING],
      ['processors', stages.processors?.readiness() ?? STARTING],
    ]);
  // The topics first, so the ingest never writes to one Kafka would create with its defaults.
  // Then the ingest: it needs no consumer group, and after a crash the groups wait out the dead
  // member's session (30 s) before the normalizer and the processors get their partitions —
  // webhooks are stored meanwhile, and processed once they do.
  await createMissingTopics(
    createKafka({ brokers: endpoints.brokers, clientId: `${config.KAFKA_CLIENT_ID}-all` }, logger),
    config,
    logger.child({ component: 'all' }),
  );
  const ingest = await startIngest(config, endpoints, logger, { metrics, downstream });
  try {
    const normalizer = await startNormalizer(config, endpoints, logger, { metrics });
    stages.normalizer = normalizer;
    const processors = await startProcessors(config, endpoints, logger, { metrics });
    stages.processors = processors;
    return running(ingest, normalizer, processors);
  } catch (err) {
    await stages.normalizer?.close();
    await ingest.close();
    throw err;
  }
}

function running(
  ingest: Awaited<ReturnType<typeof startIngest>>,
  normalizer: Awaited<ReturnType<typeof startNormalizer>>,
  processors: Awaited<ReturnType<typeof startProcessors>>,
) {
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
