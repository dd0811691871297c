import type { ProcessorsConfig } from '../config/config.js';
import { changelogTopics } from '../kafka/topics.js';
import { alertsProcessor } from './alerts/reduce.js';
import { DEFAULT_ALERT_SETTINGS } from './alerts/state.js';
import { roundsProcessor } from './rounds/reduce.js';
import { DEFAULT_ROUND_SETTINGS } from './rounds/state.js';
import type { TaskProcessor } from './task.js';
import type { ProcessorOutput } from './types.js';

/** The processors' outputs by PROCESSORS' names (the configuration's vocabulary). */
const OUTPUT_OF = {
  completion: 'completed',
  'new-transactions': 'new-transactions',
  'reconnect-alerts': 'alert',
} as const satisfies Record<ProcessorsConfig['PROCESSORS'][number], ProcessorOutput['kind']>;

/** What the configuration asks the processors to run: the processors and the outputs wanted. */
export interface Topology {
  readonly processors: TaskProcessor[];
  readonly enabled: ReadonlySet<ProcessorOutput['kind']>;
  readonly outputTopics: Record<ProcessorOutput['kind'], string>;
}

/**
 * The processors PROCESSORS enables, with their settings and changelogs: rounds serve both the
 * completion and the new-transactions outputs; alerts the reconnect alerts.
 */
export function topologyFromConfig(config: ProcessorsConfig): Topology {
  const [roundsLog = '', alertsLog = ''] = changelogTopics(config);
  const enabled = new Set(config.PROCESSORS.map((name) => OUTPUT_OF[name]));
  const processors: TaskProcessor[] = [];
  if (enabled.has('completed') || enabled.has('new-transactions')) {
    const settings = {
      ...DEFAULT_ROUND_SETTINGS,
      settleMs: config.ROUND_SETTLE_MS,
      retryGraceMs: config.ROUND_RETRY_GRACE_MS,
      quietDeadlineMs: config.ROUND_QUIET_DEADLINE_MS,
      knownConnectionTtlMs: config.KNOWN_CONNECTION_TTL_MS,
      stateTtlMs: config.STATE_TTL_MS,
    };
    processors.push({ processor: roundsProcessor(settings), changelog: roundsLog });
  }
  if (enabled.has('alert')) {
    const settings = {
      ...DEFAULT_ALERT_SETTINGS,
      stateTtlMs: config.STATE_TTL_MS,
      // a customer's hosted refresh reports within the round's quiet deadline
      customerQuietMs: config.ROUND_QUIET_DEADLINE_MS,
    };
    processors.push({ processor: alertsProcessor(settings), changelog: alertsLog });
  }
  const outputTopics = {
    completed: config.TOPIC_CUSTOMER_COMPLETED,
    'new-transactions': config.TOPIC_CUSTOMER_NEW_TRANSACTIONS,
    alert: config.TOPIC_CUSTOMER_ALERTS,
  };
  return { processors, enabled, outputTopics };
}
