import { z } from 'zod';
import { DEFAULT_TOPICS } from '../../contract/topics.js';

/** The topics' names, partitions and replication: read by every service and the operator commands. */
export const topicsSettings = {
  TOPIC_WEBHOOKS_RAW: z
    .string()
    .min(1)
    .default(DEFAULT_TOPICS.webhooksRaw)
    .describe('Topic: raw webhooks.'),
  TOPIC_REFRESH_REQUESTS: z
    .string()
    .min(1)
    .default(DEFAULT_TOPICS.refreshRequests)
    .describe('Topic: RefreshRequested records.'),
  TOPIC_CONNECTIONS: z
    .string()
    .min(1)
    .default(DEFAULT_TOPICS.connections)
    .describe(
      'Topic (compacted): which customer each registered connection (Plaid Item) belongs to, Avro ConnectionRegistered.',
    ),
  TOPIC_REFRESH_EVENTS: z
    .string()
    .min(1)
    .default(DEFAULT_TOPICS.refreshEvents)
    .describe('Topic: canonical Avro RefreshEvent records.'),
  TOPIC_REFRESH_DLQ: z
    .string()
    .min(1)
    .default(DEFAULT_TOPICS.refreshDlq)
    .describe('Topic: raw records the normalizer could not map, with error headers.'),
  TOPIC_PROCESS_DLQ: z
    .string()
    .min(1)
    .default(DEFAULT_TOPICS.processDlq)
    .describe(
      "Topic: the processors' input records (events, requests) that could never be processed, with error headers.",
    ),
  TOPIC_PARTITIONS: z.coerce
    .number()
    .int()
    .positive()
    .default(6)
    .describe(
      'Partitions of topics refreshbus creates (the unit of parallelism: instances ≤ partitions).',
    ),
  TOPIC_REPLICATION_FACTOR: z.coerce
    .number()
    .int()
    .positive()
    .default(1)
    .describe('Replication factor of topics refreshbus creates (3 in production).'),
  TOPIC_CUSTOMER_COMPLETED: z
    .string()
    .min(1)
    .default(DEFAULT_TOPICS.customerCompleted)
    .describe('Topic: CustomerRefreshCompleted records.'),
  TOPIC_CUSTOMER_NEW_TRANSACTIONS: z
    .string()
    .min(1)
    .default(DEFAULT_TOPICS.customerNewTransactions)
    .describe('Topic: NewTransactionsAvailable records.'),
  TOPIC_CUSTOMER_ALERTS: z
    .string()
    .min(1)
    .default(DEFAULT_TOPICS.customerAlerts)
    .describe('Topic: ReconnectAlert records.'),
};
