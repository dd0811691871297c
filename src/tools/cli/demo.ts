import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../../config/config.js';
import { demoSummary, runPipelineDemo } from '../demo/pipeline.js';
import { createLogger } from '../../lib/logger.js';
import { progressLine } from '../simulate/progress.js';
import { SimulateError } from '../simulate/sender.js';
import { openStack } from '../stack/select.js';

/** `refreshbus demo`: the main job on a local default — stack, pipeline, a day of traffic, a summary. */
export function registerDemoCommand(program: Command, config: () => Config): void {
  program
    .command('demo')
    .description(
      'start the local stack if nothing is configured, run the whole pipeline, play a simulated day of webhooks, print what came out and check it against the day’s ledger',
    )
    .action(async () => {
      const cfg = config();
      const say = (line: string) => {
        console.error(line);
      };
      const stack = await openStack(cfg, say);
      const endpoints = await stack.up();
      // the services' own logs (retried Kafka hiccups at start, say) go to a file, not between the lines
      const logFile = path.join(cfg.REFRESHBUS_STACK_DIR, 'logs', 'demo.log');
      await mkdir(path.dirname(logFile), { recursive: true });
      const logStream = createWriteStream(logFile, { flags: 'a' });
      const line = progressLine(process.stderr);
      try {
        const result = await runPipelineDemo(cfg, endpoints, createLogger('warn', logStream), {
          say,
          progress: (text) => {
            line.update(text);
          },
          progressDone: (text) => {
            line.done(text);
          },
        });
        console.log([...demoSummary(result), `Logs: ${logFile}`].join('\n'));
        if (!result.ok) process.exitCode = 1;
      } catch (err) {
        line.done();
        if (!(err instanceof SimulateError)) throw err;
        console.error(`refreshbus demo: ${err.message}`);
        process.exitCode = 1;
      } finally {
        await new Promise((resolve) => logStream.end(resolve));
      }
    });
}
