import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { LogController } from 'fastify';
import type {
  ConnectionError,
  FastifyBaseLogger,
  FastifyError,
  FastifyHttpOptions,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
} from 'fastify';
import type { Logger } from '../lib/logger.js';
import type { Readiness } from '../observability/ops-server.js';
import type { Authenticator } from './auth/types.js';
import { HttpError, errorBody, statusOf } from './errors.js';
import type { IngestErrorCode } from './errors.js';
import type { IngestMetrics } from './metrics.js';
import type { ConnectionRegistered } from '../contract/connections.js';
import type { OutgoingRecord, OutgoingTombstone } from './publisher.js';
import type { SourceDefinition } from './sources/types.js';
import { addRoutes } from './routes.js';

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
  /** Registrations of connections (Plaid Items) to customers: `PUT`/`DELETE /connections/…`. */
  readonly connections: {
    readonly authenticate: Authenticator;
    /** Encodes a ConnectionRegistered value (Avro, Confluent wire format). */
    readonly encode: (value: ConnectionRegistered) => Promise<Buffer>;
  };
  readonly publish: (record: OutgoingRecord, timeoutMs: number) => Promise<void>;
  /** Writes a tombstone (a deletion on a compacted topic), acknowledged as `publish` is. */
  readonly remove: (tombstone: OutgoingTombstone, timeoutMs: number) => Promise<void>;
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
    readonly connectionsTopic: string;
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

export { rawRecordHeaders } from './routes.js';
export type { RawRecordFacts } from './routes.js';

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

/** The server: body and time limits, slow clients cut off, addresses read on accept. */
function fastifyOptions(
  settings: IngestAppDeps['settings'],
  log: FastifyBaseLogger,
  newId: () => string,
): FastifyHttpOptions<http.Server> {
  return {
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
  };
}

/** Bodies kept as bytes; errors answered with the contract's bodies; metrics per answer. */
function handleBodiesAndErrors(app: FastifyInstance, metrics: IngestMetrics): void {
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
}

/** Builds the ingest HTTP app without listening (tests call `inject`). */
export async function buildIngestApp(deps: IngestAppDeps): Promise<FastifyInstance> {
  const { settings, metrics } = deps;
  const now = deps.now ?? Date.now;
  const newId = deps.newId ?? randomUUID;
  // typed as fastify's logger so the instance keeps the default FastifyInstance type
  const log: FastifyBaseLogger = deps.logger.child({ component: 'ingest' });
  const app = Fastify(fastifyOptions(settings, log, newId));
  handleBodiesAndErrors(app, metrics);
  addRoutes({ app, deps, log, now });

  await app.ready();
  return app;
}
