import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/**
 * The root logger. Secrets, signatures and webhook bodies never reach a log line: the redact
 * paths below are a last line of defence, the first is never to pass them to the logger.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'refreshbus' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-signature"]',
        'req.headers["webhook-signature"]',
        'req.headers["plaid-verification"]',
        'req.headers["x-yodlee-secret"]',
        'body',
        'req.body',
        'secret',
        '*.secret',
        'password',
        '*.password',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
