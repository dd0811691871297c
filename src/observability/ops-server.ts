import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { RunnerStatus } from '../kafka/exactly-once.js';
import type { Logger } from '../lib/logger.js';
import { ConfigError } from '../config/config.js';

/** A component's readiness, with the reason when it is not ready. */
export interface Readiness {
  readonly ready: boolean;
  readonly reason?: string;
}

/**
 * Readiness of a consume → produce service: a member of its group that has heard from the group
 * coordinator within `stallMs`, and whose transactions are not failing for longer than that (an
 * outage it keeps retrying through; an idle service notices one by its heartbeats).
 */
export function runnerReadiness(status: RunnerStatus, now: number, stallMs: number): Readiness {
  if (status.stopped) return { ready: false, reason: 'stopping' };
  if (!status.member) return { ready: false, reason: 'not a member of its consumer group (yet)' };
  if (now - status.lastHeartbeatAt > stallMs)
    return {
      ready: false,
      reason: `no heartbeat answered for ${Math.round((now - status.lastHeartbeatAt) / 1000)} s`,
    };
  if (status.failingSince !== undefined && now - status.failingSince > stallMs)
    return {
      ready: false,
      reason: `transactions failing for ${Math.round((now - status.failingSince) / 1000)} s`,
    };
  return { ready: true };
}

export interface OpsServerOptions {
  readonly host: string;
  readonly port: number;
  /** The setting that chose the port, named when the port is taken. */
  readonly portSetting: string;
  readonly registry: Registry;
  readonly readiness: () => Readiness;
  readonly logger: Logger;
}

export interface RunningOpsServer {
  readonly app: FastifyInstance;
  readonly url: string;
  close(): Promise<void>;
}

/** Builds the `/healthz`, `/readyz` and `/metrics` endpoints of a service without HTTP ingest. */
export async function buildOpsApp(
  options: Omit<OpsServerOptions, 'host' | 'port' | 'portSetting'>,
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const { ready, reason } = options.readiness();
    return ready
      ? reply.send({ status: 'ready' })
      : reply.code(503).send({
          error: { code: 'UNAVAILABLE', message: reason ?? 'not ready' },
        });
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(options.registry.contentType).send(await options.registry.metrics()),
  );
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no such endpoint' } }),
  );
  await app.ready();
  return app;
}

/** Starts the ops endpoints on their own port (normalize, process). */
export async function startOpsServer(options: OpsServerOptions): Promise<RunningOpsServer> {
  const app = await buildOpsApp(options);
  let url: string;
  try {
    url = await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    await app.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new ConfigError([
        `${options.portSetting}: ${options.host}:${String(options.port)} is in use (another instance on this host?); choose another port, or 0 for any free one`,
      ]);
    throw err;
  }
  options.logger.info({ url }, 'ops endpoints listening (/healthz, /readyz, /metrics)');
  return { app, url, close: () => app.close() };
}
