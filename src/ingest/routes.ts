/**
 * The ingest's routes: the sources' webhooks, `/refresh-requests`, the ops routes, and the 405s
 * (with `Allow`) of every other method, CONNECT included. `buildIngestApp` (app.ts) builds the
 * server they are added to.
 */
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HEADER } from '../contract/headers.js';
import { LIMITS } from '../contract/limits.js';
import type { Readiness } from '../observability/ops-server.js';
import type { IngestAppDeps, RefreshRequested } from './app.js';
import { KeySourceUnavailableError } from './auth/bud-jws.js';
import type { Authenticator } from './auth/types.js';
import { HttpError, errorBody } from './errors.js';
import type { Outgoing } from './publisher.js';
import { PublishUnavailableError } from './publisher.js';
import { addConnectionsRoute } from './connections-route.js';
import { idText, parseJson } from './body.js';
import { wellFormed } from './sources/types.js';

/** Printable ASCII, as a sender's HTTP client writes a header it generated (a UUID, say). */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,256}$/;

/** The request's `Idempotency-Key`, null without one; a malformed one is the client's error. */
function idempotencyKey(headers: IncomingHttpHeaders): string | null {
  const raw = headers['idempotency-key'];
  if (raw === undefined) return null;
  if (typeof raw !== 'string' || !IDEMPOTENCY_KEY.test(raw))
    throw new HttpError(
      'INVALID_REQUEST',
      'Idempotency-Key: 1 to 256 printable ASCII characters, without spaces, sent once',
    );
  return raw;
}

const refreshRequestBody = z.object({
  customer_id: idText,
  providers: z.array(idText).max(LIMITS.requestTargets).optional(),
  task_ids: z.array(idText).max(LIMITS.requestTargets).optional(),
});

/** What a raw record's headers say about its request (asyncapi.yaml `RawHeaders`). */
export interface RawRecordFacts {
  readonly source: string;
  readonly ingestId: string;
  readonly receivedAt: number;
  readonly contentType: string | undefined;
  /** Undefined when the connection was gone before its address was read. */
  readonly remoteAddr: string | undefined;
  readonly auth: string;
}

/**
 * The raw record's headers, every one a string. A header kafkajs cannot size fails the whole
 * produce request, every other sender's record in it included: a client that reset its
 * connection right after sending left `request.ip` undefined, and its neighbours got 503s. An
 * address not known is `""` (docs/reliability.md).
 */
export function rawRecordHeaders(facts: RawRecordFacts): Record<string, string> {
  return {
    [HEADER.source]: facts.source,
    [HEADER.ingestId]: facts.ingestId,
    [HEADER.receivedAt]: new Date(facts.receivedAt).toISOString(),
    'content-type': facts.contentType ?? 'application/json',
    [HEADER.remoteAddr]: facts.remoteAddr ?? '',
    [HEADER.auth]: facts.auth,
  };
}

/**
 * The headers as the authenticators see them: a header sent more than once is the list of its
 * values. Node (and `inject`) join a repeated header into one `a, b` string, which would let a
 * second, smuggled signature or key id through `singleHeader`'s refusal of repeated headers.
 */
function headersForAuth(request: FastifyRequest): IncomingHttpHeaders {
  const seen = new Map<string, string[]>();
  const raw = request.raw.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase();
    const value = raw[i + 1] ?? '';
    const values = seen.get(name);
    if (values) values.push(value);
    else seen.set(name, [value]);
  }
  // null prototype: a header named __proto__ stays an ordinary entry
  const headers = Object.assign(Object.create(null) as IncomingHttpHeaders, request.headers);
  for (const [name, values] of seen) if (values.length > 1) headers[name] = values;
  return headers;
}

/** The methods Node's parser takes, but `allowed` and CONNECT (never routed). */
const otherMethods = (allowed: readonly string[]) =>
  http.METHODS.filter((m) => m !== 'CONNECT' && !allowed.includes(m));

/** What the routes are added to and with. */
export interface RouteContext {
  readonly app: FastifyInstance;
  readonly deps: IngestAppDeps;
  readonly log: FastifyBaseLogger;
  readonly now: () => number;
}

/** What every route uses: authentication, publishing, and the 405s of other methods. */
function routeHelpers(context: RouteContext) {
  const { app, deps, now } = context;
  const { settings, metrics } = deps;
  const unavailable = (message: string) =>
    new HttpError('UNAVAILABLE', message, { 'retry-after': String(settings.retryAfterSeconds) });

  async function authenticate(
    check: Authenticator,
    request: FastifyRequest,
    raw: Buffer,
  ): Promise<string> {
    let result;
    try {
      result = await check({
        headers: headersForAuth(request),
        rawBody: raw,
        remoteAddr: request.ip,
        now: now(),
      });
    } catch (err) {
      if (err instanceof KeySourceUnavailableError) {
        request.log.warn({ err: err.cause }, 'signing keys could not be fetched');
        throw unavailable('signing keys are unavailable, retry later');
      }
      throw err;
    }
    if (!result.ok) throw new HttpError(result.code, result.message);
    metrics.authPassed(result.detail);
    return result.method;
  }

  async function publish(source: string, request: FastifyRequest, record: Outgoing): Promise<void> {
    const stop = metrics.publishLatency.startTimer({ source });
    try {
      if (record.value === null) await deps.remove(record, settings.publishTimeoutMs);
      else await deps.publish(record, settings.publishTimeoutMs);
      stop();
    } catch (err) {
      if (err instanceof PublishUnavailableError && err.reason === 'too-large') {
        throw new HttpError('PAYLOAD_TOO_LARGE', 'the body is larger than the raw topic accepts');
      }
      if (err instanceof PublishUnavailableError) {
        request.log.warn({ reason: err.reason }, 'record not acknowledged by Kafka');
        throw unavailable('the webhook could not be stored, retry later');
      }
      throw err;
    }
  }

  /** What each route serves, for the `Allow` of a 405. */
  const allowed = new Map<string, string>();
  /** Answers 405 from `onRequest`: before a body is read, whatever its type or size. */
  const notAllowed = (url: string, allow: string) => {
    allowed.set(url, allow);
    app.route({
      method: otherMethods(allow.split(', ')),
      url,
      exposeHeadRoute: false,
      config: { source: 'other' },
      onRequest: (_request, reply, done) => {
        void reply
          .code(405)
          .header('allow', allow)
          .send(errorBody('METHOD_NOT_ALLOWED', `use ${allow}`));
        done();
      },
      handler: () => undefined, // not reached: onRequest has answered
    });
  };
  return { unavailable, authenticate, publish, notAllowed, allowed };
}

export type Helpers = ReturnType<typeof routeHelpers>;

/** Adds every route of the ingest to `app`. */
export function addRoutes(context: RouteContext): void {
  const { app } = context;
  // every method Node's parser takes reaches the router: fastify routes only the methods it
  // knows (PROPFIND and most others were 404s, as were OPTIONS and TRACE, which no route
  // listed); CONNECT never does (see below)
  for (const method of http.METHODS) {
    if (method !== 'CONNECT' && !app.supportedMethods.includes(method)) app.addHttpMethod(method);
  }
  const helpers = routeHelpers(context);
  addWebhookRoutes(context, helpers);
  addRefreshRequestsRoute(context, helpers);
  addConnectionsRoute(context, helpers);
  addOpsRoutes(context, helpers);
  answerConnect(context, helpers.allowed);
}

/** `POST` of each source's webhooks: verified, stored byte for byte on the raw topic. */
function addWebhookRoutes(context: RouteContext, helpers: Helpers): void {
  const { app, deps, now } = context;
  const { settings } = deps;
  const { authenticate, publish, notAllowed } = helpers;
  for (const { definition, authenticate: check } of deps.sources) {
    app.post(definition.route, { config: { source: definition.name } }, async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const method = await authenticate(check, request, raw);
      const body = parseJson(raw);
      const id = request.id;
      await publish(definition.name, request, {
        topic: settings.rawTopic,
        key: definition.keyOf(body) ?? id,
        value: raw,
        headers: rawRecordHeaders({
          source: definition.name,
          ingestId: id,
          receivedAt: now(),
          contentType: request.headers['content-type'],
          remoteAddr: request.ip,
          auth: method,
        }),
      });
      return reply.code(200).send({ status: 'accepted', id });
    });
    notAllowed(definition.route, 'POST');
  }
}

/** `POST /refresh-requests`: a client's announced refresh, stored as an Avro RefreshRequested. */
function addRefreshRequestsRoute(context: RouteContext, helpers: Helpers): void {
  const { app, deps, now } = context;
  const { settings } = deps;
  const { authenticate, publish, notAllowed, unavailable } = helpers;
  app.post(
    '/refresh-requests',
    { config: { source: 'refresh-requests' } },
    async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      await authenticate(deps.refreshRequests.authenticate, request, raw);
      const key = idempotencyKey(request.headers);
      const parsed = refreshRequestBody.safeParse(parseJson(raw));
      if (!parsed.success) {
        throw new HttpError(
          'INVALID_REQUEST',
          parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
        );
      }
      const id = request.id;
      // Avro strings are UTF-8: lone surrogates are replaced as in the webhooks' keys
      const value: RefreshRequested = {
        request_id: id,
        customer_id: wellFormed(parsed.data.customer_id),
        providers: (parsed.data.providers ?? []).map(wellFormed),
        task_ids: (parsed.data.task_ids ?? []).map(wellFormed),
        idempotency_key: key,
        requested_at: now(),
      };
      let encoded: Buffer;
      try {
        encoded = await deps.refreshRequests.encode(value);
      } catch (err) {
        request.log.warn({ err }, 'RefreshRequested could not be encoded (schema registry)');
        throw unavailable('the schema registry is unavailable, retry later');
      }
      await publish('refresh-requests', request, {
        topic: settings.requestsTopic,
        key: value.customer_id,
        value: encoded,
        headers: {
          [HEADER.source]: 'client',
          [HEADER.ingestId]: id,
          [HEADER.receivedAt]: new Date(value.requested_at).toISOString(),
          'content-type': 'application/vnd.confluent.avro',
        },
      });
      return reply.code(200).send({ status: 'accepted', id });
    },
  );
  notAllowed('/refresh-requests', 'POST');
}

/** `/healthz`, `/readyz` and `/metrics`. */
function addOpsRoutes(context: RouteContext, helpers: Helpers): void {
  const { app, deps } = context;
  const { settings, metrics } = deps;
  app.get('/healthz', { config: { source: 'ops' } }, () => ({ status: 'ok' }));
  app.get('/readyz', { config: { source: 'ops' } }, async (_request, reply) => {
    const kafka = deps.ready();
    metrics.kafkaReady.set(kafka ? 1 : 0);
    const readiness: Readiness = kafka
      ? (deps.downstream?.() ?? { ready: true })
      : { ready: false, reason: 'Kafka is not reachable' };
    return readiness.ready
      ? reply.send({ status: 'ready' })
      : reply
          .code(503)
          .header('retry-after', String(settings.retryAfterSeconds))
          .send(errorBody('UNAVAILABLE', readiness.reason ?? 'not ready'));
  });
  app.get('/metrics', { config: { source: 'ops' } }, async (_request, reply) => {
    metrics.kafkaReady.set(deps.ready() ? 1 : 0);
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  // GET routes answer HEAD too (fastify's exposeHeadRoutes)
  for (const url of ['/healthz', '/readyz', '/metrics']) helpers.notAllowed(url, 'GET, HEAD');
}

/** CONNECT, which never reaches the router. */
function answerConnect(context: RouteContext, allowed: ReadonlyMap<string, string>): void {
  const { app, deps, log } = context;
  const { metrics } = deps;
  // Node hands CONNECT to 'connect' listeners, not to the router, and without one closes the
  // socket unanswered. This server is no proxy: 405, with what the target allows if it is a
  // route, then close (after CONNECT the connection would be a tunnel, so it is not reused).
  app.server.on('connect', (request: http.IncomingMessage, socket: Socket) => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    const allow = allowed.get(path) ?? 'GET, HEAD, POST';
    const body = JSON.stringify(
      errorBody('METHOD_NOT_ALLOWED', `CONNECT is not served; use ${allow}`),
    );
    metrics.requests.inc({ source: 'other', status: '405' });
    log.debug('CONNECT answered 405');
    socket.on('error', () => undefined); // a client gone before the answer: nothing to tell
    socket.end(
      `HTTP/1.1 405 Method Not Allowed\r\nAllow: ${allow}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${String(Buffer.byteLength(body))}\r\nConnection: close\r\n\r\n${body}`,
      () => socket.destroy(),
    );
  });
}
