import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CommittedTransaction, PartitionLag } from '../kafka/exactly-once.js';
import type { StreamRunner } from '../kafka/stream-runner.js';
import type { Logger } from '../lib/logger.js';
import { PartitionHealth } from './partition-health.js';

/** The services that report stream metrics (the `service` label). */
export type StreamService = 'normalize' | 'process';

/** A registry with Node's default metrics (`refreshbus_process_*`, `refreshbus_nodejs_*`). */
export function createMetricsRegistry(options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics ?? true)
    collectDefaultMetrics({ register: registry, prefix: 'refreshbus_' });
  return registry;
}

const streamMetricsOf = new WeakMap<Registry, StreamMetrics>();

/**
 * The normalizer's and the processors' metrics. Gauges are read when scraped, from the sources
 * attached with `attach*`: in `refreshbus all` both services report into one registry.
 */
export class StreamMetrics {
  readonly consumed: Counter<'service' | 'topic'>;
  readonly produced: Counter<'service' | 'topic'>;
  readonly dlq: Counter<'code'>;
  readonly commitDuration: Histogram<'service'>;
  readonly failed: Counter<'service' | 'type'>;
  readonly rebalances: Counter<'service'>;
  readonly restoreRecords: Counter<'store'>;
  readonly processorNotes: Counter<'processor' | 'note'>;
  readonly poison: Counter<'service' | 'code' | 'kind'>;
  private readonly runners = new Map<StreamService, StreamRunner>();
  private readonly readiness = new Map<StreamService, () => boolean>();
  private readonly stores = new Map<StreamService, () => Record<string, number>>();
  private readonly health = new Map<StreamService, PartitionHealth>();

  /** One instance per registry (metric names are unique within a registry). */
  static of(registry: Registry, logger?: Logger): StreamMetrics {
    let metrics = streamMetricsOf.get(registry);
    if (!metrics) {
      metrics = new StreamMetrics(registry, logger);
      streamMetricsOf.set(registry, metrics);
    }
    return metrics;
  }

  private constructor(
    readonly registry: Registry,
    private readonly logger?: Logger,
  ) {
    const registers = [registry];
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Counter<L>({ name, help, labelNames, registers });
    this.consumed = counter(
      'refreshbus_records_consumed_total',
      'Input records consumed and committed (exactly once), by service and input topic.',
      ['service', 'topic'],
    );
    this.produced = counter(
      'refreshbus_records_produced_total',
      'Records written in committed transactions, by service and output topic.',
      ['service', 'topic'],
    );
    this.dlq = counter(
      'refreshbus_dlq_records_total',
      'Raw records dead-lettered by the normalizer (committed), by error code.',
      ['code'],
    );
    this.commitDuration = new Histogram({
      name: 'refreshbus_transaction_commit_duration_seconds',
      help: 'Time from processing a chunk to its transaction being committed.',
      labelNames: ['service'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.failed = counter(
      'refreshbus_transactions_aborted_total',
      'Transactions that failed and were aborted (then retried), by service and Kafka error type.',
      ['service', 'type'],
    );
    this.rebalances = counter(
      'refreshbus_rebalances_total',
      'Consumer group assignments received (each rebalance counts once per member).',
      ['service'],
    );
    this.restoreRecords = counter(
      'refreshbus_state_restore_records_total',
      'Changelog records read while restoring state, by store.',
      ['store'],
    );
    this.processorNotes = counter(
      'refreshbus_processor_inputs_set_aside_total',
      'Inputs a processor deliberately set aside (committed), by processor and reason: stale-failure-after-success = a failure reported for a task whose success was already applied; duplicate-request = a refresh request whose Idempotency-Key was already applied for the customer.',
      ['processor', 'note'],
    );
    this.poison = counter(
      'refreshbus_poison_records_total',
      'Input records that could never be processed, dead-lettered with their offset (committed), by service, error code and kind: deterministic = the record itself (too large, not decodable, the reducer throws on it); unknown = failed for an unexplained reason after bounded retries — alert on it.',
      ['service', 'code', 'kind'],
    );
    // gauges are read when scraped, from the sources the `attach*` methods fill in
    registerRunnerGauges(registers, this.runners, this.logger);
    registerHealthGauges(registers, this.health);
    registerServiceGauges(registers, this.stores, this.readiness);
  }

  /** Observer for a runner's committed and failed transactions. */
  transactions(service: StreamService) {
    return {
      onCommitted: (info: CommittedTransaction) => {
        if (info.records > 0) this.consumed.inc({ service, topic: info.topic }, info.records);
        for (const [topic, n] of Object.entries(info.outputs))
          this.produced.inc({ service, topic }, n);
        this.commitDuration.observe({ service }, info.seconds);
        this.health.get(service)?.committed(info.topic, info.partition, info.records, Date.now());
      },
      onDeadLettered: (info: { topic: string; partition: number; code: string; kind: string }) => {
        this.poison.inc({ service, code: info.code, kind: info.kind });
        // its offset committed with the dead letter: the partition moved on
        this.health.get(service)?.committed(info.topic, info.partition, 1, Date.now());
        if (service === 'normalize') this.dlq.inc({ code: info.code });
      },
      onFailed: (info: { topic: string; partition: number; type: string }) => {
        this.failed.inc({ service, type: info.type });
        this.health.get(service)?.failed(info.topic, info.partition, info.type, Date.now());
      },
    };
  }

  /**
   * Tracks the progress of each input partition of the service's runner (fed by
   * {@link transactions} and, once {@link attachRunner} is called, by its assignment and lag
   * polled every `min(5 s, stallMs / 4)`); what readiness asks for stalled partitions.
   */
  partitionHealth(service: StreamService, stallMs: number): PartitionHealth {
    const tracker = new PartitionHealth(stallMs);
    this.health.set(service, tracker);
    return tracker;
  }

  /** Reports a running runner's assignment, lag, rebalances and readiness. */
  attachRunner(service: StreamService, runner: StreamRunner, ready: () => boolean): void {
    this.runners.set(service, runner);
    this.readiness.set(service, ready);
    let polling: NodeJS.Timeout | undefined;
    runner.onAssigned((assignment) => {
      this.rebalances.inc({ service });
      const tracker = this.health.get(service);
      if (!tracker) return;
      tracker.assigned(assignment, Date.now());
      polling ??= this.pollLag(service, runner, tracker.stallMs);
    });
  }

  /**
   * Feeds the service's partition health the runner's lag on an interval, until the runner
   * stops: a stalled partition's lag is what tells it has input, and scraping is no clock.
   */
  private pollLag(service: StreamService, runner: StreamRunner, stallMs: number) {
    let inFlight = false;
    const timer = setInterval(
      () => {
        if (runner.status().stopped) {
          clearInterval(timer);
          this.health.get(service)?.assigned({}, Date.now());
          return;
        }
        if (inFlight) return;
        inFlight = true;
        const polledAt = Date.now();
        withTimeout(runner.lag(), 3000)
          .then((lags) => {
            this.health.get(service)?.lagsPolled(lags, polledAt);
          })
          .catch((err: unknown) => {
            this.logger?.debug({ err, service }, 'partition lag not available');
          })
          .finally(() => {
            inFlight = false;
          });
      },
      Math.max(100, Math.min(5000, stallMs / 4)),
    );
    timer.unref();
    return timer;
  }

  /** Reports state store sizes (customers per store) when scraped. */
  attachStores(service: StreamService, sizes: () => Record<string, number>): void {
    this.stores.set(service, sizes);
  }
}

/** Assigned partitions and consumer lag, asked of each attached runner. */
function registerRunnerGauges(
  registers: Registry[],
  runners: ReadonlyMap<StreamService, StreamRunner>,
  log: Logger | undefined,
): void {
  new Gauge({
    name: 'refreshbus_assigned_partitions',
    help: 'Input partitions assigned to this instance, by service.',
    labelNames: ['service'] as const,
    registers,
    collect() {
      this.reset();
      for (const [service, runner] of runners) {
        const { assignment } = runner.status();
        this.set(
          { service },
          Object.values(assignment).reduce((n, parts) => n + parts.length, 0),
        );
      }
    },
  });
  new Gauge({
    name: 'refreshbus_consumer_lag_records',
    help: 'Records between the committed offset and the end of each assigned input partition.',
    labelNames: ['service', 'topic', 'partition'] as const,
    registers,
    async collect() {
      this.reset();
      for (const [service, runner] of runners) {
        let lags: PartitionLag[];
        try {
          lags = await withTimeout(runner.lag(), 3000);
        } catch (err) {
          log?.debug({ err, service }, 'consumer lag not available');
          continue;
        }
        for (const { topic, partition, lag } of lags)
          this.set({ service, topic, partition: String(partition) }, lag);
      }
    },
  });
}

/** Per-partition lag and stall, as each service's partition health last saw them. */
function registerHealthGauges(
  registers: Registry[],
  health: ReadonlyMap<StreamService, PartitionHealth>,
): void {
  new Gauge({
    name: 'refreshbus_stream_partition_lag',
    help: 'Records between the committed offset and the end of each assigned input partition, as last polled for its health (a caught-up transactional partition shows 1).',
    labelNames: ['service', 'topic', 'partition'] as const,
    registers,
    collect() {
      this.reset();
      for (const [service, tracker] of health)
        for (const { topic, partition, lag } of tracker.progress(Date.now()))
          if (lag !== undefined) this.set({ service, topic, partition: String(partition) }, lag);
    },
  });
  new Gauge({
    name: 'refreshbus_stream_partition_stalled_seconds',
    help: 'How long the waiting input of each assigned input partition has gone without a commit, once that is READINESS_STALL_MS or more (readiness then fails); else 0.',
    labelNames: ['service', 'topic', 'partition'] as const,
    registers,
    collect() {
      this.reset();
      const now = Date.now();
      for (const [service, tracker] of health)
        for (const { topic, partition, stalledMs } of tracker.progress(now))
          this.set({ service, topic, partition: String(partition) }, stalledMs / 1000);
    },
  });
}

/** State store sizes and readiness, from the attached callbacks. */
function registerServiceGauges(
  registers: Registry[],
  stores: ReadonlyMap<StreamService, () => Record<string, number>>,
  readiness: ReadonlyMap<StreamService, () => boolean>,
): void {
  new Gauge({
    name: 'refreshbus_state_store_entries',
    help: 'Customers held in each state store on this instance.',
    labelNames: ['store'] as const,
    registers,
    collect() {
      this.reset();
      for (const sizes of stores.values())
        for (const [store, entries] of Object.entries(sizes())) this.set({ store }, entries);
    },
  });
  new Gauge({
    name: 'refreshbus_ready',
    help: '1 while the service does its job (what /readyz reports), else 0.',
    labelNames: ['service'] as const,
    registers,
    collect() {
      this.reset();
      for (const [service, ready] of readiness) this.set({ service }, ready() ? 1 : 0);
    },
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`timed out after ${ms} ms`));
      }, ms);
    }),
  ]).finally(() => {
    clearTimeout(timer);
  });
}
