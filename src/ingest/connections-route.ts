import { z } from 'zod';
import { REGISTERED_SOURCES, connectionKey } from '../contract/connections.js';
import type { ConnectionRegistered } from '../contract/connections.js';
import { HEADER } from '../contract/headers.js';
import { HttpError } from './errors.js';
import type { Helpers, RouteContext } from './routes.js';
import { idText, parseJson } from './body.js';
import { wellFormed } from './sources/types.js';

const ROUTE = '/connections/:source/:connection_id';
const REGISTRATION_SHAPE =
  '{"connection_id": the path\'s connection id, "customer_id": 1 to 256 characters}';

/**
 * The bodies name the connection as the path does: a signature covers the body only (Standard
 * Webhooks), so a body bound to its connection cannot be replayed against another one, nor a
 * registration as a deletion (which carries no `customer_id`).
 */
const registration = z.strictObject({ connection_id: idText, customer_id: idText });
const deletion = z.strictObject({ connection_id: idText });

/** The body, checked against `schema` and against the path's connection. */
function bodyFor<T extends { connection_id: string }>(
  schema: z.ZodType<T>,
  raw: Buffer,
  connectionId: string,
  shape: string,
): T {
  const parsed = schema.safeParse(parseJson(raw));
  if (!parsed.success) throw new HttpError('INVALID_REQUEST', `body: ${shape}`);
  if (wellFormed(parsed.data.connection_id) !== connectionId)
    throw new HttpError('INVALID_REQUEST', "body: connection_id must be the path's connection id");
  return parsed.data;
}

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
 * `PUT /connections/{source}/{connection_id}` `{connection_id, customer_id}`: registers which
 * customer a connection (a Plaid Item) belongs to; `DELETE` with `{connection_id}` ends it.
 * Stored on the compacted connections topic (a deletion as its tombstone) before the `200`; the
 * normalizer attributes the connection's webhooks to that customer from then on. Idempotent: a
 * retried registration stores the same mapping again.
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
    const body = bodyFor(registration, raw, connectionId, REGISTRATION_SHAPE);
    const at = now();
    const value: ConnectionRegistered = {
      source,
      connection_id: connectionId,
      customer_id: wellFormed(body.customer_id),
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
    bodyFor(deletion, raw, connectionId, '{"connection_id": the path\'s connection id}');
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
