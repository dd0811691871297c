/**
 * The connections topic (`TOPIC_CONNECTIONS`, compacted): which customer each of a source's
 * connections belongs to, for sources whose webhooks do not name the client's customer (Plaid
 * names its Item). Written by the ingest's `PUT`/`DELETE /connections/{source}/{connection_id}`,
 * read by the normalizer — part of the wire contract (`asyncapi.yaml`).
 */

/** Sources whose connections are registered: their webhooks name a connection, not a customer. */
export const REGISTERED_SOURCES = ['plaid'] as const;
export type RegisteredSource = (typeof REGISTERED_SOURCES)[number];

/** The ConnectionRegistered value (schemas/ConnectionRegistered.avsc). */
export interface ConnectionRegistered {
  source: string;
  connection_id: string;
  customer_id: string;
  registered_at: number;
  request_id: string;
}

/** The record key of a source's connection: `<source>:<connection id>` (a deletion is its tombstone). */
export function connectionKey(source: string, connectionId: string): string {
  return `${source}:${connectionId}`;
}
