import { z } from 'zod';
import { REGISTERED_SOURCES, connectionKey } from '../contract/connections.js';
import type { ConnectionRegistered } from '../contract/connections.js';
import { HEADER } from '../contract/headers.js';
import { HttpError } from './errors.js';
import type { Helpers, RouteContext } from './routes.js';
import { idText, parseJson } from './body.js';
import { wellFormed } from './sources/types.js';

const ROUTE = '/connections/:source/:connection_id';

const registration = z.object({ customer_id: idText });

/** The route's path parameters, checked: a registered source and a connection id within limits. */
function target(params: unknown): { source: string; connectionId: string } {
  const { source, connection_id: id } = params as { source: string; connection_id: string };
  if (!(REGISTERED_SOURCES as readonly string[]).includes(source))
    throw new HttpError(
      'NOT_FOUND',
      `connections are registered for ${REGISTERED_SOURCES.join(', ')} only`,
    );
  const parsed = idText.safeParse(id);
  if (!parsed.success) throw new HttpError('INVALID_REQUEST', 'connection_id: 1 to 256 characters');
  return { source, connectionId: wellFormed(parsed.data) };
}

/**
 * `PUT /connections/{source}/{connection_id}` `{customer_id}`: registers which customer a
 * connection (a Plaid Item) belongs to; `DELETE` ends it. Stored on the compacted connections
 * topic (a deletion as its tombstone) before the `200`; the normalizer attributes the
 * connection's webhooks to that customer from then on. Idempotent: a retried registration stores
 * the same mapping again.
 */
export function addConnectionsRoute(context: RouteContext, helpers: Helpers): void {
  const { app, deps, now } = context;
  const { settings } = deps;
  const { authenticate, publish, notAllowed, unavailable } = helpers;
  const headers = (id: string, at: number) => ({
    [HEADER.source]: 'client',
    [HEADER.ingestId]: id,
    [HEADER.receivedAt]: new Date(at).toISOString(),
  });
  app.put(ROUTE, { config: { source: 'connections' } }, async (request, reply) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    await authenticate(deps.connections.authenticate, request, raw);
    const { source, connectionId } = target(request.params);
    const parsed = registration.safeParse(parseJson(raw));
    if (!parsed.success)
      throw new HttpError('INVALID_REQUEST', 'body: {"customer_id": 1 to 256 characters}');
    const at = now();
    const value: ConnectionRegistered = {
      source,
      connection_id: connectionId,
      customer_id: wellFormed(parsed.data.customer_id),
      registered_at: at,
      request_id: request.id,
    };
    let encoded: Buffer;
    try {
      encoded = await deps.connections.encode(value);
    } catch (err) {
      request.log.warn({ err }, 'ConnectionRegistered could not be encoded (schema registry)');
      throw unavailable('the schema registry is unavailable, retry later');
    }
    await publish('connections', request, {
      topic: settings.connectionsTopic,
      key: connectionKey(source, connectionId),
      value: encoded,
      headers: { ...headers(request.id, at), 'content-type': 'application/vnd.confluent.avro' },
    });
    return reply.code(200).send({ status: 'registered', id: request.id });
  });
  app.delete(ROUTE, { config: { source: 'connections' } }, async (request, reply) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    await authenticate(deps.connections.authenticate, request, raw);
    const { source, connectionId } = target(request.params);
    await publish('connections', request, {
      topic: settings.connectionsTopic,
      key: connectionKey(source, connectionId),
      value: null,
      headers: headers(request.id, now()),
    });
    return reply.code(200).send({ status: 'deleted', id: request.id });
  });
  notAllowed(ROUTE, 'PUT, DELETE');
}
