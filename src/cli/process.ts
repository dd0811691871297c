import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import { createLogger } from '../lib/logger.js';
import { startProcessors } from '../processors/service.js';
import { resolveEndpoints } from './endpoints.js';
import { runUntilSignal } from './lifecycle.js';

/** `refreshbus process`: the stateful processors (all, or those in PROCESSORS). */
export function registerProcessCommand(program: Command, config: () => Config): void {
  program
    .command('process')
    .description(
      'run the stateful processors: refresh completion, new-transaction signals, reconnect alerts',
    )
    .action(async () => {
      const cfg = config();
      const logger = createLogger(cfg.LOG_LEVEL);
      const running = await startProcessors(cfg, resolveEndpoints(cfg, logger), logger, {
        ops: true,
      });
      await runUntilSignal(logger, cfg.PROCESS_SHUTDOWN_TIMEOUT_MS, () => running.close());
    });
}
