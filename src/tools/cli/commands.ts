import type { Command } from 'commander';
import type { Config } from '../../config/config.js';
import { StackError } from '../stack/errors.js';
import { registerDemoCommand } from './demo.js';
import { registerSimulateCommand } from './simulate.js';
import { registerStackCommands } from './stack.js';

/**
 * The development tooling's commands — `stack`, `demo`, `simulate` — which the CLI adds when
 * dist/tools is present (a checkout, an npm install); the production image leaves it out.
 */
export function registerToolCommands(program: Command, config: () => Config): void {
  registerStackCommands(program, config);
  registerDemoCommand(program, config);
  registerSimulateCommand(program, config);
}

/** A tooling failure the user can act on: its message is printed without a stack trace. */
export function isToolError(err: unknown): err is Error {
  return err instanceof StackError;
}
