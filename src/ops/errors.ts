/**
 * A failure of an operator command that the user can act on (unknown topic, unreachable broker
 * or registry, a bad option): the CLI prints `message` and exits 1, never a stack trace.
 */
export class OperatorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OperatorError';
  }
}

/** The message of anything thrown, for one line of output. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
