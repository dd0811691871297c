import { Command, CommanderError } from 'commander';
import type { Config } from '../config/config.js';
import { ConfigError, loadConfig } from '../config/config.js';
import { SetupError } from '../lib/errors.js';
import { OperatorError } from '../ops/errors.js';
import { StackError } from '../stack/errors.js';
import { registerAllCommand } from './all.js';
import { registerDemoCommand } from './demo.js';
import { registerIngestCommand } from './ingest.js';
import { registerNormalizeCommands } from './normalize.js';
import { registerProcessCommand } from './process.js';
import { registerSchemasCommands } from './schemas.js';
import { registerSimulateCommand } from './simulate.js';
import { registerStackCommands } from './stack.js';
import { registerTailCommand } from './tail.js';
import { registerTopicsCommands } from './topics.js';

/** Builds the `refreshbus` command line; each command file registers itself here. */
export function buildProgram(): Command {
  let config: Config | undefined;
  const lazyConfig = () => (config ??= loadConfig());
  const program = new Command('refreshbus')
    .description(
      'Open-banking refresh webhooks (Bud, Yodlee) as dependable, exactly-once Kafka streams',
    )
    .showHelpAfterError()
    .exitOverride();
  registerStackCommands(program, lazyConfig);
  registerDemoCommand(program, lazyConfig);
  registerSimulateCommand(program, lazyConfig);
  registerIngestCommand(program, lazyConfig);
  registerNormalizeCommands(program, lazyConfig);
  registerProcessCommand(program, lazyConfig);
  registerAllCommand(program, lazyConfig);
  registerTopicsCommands(program, lazyConfig);
  registerSchemasCommands(program, lazyConfig);
  registerTailCommand(program, lazyConfig);
  return program;
}

/** Runs the CLI; expected failures print their message and exit 1, never a stack trace. */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (
      err instanceof ConfigError ||
      err instanceof StackError ||
      err instanceof OperatorError ||
      err instanceof SetupError
    ) {
      console.error(`refreshbus: ${err.message}`);
      process.exitCode = 1;
      return;
    }
    console.error(err);
    process.exitCode = 1;
  }
}
