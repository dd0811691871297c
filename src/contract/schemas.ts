/**
 * Which Avro schema describes which topic's values, and the registry subject each is registered
 * under — part of the wire contract (`asyncapi.yaml`), defined once here for the services, the
 * operator commands and the tests.
 */
import type { TopicsConfig } from '../config/config.js';

/** The project's Avro schemas, by file name without `.avsc` (`schemas/`). */
export type SchemaName =
  | 'RefreshRequested'
  | 'RefreshEvent'
  | 'CustomerRefreshCompleted'
  | 'NewTransactionsAvailable'
  | 'ReconnectAlert'
  | 'ConnectionRegistered';

/** The topic whose values each schema describes (the services register each one there). */
export function schemaTopics(config: TopicsConfig): Record<SchemaName, string> {
  return {
    RefreshRequested: config.TOPIC_REFRESH_REQUESTS,
    RefreshEvent: config.TOPIC_REFRESH_EVENTS,
    CustomerRefreshCompleted: config.TOPIC_CUSTOMER_COMPLETED,
    NewTransactionsAvailable: config.TOPIC_CUSTOMER_NEW_TRANSACTIONS,
    ReconnectAlert: config.TOPIC_CUSTOMER_ALERTS,
    ConnectionRegistered: config.TOPIC_CONNECTIONS,
  };
}

/** TopicNameStrategy: the value schema of topic `t` is registered under subject `t-value`. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}
