import fs from 'node:fs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Kafka } from 'kafkajs';
import type { ProcessorsConfig } from '../config/config.js';
import { CoPartitionedAssigner } from '../kafka/co-partitioned-assigner.js';
import { NotReadyError } from '../kafka/errors.js';
import type { PoisonError } from '../kafka/errors.js';
import { deadLetter } from '../normalize/dlq.js';
import { createStreamRunner } from '../kafka/stream-runner.js';
import type { StreamRunner } from '../kafka/stream-runner.js';
import type { InputChunk, ProcessResult } from '../kafka/exactly-once.js';
import type { Logger } from '../lib/logger.js';
import type { StreamMetrics } from '../observability/metrics.js';
import type { RefreshEvent } from '../normalize/types.js';
import type { AvroEncoder } from '../registry/avro-encoder.js';
import { PartitionStore } from '../state/partition-store.js';
import { restoreChangelogs } from '../state/restore.js';
import { collectRestoreGarbage, createStateDir } from './state-dir.js';
import { PartitionTask, readDeadline } from './task.js';
import type { StagedWork, TaskInput, TaskOutputs, TaskProcessor, Tick } from './task.js';
import { topologyFromConfig } from './topology.js';
import type { ProcessorOutput, RefreshRequestedValue } from './types.js';

/** The outputs' encoders (Avro, Confluent wire format, schemas registered), by output kind. */
export type OutputEncoders = Record<ProcessorOutput['kind'], AvroEncoder>;

/**
 * The Kafka side of the processors: co-partitioned inputs (events + requests), per-partition
 * state restored from compacted changelogs before the partition is processed, every state change
 * written to its changelog in the same transaction as the outputs and the input offsets, and
 * deadlines fired by a timer as transactions of their own. The domain logic is the pure
 * processors, each partition's processing the task (task.ts); this file only wires them to Kafka
 * and owns the partitions' lifecycle: restore on assignment, forget on loss.
 */
export class ProcessorHost {
  readonly runner: StreamRunner;
  private readonly processors: readonly TaskProcessor[];
  private readonly outputs: TaskOutputs;
  /** Per assigned, restored partition: its task, over every processor's state. */
  private readonly tasks = new Map<number, PartitionTask>();
  /** Where the partitions' values files live (created on start, deleted on stop). */
  private stateDir: string | undefined;
  private restores = 0;
  private readonly restored = new Map<number, Promise<void>>();
  /** Partitions whose restore finished (for readiness). */
  private readonly restoredDone = new Set<number>();
  private assigned = new Set<number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly registry: Pick<SchemaRegistry, 'decode'>,
    encoders: OutputEncoders,
    private readonly config: ProcessorsConfig,
    private readonly logger: Logger,
    private readonly clock: () => number = Date.now,
    private readonly metrics?: StreamMetrics,
    brokers: readonly string[] = [],
  ) {
    const topology = topologyFromConfig(config);
    this.processors = topology.processors;
    this.outputs = {
      enabled: topology.enabled,
      topics: topology.outputTopics,
      encoders,
    };
    this.runner = createStreamRunner(config.KAFKA_ENGINE, {
      kafka,
      brokers,
      clientId: `${config.KAFKA_CLIENT_ID}-process`,
      groupId: config.PROCESS_APPLICATION_ID,
      topics: [config.TOPIC_REFRESH_EVENTS, config.TOPIC_REFRESH_REQUESTS],
      transactionalIdPrefix: config.PROCESS_APPLICATION_ID,
      // one producer per partition number: events and requests of a customer share its state
      producerKey: (_topic, partition) => `p${partition}`,
      partitionAssigners: [CoPartitionedAssigner],
      sessionTimeoutMs: config.PROCESS_SESSION_TIMEOUT_MS,
      partitionsConsumedConcurrently: config.PROCESS_CONCURRENCY,
      minTransactionIntervalMs: config.PROCESS_TRANSACTION_INTERVAL_MS,
      logger,
      onAssignment: (assignment, { rejoined }) => {
        if (rejoined) {
          // another member may have owned any of these meanwhile: restore them all afresh
          for (const p of this.assigned) this.forget(p);
          this.assigned = new Set();
        }
        this.reassign(new Set(Object.values(assignment).flat()));
      },
      beforeChunk: (chunk) => this.ensureRestored(chunk.partition),
      onFenced: (_topic, partition) => {
        this.forget(partition);
      },
      // a commit that may have landed without this member applying it: the changelog knows
      onCommitUncertain: (_topic, partition) => {
        this.forget(partition);
      },
      ...metrics?.transactions('process'),
      deadLetter: (origin, message, failure) => [
        { topic: config.TOPIC_PROCESS_DLQ, messages: [deadLetter(message, origin, failure)] },
      ],
      process: (chunk) => this.processChunk(chunk),
    });
  }

  async start(): Promise<void> {
    this.stateDir = createStateDir(this.config.STATE_DIR, this.logger);
    await this.runner.start();
    this.timer = setInterval(() => {
      void this.fireDueTimers().catch((err: unknown) => {
        this.logger.warn({ err }, 'firing deadlines failed; will retry');
      });
    }, this.config.PROCESS_TIMER_INTERVAL_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.runner.stop();
    for (const p of [...this.tasks.keys()]) this.forget(p);
    if (this.stateDir) fs.rmSync(this.stateDir, { recursive: true, force: true });
  }

  /** Number of customers whose state this instance holds, per processor (a metric, a test hook). */
  stateSize(): Record<string, number> {
    const tasks = [...this.tasks.values()];
    return Object.fromEntries(
      this.processors.map(({ processor }, s) => [
        processor.name,
        tasks.reduce((n, task) => n + task.store.size(s), 0),
      ]),
    );
  }

  /** Assigned partitions whose state is still being restored. */
  restoring(): number[] {
    return [...this.assigned].filter((p) => !this.restoredDone.has(p));
  }

  /**
   * Drops a partition's in-memory state: another member has owned it (and may have written to its
   * changelog) since it was restored. It is restored again before its next use.
   */
  private forget(partition: number): void {
    this.restored.delete(partition);
    this.restoredDone.delete(partition);
    this.tasks.get(partition)?.store.destroy();
    this.tasks.delete(partition);
  }

  private requireStateDir(): string {
    if (!this.stateDir) throw new Error('the processors are not started (no state directory)');
    return this.stateDir;
  }

  private reassign(partitions: Set<number>): void {
    for (const p of partitions) {
      if (this.assigned.has(p)) continue;
      // restore now, not on the first input: deadlines must fire after a restart even when no new
      // record arrives for the partition
      this.ensureRestored(p).catch((err: unknown) => {
        this.logger.warn(
          { err, partition: p },
          'restore failed; retried on the next input or tick',
        );
      });
    }
    for (const p of this.assigned) {
      if (partitions.has(p)) continue;
      // the partition moved away: its state is the new owner's (restored from the changelog)
      this.forget(p);
    }
    this.assigned = partitions;
  }

  private ensureRestored(partition: number): Promise<void> {
    let restoring = this.restored.get(partition);
    if (!restoring) {
      restoring = this.runner
        .initProducer(this.config.TOPIC_REFRESH_EVENTS, partition)
        .then(() => this.restore(partition))
        .then(() => {
          // still ours? (it may have moved away while restoring)
          if (this.restored.get(partition) !== restoring) return;
          this.restoredDone.add(partition);
          if (this.restoring().length === 0) collectRestoreGarbage(this.logger);
        });
      restoring.catch(() => {
        if (this.restored.get(partition) === restoring) this.restored.delete(partition);
      });
      this.restored.set(partition, restoring);
    }
    return restoring;
  }

  private async restore(partition: number): Promise<void> {
    const started = Date.now();
    // the restore this call belongs to: if the partition is forgotten meanwhile (fenced, moved
    // away), a newer restore owns it and this one's result must not be installed over it
    const current = this.restored.get(partition);
    const byLog = new Map(this.processors.map((p, s) => [p.changelog, { ...p, s }]));
    const store = new PartitionStore(
      this.requireStateDir(),
      `p${String(partition)}-${String(++this.restores)}`,
      this.processors.length,
    );
    const perStore = new Map<string, number>();
    const now = this.clock();
    let records: number;
    try {
      ({ records } = await restoreChangelogs(
        this.kafka,
        [...byLog.keys()],
        new Set([partition]),
        (topic, _p, key, value, headers) => {
          const target = byLog.get(topic);
          if (!target) return;
          const { processor, s } = target;
          perStore.set(processor.name, (perStore.get(processor.name) ?? 0) + 1);
          if (value === null) {
            store.put(s, key, null, undefined);
            return;
          }
          // written with the value (no need to decode it); records of earlier versions lack it
          const written = readDeadline(headers);
          const deadline =
            written === null ? processor.nextTimer(processor.codec.decode(value), now) : written;
          store.put(s, key, value, deadline);
        },
      ));
      store.flush();
    } catch (err) {
      store.destroy();
      throw err;
    }
    for (const [name, n] of perStore) this.metrics?.restoreRecords.inc({ store: name }, n);
    if (this.restored.get(partition) !== current) {
      store.destroy();
      return;
    }
    this.tasks.get(partition)?.store.destroy();
    this.tasks.set(partition, new PartitionTask(partition, store, this.processors, this.outputs));
    this.logger.info({ partition, records, ms: Date.now() - started }, 'state restored');
  }

  private decode = async (chunk: InputChunk): Promise<TaskInput[]> => {
    const inputs: TaskInput[] = [];
    for (const m of chunk.messages) {
      if (!m.value) continue;
      // a throw is the runner's to classify (src/kafka/errors.ts): the registry unreachable is
      // retried; bytes not in the registry's format are dead-lettered at once; anything else
      // (a schema id the registry does not know) after a few tries
      const value: unknown = await this.registry.decode(m.value);
      if (chunk.topic === this.config.TOPIC_REFRESH_REQUESTS) {
        const request = value as RefreshRequestedValue;
        inputs.push({ customer: request.customer_id, input: { kind: 'request', request } });
      } else {
        const event = value as RefreshEvent;
        inputs.push({ customer: event.customer_id, input: { kind: 'event', event } });
      }
    }
    return inputs;
  };

  /**
   * The task of a partition whose state is this member's: never staged on state that is not (or
   * no longer) this member's — a missing customer would read as new and its changelog entry be
   * overwritten.
   */
  private taskOf(partition: number): PartitionTask {
    const task = this.restoredDone.has(partition) ? this.tasks.get(partition) : undefined;
    if (!task)
      throw new NotReadyError(`the state of partition ${String(partition)} is not restored (yet)`);
    return task;
  }

  /**
   * The transaction's records; once it commits, the staged state goes to the partition's task
   * of that moment (none if the partition was forgotten meanwhile: its changelog has it).
   */
  private result(partition: number, work: StagedWork, committed?: () => void): ProcessResult {
    return {
      records: work.records,
      afterCommit: () => {
        for (const n of work.notes) this.metrics?.processorNotes.inc(n);
        work.commitTo(this.tasks.get(partition)?.store);
        committed?.();
      },
    };
  }

  private async processChunk(chunk: InputChunk): Promise<ProcessResult> {
    const inputs = await this.decode(chunk);
    const work = this.taskOf(chunk.partition).stage(inputs, this.clock());
    return this.result(chunk.partition, work, () => {
      const last = chunk.messages[chunk.messages.length - 1];
      if (!last) return;
      const progress = {
        topic: chunk.topic,
        timestamps: chunk.messages.map((m) => Number(m.timestamp)),
        lastOffset: last.offset,
        highWatermark: chunk.highWatermark,
      };
      this.tasks.get(chunk.partition)?.noteInput(progress, this.clock());
    });
  }

  /** A deadline that can never be processed: logged and counted (the task cleared it). */
  private skippedTick = (partition: number, tick: Tick, err: PoisonError): void => {
    this.metrics?.poison.inc({ service: 'process', code: err.code, kind: 'deterministic' });
    this.logger.error(
      { partition, processor: tick.processor, code: err.code, reason: err.message.slice(0, 300) },
      'a deadline could not be processed; it waits for the customer’s next input',
    );
  };

  /** Fires the deadlines that are due, one transaction per partition. */
  private firing = false;

  private async fireDueTimers(): Promise<void> {
    if (this.firing) return; // the previous round of deadlines is still being committed
    this.firing = true;
    try {
      await this.fireDueTimersNow();
    } finally {
      this.firing = false;
    }
  }

  private async fireDueTimersNow(): Promise<void> {
    const now = this.clock();
    for (const partition of this.assigned) {
      if (!this.restoredDone.has(partition)) {
        // starts (or awaits) the restore; a failed one is retried on the next tick
        this.ensureRestored(partition).catch(() => undefined);
        continue;
      }
      const task = this.tasks.get(partition);
      const due = task?.dueTicks(now) ?? [];
      if (!task || due.length === 0) continue;
      await this.runner.transact(this.config.TOPIC_REFRESH_EVENTS, partition, () =>
        Promise.resolve().then(() =>
          this.result(
            partition,
            task.stageTicks(due, now, (tick, err) => {
              this.skippedTick(partition, tick, err);
            }),
          ),
        ),
      );
    }
  }
}
