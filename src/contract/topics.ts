/**
 * The topics' default names — part of the wire contract (`asyncapi.yaml` names each channel),
 * defined once here; each can be renamed per deployment (TOPIC_*, docs/configuration.md).
 */
export const DEFAULT_TOPICS = {
  /** Raw webhooks, byte for byte, with the ob-* headers. */
  webhooksRaw: 'openbanking.webhooks.raw',
  /** Clients' refresh requests (Avro RefreshRequested). */
  refreshRequests: 'openbanking.refresh.requests',
  /** Canonical events (Avro RefreshEvent). */
  refreshEvents: 'openbanking.refresh.events',
  /** The normalizer's dead letters. */
  refreshDlq: 'openbanking.refresh.dlq',
  /** The processors' dead letters. */
  processDlq: 'openbanking.process.dlq',
  /** Completed refresh rounds (Avro CustomerRefreshCompleted). */
  customerCompleted: 'openbanking.customer.refresh-completed',
  /** New-transaction signals (Avro NewTransactionsAvailable). */
  customerNewTransactions: 'openbanking.customer.new-transactions',
  /** Reconnect alerts (Avro ReconnectAlert). */
  customerAlerts: 'openbanking.customer.reconnect-alerts',
  /** Which customer each registered connection (Plaid Item) belongs to (Avro ConnectionRegistered, compacted). */
  connections: 'openbanking.connections',
} as const;
