import type { ProcessorsConfig } from '../config/config.js';
import { createKafka } from '../kafka/client.js';
import { assertCoPartitioned, createMissingTopics } from '../kafka/topics.js';
import type { Logger } from '../lib/logger.js';
import { StreamMetrics, createMetricsRegistry } from '../observability/metrics.js';
import type { Readiness, RunningOpsServer } from '../observability/ops-server.js';
import { runnerReadiness, startOpsServer } from '../observability/ops-server.js';
import type { Registry } from 'prom-client';
import { retrying } from '../lib/retry.js';
import { avroEncoder } from '../registry/avro-encoder.js';
import { createRegistry, registerSchema } from '../registry/registry.js';
import type { Endpoints } from '../config/endpoints.js';
import { ProcessorHost } from './host.js';

export interface ProcessorsOptions {
  /** Registry the metrics go to (shared in `refreshbus all`); default a new one. */
  readonly metrics?: Registry;
  /** Serve /healthz, /readyz and /metrics on OPS_HOST:PROCESS_OPS_PORT. @default false */
  readonly ops?: boolean;
  /** The processors' clock (tests). @default Date.now */
  readonly clock?: () => number;
}

export interface RunningProcessors {
  readonly host: ProcessorHost;
  /** Member of its group, every assigned partition restored, transactions not stalled. */
  readiness(): Readiness;
  readonly ops: RunningOpsServer | undefined;
  close(): Promise<void>;
}

/** Starts the stateful processors chosen by PROCESSORS. */
export async function startProcessors(
  config: ProcessorsConfig,
  endpoints: Endpoints,
  logger: Logger,
  options: ProcessorsOptions = {},
): Promise<RunningProcessors> {
  const log = logger.child({ component: 'process' });
  const kafka = createKafka(
    { brokers: endpoints.brokers, clientId: `${config.KAFKA_CLIENT_ID}-process` },
    logger,
  );
  await createMissingTopics(kafka, config, log);
  await assertCoPartitioned(kafka, config, log);

  const registry = createRegistry(endpoints.registryUrl);
  // registered once at start; outputs are then encoded synchronously (avsc behind the wire header)
  const register = async (
    name: 'CustomerRefreshCompleted' | 'NewTransactionsAvailable' | 'ReconnectAlert',
  ) => {
    const { id, schema } = await registerSchema(registry, config, name);
    return avroEncoder(id, schema);
  };
  const encoders = await retrying('registering output schemas', log, async () => ({
    completed: await register('CustomerRefreshCompleted'),
    'new-transactions': await register('NewTransactionsAvailable'),
    alert: await register('ReconnectAlert'),
  }));
  const metrics = StreamMetrics.of(options.metrics ?? createMetricsRegistry(), log);
  const host = new ProcessorHost(
    kafka,
    registry,
    encoders,
    config,
    log,
    options.clock,
    metrics,
    endpoints.brokers,
  );
  const health = metrics.partitionHealth('process', config.READINESS_STALL_MS);
  const readiness = (): Readiness => {
    const now = Date.now();
    const restoring = host.restoring();
    // a partition being restored waits by design: it is reported as restoring, below
    const stalled = health.stalled(now).filter((p) => !restoring.includes(p.partition));
    const base = runnerReadiness(host.runner.status(), now, config.READINESS_STALL_MS, stalled);
    if (!base.ready) return base;
    return restoring.length > 0
      ? { ready: false, reason: `restoring state of partitions ${restoring.join(', ')}` }
      : base;
  };
  metrics.attachRunner('process', host.runner, () => readiness().ready);
  metrics.attachStores('process', () => host.stateSize());
  // before joining the group: a port in use fails the start without a rebalance
  const ops = options.ops
    ? await startOpsServer({
        host: config.OPS_HOST,
        port: config.PROCESS_OPS_PORT,
        portSetting: 'PROCESS_OPS_PORT',
        registry: metrics.registry,
        readiness,
        logger: log,
      })
    : undefined;
  try {
    await host.start();
  } catch (err) {
    await ops?.close();
    throw err;
  }
  log.info({ processors: config.PROCESSORS }, 'processors running');
  return {
    host,
    readiness,
    ops,
    async close() {
      await host.stop();
      await ops?.close();
    },
  };
}
