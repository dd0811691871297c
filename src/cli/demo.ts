import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import { runPipelineDemo } from '../demo/pipeline.js';
import { createLogger } from '../lib/logger.js';
import { openStack } from '../stack/select.js';

/** `refreshbus demo`: the main job on a local default — stack, pipeline, a day of traffic, a summary. */
export function registerDemoCommand(program: Command, config: () => Config): void {
  program
    .command('demo')
    .description(
      'start the local stack if nothing is configured, run the whole pipeline, play a day of webhooks and print what came out',
    )
    .action(async () => {
      const cfg = config();
      const say = (line: string) => {
        console.error(line);
      };
      const stack = await openStack(cfg, say);
      const endpoints = await stack.up();
      const started = Date.now();
      const s = await runPipelineDemo(cfg, endpoints, createLogger('error'), say);
      const lines = [
        '',
        `refreshbus demo — run ${s.run} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
        '',
        `CustomerRefreshCompleted (${s.completions.length}):`,
        ...s.completions.map(
          (c) =>
            `  ${String(c.customer)}  ${String(c.reason)}  ${c.connections}${c.new_data ? '  [new data]' : ''}`,
        ),
        '',
        `NewTransactionsAvailable (${s.newTransactions.length}):`,
        ...s.newTransactions.map((l) => `  ${l}`),
        '',
        `ReconnectAlert (${s.alerts.length}):`,
        ...s.alerts.map((l) => `  ${l}`),
        '',
        `Dead-lettered: ${s.deadLettered} (replay with: refreshbus dlq replay)`,
      ];
      console.log(lines.join('\n'));
    });
}
