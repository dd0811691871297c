import { HEADER } from '../contract/headers.js';
import { LIMITS, recordSize } from '../contract/limits.js';
import { PoisonError } from '../kafka/errors.js';
import type { PartitionStore } from '../state/partition-store.js';
import { InputProgress } from './input-progress.js';
import type {
  Processor,
  ProcessorInput,
  ProcessorNote,
  ProcessorOutput,
  ReduceResult,
} from './types.js';

/**
 * One input partition's processing, without Kafka (Kafka Streams' StreamTask): inputs applied to
 * staged copies of the partition's state, the changelog records and outputs they cause, the state
 * committed to the store only once the transaction carrying those records has, and deadlines
 * gated by the partition's input progress. The Kafka host (host.ts) and the in-memory test driver
 * (test/support/processor-driver.ts) both run it.
 */

/** A record the task writes: plain data, in the shape the Kafka layer sends. */
export interface TaskMessage {
  readonly key: string;
  readonly value: Buffer | null;
  readonly partition?: number;
  readonly headers?: Record<string, string>;
}

export interface TaskRecords {
  readonly topic: string;
  readonly messages: TaskMessage[];
}

/** A processor the task runs, and the changelog its state is written to (store index = position). */
export interface TaskProcessor {
  readonly processor: Processor<unknown>;
  readonly changelog: string;
}

/** Which outputs are wanted, the topic of each kind, and how each is encoded. */
export interface TaskOutputs {
  readonly enabled: ReadonlySet<ProcessorOutput['kind']>;
  readonly topics: Readonly<Record<ProcessorOutput['kind'], string>>;
  readonly encoders: Readonly<Record<ProcessorOutput['kind'], (value: unknown) => Buffer>>;
}

/** An input for one customer; `processor` set: for that processor only (a deadline's tick). */
export interface TaskInput {
  readonly customer: string;
  readonly input: ProcessorInput;
  readonly processor?: string;
}

export interface Tick extends TaskInput {
  readonly processor: string;
}

/** Work applied to staged copies of the state: what the transaction carries, and its commit. */
export interface StagedWork {
  /** The changelog records and encoded outputs, for the transaction. */
  readonly records: TaskRecords[];
  /** The outputs, enabled kinds only (as encoded in `records`). */
  readonly outputs: ProcessorOutput[];
  /** Inputs the processors set aside (a metric). */
  readonly notes: { processor: string; note: ProcessorNote }[];
  /**
   * Once the transaction has committed: the staged states into `store` — the partition's store
   * now, undefined if it was forgotten meanwhile (then its changelog has them).
   */
  commitTo(store: PartitionStore | undefined): void;
}

/** A staged state as written to its changelog: null = deleted. */
type Written = { value: Buffer; deadline: number | undefined } | null;

export class PartitionTask {
  /** How far the partition's input has been processed (deadlines wait for it). */
  readonly progress = new InputProgress();

  constructor(
    readonly partition: number,
    readonly store: PartitionStore,
    private readonly processors: readonly TaskProcessor[],
    private readonly outputs: TaskOutputs,
  ) {}

  /** Applies inputs to staged copies of the state; the store changes only on `commitTo`. */
  stage(inputs: readonly TaskInput[], now: number): StagedWork {
    const staged = this.processors.map(() => new Map<string, unknown>());
    const outputs: ProcessorOutput[] = [];
    const notes: { processor: string; note: ProcessorNote }[] = [];
    for (const { customer, input, processor: only } of inputs) {
      for (const [s, { processor }] of this.processors.entries()) {
        if (only && processor.name !== only) continue;
        const stagedFor = staged[s] ?? new Map<string, unknown>();
        const current = stagedFor.has(customer)
          ? stagedFor.get(customer)
          : this.read(s, processor, customer);
        const result = reduceOrPoison(processor, current, input, now);
        stagedFor.set(customer, result.state);
        outputs.push(...result.outputs.filter((o) => this.outputs.enabled.has(o.kind)));
        for (const note of result.notes ?? []) notes.push({ processor: processor.name, note });
      }
    }
    const { records, written } = this.changelogRecords(staged, now);
    records.push(...this.outputRecords(outputs));
    return {
      records,
      outputs,
      notes,
      commitTo: (store) => {
        if (!store) return;
        for (const [s, changes] of written.entries()) {
          for (const [customer, w] of changes) {
            if (w === null) store.put(s, customer, null, undefined);
            else store.put(s, customer, w.value, w.deadline);
          }
        }
        store.flush();
      },
    };
  }

  /** Notes a processed (committed) chunk of input: deadlines wait for input from before them. */
  noteInput(chunk: Parameters<InputProgress['note']>[0], now: number): void {
    this.progress.note(chunk, now);
  }

  /** The deadlines due at `now` that no waiting input holds back, as ticks. */
  dueTicks(now: number): Tick[] {
    return this.store
      .due(now, (at) => this.progress.mayFire(at, now))
      .map(({ customer, store: s }) => ({
        customer,
        input: { kind: 'tick' } as const,
        processor: this.processors[s]?.processor.name ?? '',
      }));
  }

  /**
   * Stages due deadlines; a customer whose tick can never be processed (its reducer throws, its
   * output or state would not fit a record) is left out — its deadline cleared until its next
   * input, and `skipped` told (to log and count it) — so that it does not hold the partition's
   * other deadlines.
   */
  stageTicks(
    due: readonly Tick[],
    now: number,
    skipped: (tick: Tick, err: PoisonError) => void,
  ): StagedWork {
    try {
      return this.stage(due, now);
    } catch (err) {
      if (!(err instanceof PoisonError)) throw err;
    }
    const fine = due.filter((tick) => {
      try {
        this.stage([tick], now);
        return true;
      } catch (err) {
        if (!(err instanceof PoisonError)) throw err;
        const s = this.processors.findIndex((p) => p.processor.name === tick.processor);
        this.store.setDeadline(s, tick.customer, undefined);
        skipped(tick, err);
        return false;
      }
    });
    return this.stage(fine, now);
  }

  /** A customer's stored state, decoded for the call (reduce may change it in place). */
  private read(s: number, processor: Processor<unknown>, customer: string): unknown {
    const stored = this.store.get(s, customer);
    return stored === undefined
      ? undefined
      : decodeOrPoison(`the ${processor.name} state`, () => processor.codec.decode(stored));
  }

  /** The staged states as changelog records (deadline in a header), and as the store will hold them. */
  private changelogRecords(
    staged: readonly Map<string, unknown>[],
    now: number,
  ): { records: TaskRecords[]; written: Map<string, Written>[] } {
    const records: TaskRecords[] = [];
    const written = this.processors.map(() => new Map<string, Written>());
    for (const [s, { processor, changelog }] of this.processors.entries()) {
      const changes = staged[s];
      if (!changes?.size) continue;
      const messages: TaskMessage[] = [];
      for (const [customer, state] of changes) {
        if (state === undefined) {
          written[s]?.set(customer, null);
          messages.push({ key: customer, value: null, partition: this.partition });
          continue;
        }
        const what = `the ${processor.name} state`;
        const value = encodeOrPoison(what, () => processor.codec.encode(state));
        const deadline = decodeOrPoison(`the ${processor.name} deadline`, () =>
          processor.nextTimer(state, now),
        );
        written[s]?.set(customer, { value, deadline });
        const headers = deadlineHeader(deadline);
        const message = { key: customer, value, partition: this.partition, headers };
        assertFits(message, `${what} of its customer`);
        messages.push(message);
      }
      records.push({ topic: changelog, messages });
    }
    return { records, written };
  }

  private outputRecords(outputs: readonly ProcessorOutput[]): TaskRecords[] {
    const byTopic = new Map<string, TaskMessage[]>();
    for (const o of outputs) {
      const topic = this.outputs.topics[o.kind];
      const list = byTopic.get(topic) ?? [];
      const encode = this.outputs.encoders[o.kind];
      const message = {
        key: o.value.customer_id,
        value: encodeOrPoison(`a ${o.kind} output`, () => encode(o.value)),
      };
      assertFits(message, `a ${o.kind} output`);
      list.push(message);
      byTopic.set(topic, list);
    }
    return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
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
function assertFits(message: TaskMessage, what: string): void {
  const size = recordSize(message);
  if (size > LIMITS.recordBytes)
    throw new PoisonError(
      'RECORD_TOO_LARGE',
      `${what} would be a record of ${String(size)} bytes; at most ${String(LIMITS.recordBytes)}`,
    );
}

/**
 * A changelog record carries its state's next deadline (ms since the epoch; empty for none), so a
 * restore need not decode every state to find it: decoding was two thirds of a restore's CPU.
 */
function deadlineHeader(deadline: number | undefined): Record<string, string> {
  return { [HEADER.changelogDeadline]: deadline === undefined ? '' : String(deadline) };
}

/** The deadline a changelog record carries: a number, undefined for none, null when absent. */
export function readDeadline(
  headers: Readonly<Record<string, Buffer | string | (Buffer | string)[] | undefined>> | undefined,
): number | undefined | null {
  const raw = headers?.[HEADER.changelogDeadline];
  if (raw === undefined) return null;
  const text = (Array.isArray(raw) ? raw[0] : raw)?.toString() ?? '';
  if (text === '') return undefined;
  const at = Number(text);
  return Number.isFinite(at) ? at : null;
}
