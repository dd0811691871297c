import { z } from 'zod';
import { DEFAULT_ROUND_SETTINGS } from '../../processors/rounds/state.js';
import { csv, ms, transactionInterval } from './kinds.js';

/** The processors' settings; the round defaults are defined with the settings they belong to. */
export const processSettings = {
  PROCESS_OPS_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(9465)
    .describe('Process: port of /healthz, /readyz, /metrics (0 = any free port).'),
  PROCESS_APPLICATION_ID: z
    .string()
    .min(1)
    .default('refreshbus-processors')
    .describe(
      'Processors: consumer group id, transactional id prefix and changelog topic prefix (<id>.rounds.changelog, <id>.alerts.changelog).',
    ),
  PROCESSORS: csv
    .pipe(z.array(z.enum(['completion', 'new-transactions', 'reconnect-alerts'])))
    .default(['completion', 'new-transactions', 'reconnect-alerts'])
    .describe('Processors: which to run (completion, new-transactions, reconnect-alerts).'),
  ROUND_SETTLE_MS: ms(DEFAULT_ROUND_SETTINGS.settleMs).describe(
    'Processors: a round opened without a RefreshRequested stays open at least this long, so sibling webhooks join it.',
  ),
  ROUND_RETRY_GRACE_MS: ms(DEFAULT_ROUND_SETTINGS.retryGraceMs).describe(
    'Processors: a temporary failure becomes final this long after it was first seen, unless a retry reports.',
  ),
  ROUND_QUIET_DEADLINE_MS: ms(DEFAULT_ROUND_SETTINGS.quietDeadlineMs).describe(
    'Processors: a round with nothing new for this long closes as TIMED_OUT, listing what is missing; a customer-level alert ends with a success naming no connection only this long after its last failure.',
  ),
  KNOWN_CONNECTION_TTL_MS: ms(DEFAULT_ROUND_SETTINGS.knownConnectionTtlMs).describe(
    'Processors: a connection not seen for this long is no longer expected in new rounds.',
  ),
  STATE_TTL_MS: ms(DEFAULT_ROUND_SETTINGS.stateTtlMs).describe(
    'Processors: a customer with nothing open and no activity for this long is forgotten.',
  ),
  PROCESS_SESSION_TIMEOUT_MS: ms(30_000).describe(
    'Processors: consumer session timeout; a crashed instance holds its partitions this long.',
  ),
  PROCESS_TIMER_INTERVAL_MS: ms(1000).describe(
    'Processors: how often due deadlines are looked for.',
  ),
  PROCESS_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(12)
    .describe(
      'Processors: input partitions (of both input topics) processed at the same time, each in its own transactions. At least the partitions one instance holds, or PROCESS_TRANSACTION_INTERVAL_MS does not apply.',
    ),
  PROCESS_TRANSACTION_INTERVAL_MS: transactionInterval('Processors'),
  PROCESS_SHUTDOWN_TIMEOUT_MS: ms(30_000).describe(
    'Processors: on SIGTERM, time to finish the batch in hand.',
  ),
  STATE_DIR: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Processors: where the working copy of the state is kept on disk (default <tmpdir>/refreshbus-state; one directory per process, deleted on stop; the changelogs are the state of record).',
    ),
};
