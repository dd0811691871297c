import { LIMITS } from '../contract/limits.js';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { LogController } from 'fastify';
import type {
  ConnectionError,
  FastifyBaseLogger,
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
} from 'fastify';
import { z } from 'zod';
import type { Logger } from '../lib/logger.js';
import type { Readiness } from '../observability/ops-server.js';
import { KeySourceUnavailableError } from './auth/bud-jws.js';
import type { Authenticator } from './auth/types.js';
import { HttpError, errorBody, statusOf } from './errors.js';
import type { IngestErrorCode } from './errors.js';
import type { IngestMetrics } from './metrics.js';
import type { OutgoingRecord } from './publisher.js';
import { PublishUnavailableError } from './publisher.js';
import type { SourceDefinition } from './sources/types.js';
import { wellFormed } from './sources/types.js';
import { HEADER } from '../contract/headers.js';

/** What the HTTP layer needs from the rest of the service. */
export interface IngestAppDeps {
  readonly sources: readonly {
    readonly definition: SourceDefinition;
    readonly authenticate: Authenticator;
  }[];
  readonly refreshRequests: {
    readonly authenticate: Authenticator;
    /** Encodes a RefreshRequested value (Avro, Confluent wire format). */
    readonly encode: (value: RefreshRequested) => Promise<Buffer>;
  };
  readonly publish: (record: OutgoingRecord, timeoutMs: number) => Promise<void>;
  /** True while Kafka accepts writes. */
  readonly ready: () => boolean;
  /**
   * What /readyz also reports, though webhooks are accepted whatever it says: the stages after the
   * ingest in the same process (`refreshbus all`). Storing a webhook needs only Kafka, and a
   * stalled stage catches up from the stored records. @default always ready
   */
  readonly downstream?: () => Readiness;
  readonly metrics: IngestMetrics;
  readonly logger: Logger;
  readonly settings: {
    readonly rawTopic: string;
    readonly requestsTopic: string;
    readonly bodyLimitBytes: number;
    readonly requestTimeoutMs: number;
    /** Time a client has to send its headers (slowloris protection). @default 10000 */
    readonly headersTimeoutMs?: number;
    /**
     * How long an idle keep-alive connection stays open. Above the idle timeout of whatever
     * reuses connections to the ingest (a load balancer, a sender's pool): when the server closes
     * a connection just as the client sends on it, the client sees ECONNRESET. @default 72000
     */
    readonly keepAliveTimeoutMs?: number;
    readonly publishTimeoutMs: number;
    readonly retryAfterSeconds: number;
    readonly trustedProxies?: readonly string[] | undefined;
  };
  readonly now?: () => number;
  readonly newId?: () => string;
}

/** The Avro `RefreshRequested` value (schemas/RefreshRequested.avsc). */
export interface RefreshRequested {
  request_id: string;
  customer_id: string;
  providers: string[];
  task_ids: string[];
  idempotency_key: string | null;
  requested_at: number;
}

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

const idText = z.string().min(1).max(LIMITS.idLength);
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

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function parseJson(raw: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new HttpError('INVALID_JSON', 'body is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError('INVALID_JSON', 'body is not valid JSON');
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The metrics label of a route. */
    source?: string;
  }
}

/** The error a request's body stream ends with when its client closed the connection first. */
const isClientAbort = (err: FastifyError | HttpError, request: FastifyRequest) =>
  (err as { code?: unknown }).code === 'ECONNRESET' && request.raw.socket.destroyed;

/** Maps fastify's own errors to the contract's codes. */
function toHttpError(err: FastifyError): HttpError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError('PAYLOAD_TOO_LARGE', 'body is larger than the limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new HttpError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HttpError('INVALID_REQUEST', 'Content-Length does not match the body');
    case 'FST_ERR_CTP_EMPTY_TYPE':
      return new HttpError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
    default:
      return undefined;
  }
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

const CLIENT_ERRORS: Record<string, { code: IngestErrorCode; reason: string; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    code: 'REQUEST_TIMEOUT',
    reason: 'Request Timeout',
    message: 'the request was not received in time',
  },
  HPE_HEADER_OVERFLOW: {
    code: 'HEADERS_TOO_LARGE',
    reason: 'Request Header Fields Too Large',
    message: 'the request headers are larger than the limit',
  },
};

/**
 * Node's own refusals (a client too slow to send its request, headers over the size limit,
 * bytes that are not HTTP) answered with the contract's error body, as fastify's default does
 * with its own shape. The parser's error carries the raw bytes received (signatures, body):
 * only its code is logged.
 */
function answerClientError(log: FastifyBaseLogger, err: ConnectionError, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const known = Object.hasOwn(CLIENT_ERRORS, err.code) ? CLIENT_ERRORS[err.code] : undefined;
  const { code, reason, message } = known ?? {
    code: 'INVALID_REQUEST' as const,
    reason: 'Bad Request',
    message: 'the request is not valid HTTP',
  };
  log.debug({ code: err.code }, 'client error');
  if (answering(socket)) {
    // bytes after a request received in full are the next request's problem, not its own: it is
    // stored and answered as if they had not come (a 4xx would tell the source not to retry an
    // event that was never stored); the connection closes once every received one is answered
    closeWhenAnswered(socket);
    return;
  }
  const inFlight = (socket as ServerSocket)._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify(errorBody(code, message));
    socket.write(
      `HTTP/1.1 ${statusOf(code)} ${reason}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Node's server socket: the response it is writing, if any (`_httpMessage`, set by Node). */
type ServerSocket = Socket & { _httpMessage?: http.ServerResponse | null };

/** Whether the socket's current response answers a request that was received in full. */
function answering(socket: Socket): boolean {
  const res = (socket as ServerSocket)._httpMessage;
  return Boolean(res && !res.writableFinished && res.req.complete);
}

const closing = new WeakSet<Socket>();

/**
 * Closes the socket once its responses to requests received in full (pipelined ones included,
 * which Node answers in order) are written; nothing more is read from it meanwhile.
 */
function closeWhenAnswered(socket: Socket): void {
  if (closing.has(socket)) return;
  closing.add(socket);
  const next = () => {
    const res = (socket as ServerSocket)._httpMessage;
    if (res && !res.writableFinished && res.req.complete) {
      // by its 'close' (finished or cut off), Node has handed the socket to the next pipelined
      // response, if there is one
      res.once('close', () => setImmediate(next));
      return;
    }
    socket.destroy();
  };
  next();
}

/** The methods Node's parser takes, but `allowed` and CONNECT (never routed). */
const otherMethods = (allowed: readonly string[]) =>
  http.METHODS.filter((m) => m !== 'CONNECT' && !allowed.includes(m));

/** Builds the ingest HTTP app without listening (tests call `inject`). */
export async function buildIngestApp(deps: IngestAppDeps): Promise<FastifyInstance> {
  const { settings, metrics } = deps;
  const now = deps.now ?? Date.now;
  const newId = deps.newId ?? randomUUID;
  // typed as fastify's logger so the instance keeps the default FastifyInstance type
  const log: FastifyBaseLogger = deps.logger.child({ component: 'ingest' });
  const app = Fastify({
    loggerInstance: log,
    // quiet in steady state: no per-request lines; the ingest id labels what is logged
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'ingestId',
    }),
    bodyLimit: settings.bodyLimitBytes,
    requestTimeout: settings.requestTimeoutMs,
    // Node checks header and request deadlines on an interval (30 s by default): tighten it so
    // slow clients are cut off close to their deadline
    // (a server factory also means fastify leaves the keep-alive timeout at Node's 5 s, which the
    // bench's pooled sender met as ECONNRESET: set here, as fastify would, 72 s by default)
    serverFactory: (handler) => {
      const server = http.createServer(
        {
          headersTimeout: settings.headersTimeoutMs ?? 10_000,
          requestTimeout: settings.requestTimeoutMs,
          connectionsCheckingInterval: 1000,
        },
        handler,
      );
      server.keepAliveTimeout = settings.keepAliveTimeoutMs ?? 72_000;
      // Node asks the kernel for a socket's peer address when it is first read, and keeps it:
      // read it on accept, not when the request is handled, by which time a client that reset
      // right after sending has no address left (`request.ip` undefined). When the reset came
      // with the request itself, even this is too late: such records say `ob-remote-addr: ""`.
      server.on('connection', (socket: Socket) => {
        if (socket.remoteAddress === undefined)
          log.debug('connection reset before its address was read');
      });
      return server;
    },
    trustProxy: settings.trustedProxies?.length ? [...settings.trustedProxies] : false,
    genReqId: () => newId(),
    return503OnClosing: true,
    clientErrorHandler: (err, socket) => {
      answerClientError(log, err, socket);
    },
    // a URL the router cannot decode (`/%zz`): fastify's default body is not the contract's
    frameworkErrors: (_err, _request, reply) => {
      // the option's reply is generic over route types this app does not use
      void (reply as FastifyReply)
        .code(400)
        .send(errorBody('INVALID_REQUEST', 'the request URL is malformed'));
    },
  });

  app.removeAllContentTypeParsers();
  // bodies stay bytes: signatures are checked on them and they are stored as they came
  const keepBytes = (
    _req: FastifyRequest,
    body: Buffer,
    done: (err: null, body: Buffer) => void,
  ) => {
    done(null, body);
  };
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, keepBytes);
  app.addContentTypeParser(/^application\/[\w.-]+\+json$/, { parseAs: 'buffer' }, keepBytes);

  app.setErrorHandler((err: FastifyError | HttpError, request, reply) => {
    if (isClientAbort(err, request)) {
      // the client's doing, and anyone can do it: no error line (with its stack) for each
      metrics.clientAborts.inc();
      request.log.debug('client closed the connection before the body was received');
      void reply.code(400).send(errorBody('INVALID_REQUEST', 'the body was not received in full'));
      return;
    }
    const known = err instanceof HttpError ? err : toHttpError(err);
    if (known) {
      void reply
        .code(known.status)
        .headers(known.headers)
        .send(errorBody(known.code, known.message));
      return;
    }
    request.log.error({ err }, 'unexpected error');
    void reply.code(500).send(errorBody('INTERNAL', 'internal error'));
  });
  app.setNotFoundHandler((_request, reply) => {
    void reply.code(404).send(errorBody('NOT_FOUND', 'no such route'));
  });
  // on close, connections answered from now on are not kept alive: a 72 s keep-alive would hold
  // the shutdown (fastify closes the connections idle when it starts closing, not those that
  // become idle after)
  app.addHook('preClose', (done) => {
    app.server.keepAliveTimeout = 1;
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    metrics.requests.inc({
      source: request.routeOptions.config.source ?? 'other',
      status: String(reply.statusCode),
    });
    done();
  });

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

  async function publish(
    source: string,
    request: FastifyRequest,
    record: OutgoingRecord,
  ): Promise<void> {
    const stop = metrics.publishLatency.startTimer({ source });
    try {
      await deps.publish(record, settings.publishTimeoutMs);
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
  // every method Node's parser takes reaches the router: fastify routes only the methods it
  // knows (PROPFIND and most others were 404s, as were OPTIONS and TRACE, which no route
  // listed); CONNECT never does (see below)
  for (const method of http.METHODS) {
    if (method !== 'CONNECT' && !app.supportedMethods.includes(method)) app.addHttpMethod(method);
  }

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
  for (const url of ['/healthz', '/readyz', '/metrics']) notAllowed(url, 'GET, HEAD');

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

  await app.ready();
  return app;
}
