import { Command, CommanderError } from 'commander';
import type { Config } from '../config/config.js';
import { ConfigError, loadConfig } from '../config/config.js';
import { SetupError } from '../lib/errors.js';
import { OperatorError } from '../ops/errors.js';
import { registerAllCommand } from './all.js';
import { registerIngestCommand } from './ingest.js';
import { registerNormalizeCommands } from './normalize.js';
import { registerProcessCommand } from './process.js';
import { registerSchemasCommands } from './schemas.js';
import { registerTailCommand } from './tail.js';
import { registerTopicsCommands } from './topics.js';

/** The tooling's commands, from src/tools/cli/commands.ts (see {@link loadToolCommands}). */
export interface ToolCommands {
  registerToolCommands(program: Command, config: () => Config): void;
  isToolError(err: unknown): err is Error;
}

/**
 * The tooling's commands, or undefined where dist/tools is not installed: the production image
 * carries the services and the operator commands only (the Dockerfile leaves dist/tools out).
 */
export async function loadToolCommands(): Promise<ToolCommands | undefined> {
  try {
    return await import('../tools/cli/commands.js');
  } catch (err) {
    const missing =
      (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
      /tools[/\\]cli[/\\]commands\.js/.test((err as Error).message);
    if (missing) return undefined;
    throw err;
  }
}

/**
 * Builds the `refreshbus` command line; each command file registers itself here. Without
 * `tools`, the commands are the services' and the operators' (what the production image runs).
 */
export function buildProgram(tools?: ToolCommands): Command {
  let config: Config | undefined;
  const lazyConfig = () => (config ??= loadConfig());
  const program = new Command('refreshbus')
    .description(
      'Open-banking refresh webhooks (Bud, Yodlee) as dependable, exactly-once Kafka streams',
    )
    .showHelpAfterError()
    .exitOverride();
  tools?.registerToolCommands(program, lazyConfig);
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
  const tools = await loadToolCommands();
  try {
    await buildProgram(tools).parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (
      err instanceof ConfigError ||
      tools?.isToolError(err) ||
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
