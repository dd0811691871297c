import { z } from 'zod';
import { ms, transactionInterval } from './kinds.js';

/** The normalizer's settings. */
export const normalizeSettings = {
  NORMALIZE_OPS_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(9464)
    .describe('Normalize: port of /healthz, /readyz, /metrics (0 = any free port).'),
  NORMALIZE_GROUP_ID: z
    .string()
    .min(1)
    .default('refreshbus-normalizer')
    .describe('Normalizer: consumer group id.'),
  NORMALIZE_TRANSACTIONAL_ID_PREFIX: z
    .string()
    .min(1)
    .default('refreshbus-normalizer')
    .describe(
      'Normalizer: transactional id prefix (one id per input partition); unique per deployment.',
    ),
  NORMALIZE_SESSION_TIMEOUT_MS: ms(30_000).describe(
    'Normalizer: consumer session timeout; a crashed instance holds its partitions this long before others take over.',
  ),
  NORMALIZE_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(12)
    .describe(
      'Normalize: input partitions processed at the same time, each in its own transactions. At least the partitions one instance holds, or NORMALIZE_TRANSACTION_INTERVAL_MS does not apply.',
    ),
  NORMALIZE_TRANSACTION_INTERVAL_MS: transactionInterval('Normalizer'),
  NORMALIZE_SHUTDOWN_TIMEOUT_MS: ms(30_000).describe(
    'Normalizer: on SIGTERM, time to finish the batch in hand.',
  ),
};
