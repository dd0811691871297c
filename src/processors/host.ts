import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { IHeaders, Kafka, Message } from 'kafkajs';
import type { Config } from '../config/config.js';
import { LIMITS, recordSize } from '../contract/limits.js';
import { CoPartitionedAssigner } from '../kafka/co-partitioned-assigner.js';
import { NotReadyError, PoisonError } from '../kafka/errors.js';
import { deadLetter } from '../normalize/dlq.js';
import { createStreamRunner } from '../kafka/stream-runner.js';
import type { StreamRunner } from '../kafka/stream-runner.js';
import type { InputChunk, ProcessResult, TopicRecords } from '../kafka/exactly-once.js';
import { changelogTopics } from '../kafka/topics.js';
import type { Logger } from '../lib/logger.js';
import type { StreamMetrics } from '../observability/metrics.js';
import type { RefreshEvent } from '../normalize/types.js';
import type { AvroEncoder } from '../registry/avro-encoder.js';
import { PartitionStore } from '../state/partition-store.js';
import { restoreChangelogs } from '../state/restore.js';
import { InputProgress } from './input-progress.js';
import { alertsProcessor } from './alerts/reduce.js';
import { DEFAULT_ALERT_SETTINGS } from './alerts/state.js';
import { roundsProcessor } from './rounds/reduce.js';
import { DEFAULT_ROUND_SETTINGS } from './rounds/state.js';
import type {
  Processor,
  ProcessorInput,
  ProcessorOutput,
  ReduceResult,
  RefreshRequestedValue,
} from './types.js';

/** The outputs' encoders (Avro, Confluent wire format, schemas registered), by output kind. */
export type OutputEncoders = Record<ProcessorOutput['kind'], AvroEncoder>;

/**
 * The Kafka side of the processors: co-partitioned inputs (events + requests), per-partition
 * state restored from compacted changelogs before the partition is processed, every state change
 * written to its changelog in the same transaction as the outputs and the input offsets, and
 * deadlines fired by a timer as transactions of their own. The domain logic is the pure
 * processors; this file only wires.
 */
export class ProcessorHost {
  readonly runner: StreamRunner;
  private readonly processors: { processor: Processor<unknown>; changelog: string }[];
  /** Per assigned, restored partition: every processor's state (store index = processor's). */
  private readonly partitions = new Map<number, PartitionStore>();
  /** Where the partitions' values files live (created on start, deleted on stop). */
  private stateDir: string | undefined;
  private restores = 0;
  private readonly restored = new Map<number, Promise<void>>();
  /** Partitions whose restore finished (for readiness). */
  private readonly restoredDone = new Set<number>();
  private assigned = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly enabled: ReadonlySet<ProcessorOutput['kind']>;

  constructor(
    private readonly kafka: Kafka,
    private readonly registry: Pick<SchemaRegistry, 'decode'>,
    private readonly encoders: OutputEncoders,
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly clock: () => number = Date.now,
    private readonly metrics?: StreamMetrics,
    brokers: readonly string[] = [],
  ) {
    const [roundsLog = '', alertsLog = ''] = changelogTopics(config);
    const wanted = new Set(config.PROCESSORS);
    const kinds = new Set<ProcessorOutput['kind']>();
    if (wanted.has('completion')) kinds.add('completed');
    if (wanted.has('new-transactions')) kinds.add('new-transactions');
    if (wanted.has('reconnect-alerts')) kinds.add('alert');
    this.enabled = kinds;
    const settings = {
      ...DEFAULT_ROUND_SETTINGS,
      settleMs: config.ROUND_SETTLE_MS,
      retryGraceMs: config.ROUND_RETRY_GRACE_MS,
      quietDeadlineMs: config.ROUND_QUIET_DEADLINE_MS,
      knownConnectionTtlMs: config.KNOWN_CONNECTION_TTL_MS,
      stateTtlMs: config.STATE_TTL_MS,
    };
    this.processors = [];
    if (kinds.has('completed') || kinds.has('new-transactions')) {
      this.processors.push({
        processor: roundsProcessor(settings),
        changelog: roundsLog,
      });
    }
    if (kinds.has('alert')) {
      this.processors.push({
        processor: alertsProcessor({
          ...DEFAULT_ALERT_SETTINGS,
          stateTtlMs: config.STATE_TTL_MS,
          // a customer's hosted refresh reports within the round's quiet deadline
          customerQuietMs: config.ROUND_QUIET_DEADLINE_MS,
        }),
        changelog: alertsLog,
      });
    }
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
    for (const p of [...this.partitions.keys()]) this.forget(p);
    if (this.stateDir) fs.rmSync(this.stateDir, { recursive: true, force: true });
  }

  /** Number of customers whose state this instance holds, per processor (a metric, a test hook). */
  stateSize(): Record<string, number> {
    const stores = [...this.partitions.values()];
    return Object.fromEntries(
      this.processors.map(({ processor }, s) => [
        processor.name,
        stores.reduce((n, store) => n + store.size(s), 0),
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
    this.input.delete(partition);
    this.partitions.get(partition)?.destroy();
    this.partitions.delete(partition);
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
    this.partitions.get(partition)?.destroy();
    this.partitions.set(partition, store);
    this.logger.info({ partition, records, ms: Date.now() - started }, 'state restored');
  }

  private decode = async (
    chunk: InputChunk,
  ): Promise<{ customer: string; input: ProcessorInput }[]> => {
    const inputs: { customer: string; input: ProcessorInput }[] = [];
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

  /** Applies inputs (or ticks) to staged copies of the state; commits them only after the transaction does. */
  private stage(
    partition: number,
    inputs: { customer: string; input: ProcessorInput; processor?: string }[],
  ): ProcessResult {
    // never on state that is not (or no longer) this member's: a missing customer would read as
    // new and its changelog entry be overwritten
    if (!this.restoredDone.has(partition))
      throw new NotReadyError(`the state of partition ${String(partition)} is not restored (yet)`);
    const now = this.clock();
    const staged = new Map<string, Map<string, unknown>>();
    const outputs: ProcessorOutput[] = [];
    const notes: { processor: string; note: string }[] = [];
    const store = this.partitions.get(partition);
    for (const { customer, input, processor: only } of inputs) {
      for (const [s, { processor }] of this.processors.entries()) {
        if (only && processor.name !== only) continue;
        const stagedFor = staged.get(processor.name) ?? new Map<string, unknown>();
        staged.set(processor.name, stagedFor);
        let current: unknown;
        if (stagedFor.has(customer)) current = stagedFor.get(customer);
        else {
          const stored = store?.get(s, customer);
          current =
            stored === undefined
              ? undefined
              : decodeOrPoison(`the ${processor.name} state`, () => processor.codec.decode(stored));
        }
        const result = reduceOrPoison(processor, current, input, now);
        stagedFor.set(customer, result.state);
        outputs.push(...result.outputs.filter((o) => this.enabled.has(o.kind)));
        for (const note of result.notes ?? []) notes.push({ processor: processor.name, note });
      }
    }
    const records: TopicRecords[] = [];
    const encoded = new Map<
      string,
      Map<string, { value: Buffer; deadline: number | undefined } | null>
    >();
    for (const { processor, changelog } of this.processors) {
      const changes = staged.get(processor.name);
      if (!changes?.size) continue;
      const values = new Map<string, { value: Buffer; deadline: number | undefined } | null>();
      const messages: Message[] = [];
      for (const [customer, state] of changes) {
        if (state === undefined) {
          values.set(customer, null);
          messages.push({ key: customer, value: null, partition });
          continue;
        }
        const value = encodeOrPoison(`the ${processor.name} state`, () =>
          processor.codec.encode(state),
        );
        const deadline = decodeOrPoison(`the ${processor.name} deadline`, () =>
          processor.nextTimer(state, now),
        );
        values.set(customer, { value, deadline });
        const message = { key: customer, value, partition, headers: deadlineHeader(deadline) };
        assertFits(message, `the ${processor.name} state of its customer`);
        messages.push(message);
      }
      encoded.set(processor.name, values);
      records.push({ topic: changelog, messages });
    }
    records.push(...this.encodeOutputs(outputs));
    return {
      records,
      afterCommit: () => {
        for (const n of notes) this.metrics?.processorNotes.inc(n);
        // the partition's store now (it may have been forgotten meanwhile: then nothing to do)
        const target = this.partitions.get(partition);
        if (!target) return;
        for (const [s, { processor }] of this.processors.entries()) {
          const changes = staged.get(processor.name);
          if (!changes) continue;
          for (const customer of changes.keys()) {
            const written = encoded.get(processor.name)?.get(customer) ?? null;
            if (written === null) target.put(s, customer, null, undefined);
            else target.put(s, customer, written.value, written.deadline);
          }
        }
        target.flush();
      },
    };
  }

  /**
   * Stages due deadlines; a customer whose tick can never be processed (its reducer throws, its
   * output or state would not fit a record) is left out — its deadline cleared until its next
   * input, logged and counted — so that it does not hold the partition's other deadlines.
   */
  private stageTicks(
    partition: number,
    due: { customer: string; input: ProcessorInput; processor: string }[],
    store: PartitionStore,
  ): ProcessResult {
    try {
      return this.stage(partition, due);
    } catch (err) {
      if (!(err instanceof PoisonError)) throw err;
    }
    const fine = due.filter((tick) => {
      try {
        this.stage(partition, [tick]);
        return true;
      } catch (err) {
        if (!(err instanceof PoisonError)) throw err;
        const s = this.processors.findIndex((p) => p.processor.name === tick.processor);
        const value = store.get(s, tick.customer);
        if (value !== undefined) store.put(s, tick.customer, value, undefined);
        this.metrics?.poison.inc({ service: 'process', code: err.code, kind: 'deterministic' });
        this.logger.error(
          {
            partition,
            processor: tick.processor,
            code: err.code,
            reason: err.message.slice(0, 300),
          },
          'a deadline could not be processed; it waits for the customer’s next input',
        );
        return false;
      }
    });
    return this.stage(partition, fine);
  }

  private encodeOutputs(outputs: ProcessorOutput[]): TopicRecords[] {
    const topicOf: Record<ProcessorOutput['kind'], string> = {
      completed: this.config.TOPIC_CUSTOMER_COMPLETED,
      'new-transactions': this.config.TOPIC_CUSTOMER_NEW_TRANSACTIONS,
      alert: this.config.TOPIC_CUSTOMER_ALERTS,
    };
    const byTopic = new Map<string, Message[]>();
    for (const o of outputs) {
      const topic = topicOf[o.kind];
      const list = byTopic.get(topic) ?? [];
      const message = {
        key: o.value.customer_id,
        value: encodeOrPoison(`a ${o.kind} output`, () => this.encoders[o.kind](o.value)),
      };
      assertFits(message, `a ${o.kind} output`);
      list.push(message);
      byTopic.set(topic, list);
    }
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
  }

  private async processChunk(chunk: InputChunk): Promise<ProcessResult> {
    const result = this.stage(chunk.partition, await this.decode(chunk));
    return {
      ...result,
      afterCommit: () => {
        result.afterCommit?.();
        this.noteInput(chunk);
      },
    };
  }

  /** Per partition: how far its input has been processed (deadlines wait for it). */
  private readonly input = new Map<number, InputProgress>();

  private noteInput(chunk: InputChunk): void {
    const last = chunk.messages[chunk.messages.length - 1];
    if (!last) return;
    const progress = this.input.get(chunk.partition) ?? new InputProgress();
    progress.note(
      {
        topic: chunk.topic,
        timestamps: chunk.messages.map((m) => Number(m.timestamp)),
        lastOffset: last.offset,
        highWatermark: chunk.highWatermark,
      },
      this.clock(),
    );
    this.input.set(chunk.partition, progress);
  }

  private mayFire(partition: number, at: number, now: number): boolean {
    return this.input.get(partition)?.mayFire(at, now) ?? at <= now;
  }

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
      const store = this.partitions.get(partition);
      if (!store) continue;
      const due = store
        .due(now, (at) => this.mayFire(partition, at, now))
        .map(({ customer, store: s }) => ({
          customer,
          input: { kind: 'tick' } as const,
          processor: this.processors[s]?.processor.name ?? '',
        }));
      if (due.length === 0) continue;
      await this.runner.transact(this.config.TOPIC_REFRESH_EVENTS, partition, () =>
        Promise.resolve().then(() => this.stageTicks(partition, due, store)),
      );
    }
  }
}

/** A reducer's throw: it is pure, so the same input throws again; the input is poison. */
function reduceOrPoison(
  processor: Processor<unknown>,
  state: unknown,
  input: ProcessorInput,
  now: number,
): ReduceResult<unknown> {
  try {
    return processor.reduce(state, input, now);
  } catch (err) {
    throw new PoisonError('REDUCER_FAILED', `${processor.name}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** A stored state that cannot be read, or a deadline that cannot be computed, never will be. */
function decodeOrPoison<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw new PoisonError('STATE_UNREADABLE', `${what}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function encodeOrPoison(what: string, encode: () => Buffer): Buffer {
  try {
    return encode();
  } catch (err) {
    throw new PoisonError('ENCODE_FAILED', `${what}: ${(err as Error).message}`, { cause: err });
  }
}

/** A record the broker would refuse makes its input poison (src/contract/limits.ts). */
function assertFits(message: Message, what: string): void {
  const size = recordSize(message);
  if (size > LIMITS.recordBytes)
    throw new PoisonError(
      'RECORD_TOO_LARGE',
      `${what} would be a record of ${String(size)} bytes; at most ${String(LIMITS.recordBytes)}`,
    );
}

/**
 * A directory of its own under STATE_DIR for this process's values files. Directories left by
 * processes that died without stopping (named after their pid) are removed: their state is in the
 * changelogs, and a restore rebuilds it.
 */
function createStateDir(configured: string | undefined, logger: Logger): string {
  const base = configured ?? path.join(os.tmpdir(), 'refreshbus-state');
  fs.mkdirSync(base, { recursive: true, mode: 0o700 });
  for (const entry of fs.readdirSync(base)) {
    const pid = Number(/^(\d+)-/.exec(entry)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    fs.rmSync(path.join(base, entry), { recursive: true, force: true });
    logger.info({ dir: path.join(base, entry) }, 'removed the state files of a stopped process');
  }
  return fs.mkdtempSync(path.join(base, `${String(process.pid)}-`));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A changelog record carries its state's next deadline (ms since the epoch; empty for none), so a
 * restore need not decode every state to find it: decoding was two thirds of a restore's CPU.
 */
const DEADLINE_HEADER = 'refreshbus.deadline';

function deadlineHeader(deadline: number | undefined): IHeaders {
  return { [DEADLINE_HEADER]: deadline === undefined ? '' : String(deadline) };
}

/** The deadline a changelog record carries: a number, undefined for none, null when absent. */
export function readDeadline(headers: IHeaders | undefined): number | undefined | null {
  const raw = headers?.[DEADLINE_HEADER];
  if (raw === undefined) return null;
  const text = (Array.isArray(raw) ? raw[0] : raw)?.toString() ?? '';
  if (text === '') return undefined;
  const at = Number(text);
  return Number.isFinite(at) ? at : null;
}

/**
 * A full garbage collection once every assigned partition is restored. A restore allocates
 * hundreds of MB that die at once (kafkajs's fetch responses and decoded records, the states'
 * timers); V8 keeps them, and the buffers they hold, resident until its next major collection,
 * which an idle processor may not run for a long time. `gc` is V8's own, exposed for this call.
 */
let fullGc: (() => void) | undefined;

function collectRestoreGarbage(logger: Logger): void {
  setImmediate(() => {
    try {
      if (!fullGc) {
        v8.setFlagsFromString('--expose-gc');
        fullGc = vm.runInNewContext('gc') as () => void;
      }
      const started = performance.now();
      fullGc();
      logger.debug(
        { ms: Math.round(performance.now() - started) },
        'collected the restore garbage',
      );
    } catch (err) {
      logger.debug({ err }, 'no full garbage collection after the restore');
    }
  });
}
