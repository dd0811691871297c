import type { Logger } from '../lib/logger.js';

/**
 * Waits for SIGTERM or SIGINT, then runs `shutdown`; if it takes longer than `timeoutMs`, exits
 * with status 1 rather than hang. A second signal exits at once.
 */
export function runUntilSignal(
  logger: Logger,
  timeoutMs: number,
  shutdown: () => Promise<void>,
): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      const timer = setTimeout(() => {
        logger.error({ timeoutMs }, 'shutdown took too long: exiting');
        process.exit(1);
      }, timeoutMs + 1000);
      timer.unref();
      shutdown()
        .then(() => {
          logger.info('stopped');
          resolve();
        })
        .catch((err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exitCode = 1;
          resolve();
        });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
