/**
 * The deployment must be changed before a service can run (topics whose partition counts break
 * co-partitioning, brokers too old for exactly-once): the service refuses to start, and the
 * message says what to change. The CLI prints it without a stack trace.
 */
export class SetupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SetupError';
  }
}
