import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import { runRoundTrip } from '../demo/roundtrip.js';
import { createLogger } from '../lib/logger.js';
import { openStack } from '../stack/select.js';

/** `refreshbus demo`: brings up the stack if needed and shows a record going through it. */
export function registerDemoCommand(program: Command, config: () => Config): void {
  program
    .command('demo')
    .description(
      'start the local stack if nothing is configured and send a record through Kafka and the registry',
    )
    .action(async () => {
      const cfg = config();
      const say = (line: string) => {
        console.error(line);
      };
      const stack = await openStack(cfg, say);
      const endpoints = await stack.up();
      const result = await runRoundTrip(endpoints, createLogger(cfg.LOG_LEVEL));
      console.log(
        `round trip ok: ${result.topic} ← schema id ${result.schemaId} → ${JSON.stringify(result.received)} (${result.millis} ms)`,
      );
    });
}
