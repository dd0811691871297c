import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { RunnerStatus } from '../kafka/exactly-once.js';
import type { Logger } from '../lib/logger.js';
import { ConfigError } from '../config/config.js';
import type { StalledPartition } from './partition-health.js';

/** A component's readiness, with the reason when it is not ready. */
export interface Readiness {
  readonly ready: boolean;
  readonly reason?: string;
}

/**
 * Readiness of a consume → produce service: a member of its group that has heard from the group
 * coordinator within `stallMs`, whose transactions are not failing for longer than that (an
 * outage it keeps retrying through; an idle service notices one by its heartbeats), and none of
 * whose partitions is `stalled` (input waiting `stallMs` without a commit: one partition stuck on
 * a record while the others commit, which the runner's one "failing since" does not show).
 */
export function runnerReadiness(
  status: RunnerStatus,
  now: number,
  stallMs: number,
  stalled: readonly StalledPartition[] = [],
): Readiness {
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
  if (stalled.length > 0)
    return {
      ready: false,
      reason: `stalled ${stalled.length === 1 ? 'partition' : 'partitions'} (input waiting without a commit): ${stalled.map(describeStall).join(', ')}`,
    };
  return { ready: true };
}

const describeStall = (p: StalledPartition): string => {
  const facts = [
    ...(p.lag === undefined ? [] : [`lag ${String(p.lag)}`]),
    ...(p.failing ? ['transactions failing'] : []),
  ];
  const seconds = String(Math.round(p.stalledMs / 1000));
  return `${p.topic}/${String(p.partition)} for ${seconds} s${facts.length > 0 ? ` (${facts.join(', ')})` : ''}`;
};

/**
 * Ready when every named part is; else not, with the reason of each part that is not, named
 * (`refreshbus all`: its ingest's /readyz also reports the normalizer and the processors).
 */
export function combinedReadiness(parts: readonly (readonly [string, Readiness])[]): Readiness {
  const reasons = parts
    .filter(([, r]) => !r.ready)
    .map(([name, r]) => `${name}: ${r.reason ?? 'not ready'}`);
  return reasons.length === 0 ? { ready: true } : { ready: false, reason: reasons.join('; ') };
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
