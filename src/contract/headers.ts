/**
 * The record headers refreshbus writes and reads — `ob-*` part of the wire contract
 * (`asyncapi.yaml` documents each), defined once here.
 */
export const HEADER = {
  /** Raw webhooks and requests: the source (`bud`, `yodlee`, `client`). */
  source: 'ob-source',
  /** Raw webhooks, requests and events: the id the ingest gave the delivery. */
  ingestId: 'ob-ingest-id',
  /** Raw webhooks and requests: when the ingest received it (ISO 8601). */
  receivedAt: 'ob-received-at',
  /** Raw webhooks: the client address the ingest saw. */
  remoteAddr: 'ob-remote-addr',
  /** Raw webhooks: how the delivery was authenticated. */
  auth: 'ob-auth',
  /** Events: the event's id. */
  eventId: 'ob-event-id',
  /** Dead letters: why, and where the record came from. */
  errorCode: 'ob-error-code',
  errorMessage: 'ob-error-message',
  originTopic: 'ob-origin-topic',
  originPartition: 'ob-origin-partition',
  originOffset: 'ob-origin-offset',
  /** Set (to the value's size) on a dead letter written without its value: it would not fit. */
  valueOmitted: 'ob-value-omitted',
  /** Records replayed from a dead-letter topic: `<topic>/<partition>/<offset>` of the letter. */
  replayedFrom: 'ob-replayed-from',
  /**
   * The processors' changelog records (internal topics): the state's next deadline, ms since the
   * epoch, empty for none — so a restore need not decode every state to find it.
   */
  changelogDeadline: 'refreshbus.deadline',
} as const;
