/** A simulation that cannot run as asked; `message` says what to change. */
export class SimulateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SimulateError';
  }
}
