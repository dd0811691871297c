import type { Logger } from './logger.js';

/**
 * Retries `fn` with exponential backoff (500 ms doubling to 15 s) until it succeeds: for start-up
 * steps that wait for infrastructure (broker, registry) rather than fail.
 */
export async function retrying<T>(what: string, logger: Logger, fn: () => Promise<T>): Promise<T> {
  let backoff = 500;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      logger.warn({ err, retryInMs: backoff }, `${what} failed; retrying`);
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 15_000);
    }
  }
}
