import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/config/config.js';
import { PartitionTask } from '../../src/processors/task.js';
import type { TaskInput, TaskOutputs } from '../../src/processors/task.js';
import type { Processor, ProcessorInput, ProcessorOutput } from '../../src/processors/types.js';
import { avroEncoder } from '../../src/registry/avro-encoder.js';
import { PartitionStore } from '../../src/state/partition-store.js';

/** The output schemas, encoding as the processors do in production (schema id 1: no registry). */
function encoders(): TaskOutputs['encoders'] {
  const schema = (name: string) =>
    readFileSync(path.join(packageRoot, 'schemas', `${name}.avsc`), 'utf8');
  return {
    completed: avroEncoder(1, schema('CustomerRefreshCompleted')),
    'new-transactions': avroEncoder(1, schema('NewTransactionsAvailable')),
    alert: avroEncoder(1, schema('ReconnectAlert')),
  };
}

let storeDir: string | undefined;
let stores = 0;

/** A values file of its own per driver, under one directory removed when the process exits. */
function newStore(processors: number): PartitionStore {
  if (!storeDir) {
    const dir = mkdtempSync(path.join(tmpdir(), 'refreshbus-driver-'));
    process.once('exit', () => {
      rmSync(dir, { recursive: true, force: true });
    });
    storeDir = dir;
  }
  return new PartitionStore(storeDir, `driver-${String(++stores)}`, processors);
}

/**
 * Runs processors in memory through production's per-partition task (src/processors/task.ts)
 * and state store, without Kafka (Kafka Streams' TopologyTestDriver): feed records, move the
 * clock, read outputs and state. Each step is staged, encoded (states through their codecs,
 * outputs through their Avro schemas, both checked against the record size limit) and committed
 * as a transaction's would be; deadlines fire in time order as the clock passes them, gated by
 * the task as in production.
 */
export class ProcessorDriver {
  readonly outputs: ProcessorOutput[] = [];
  private readonly task: PartitionTask;
  private readonly processors: readonly Processor<unknown>[];
  private offset = 0;

  constructor(
    processors: readonly Processor<unknown>[],
    public now: number,
  ) {
    this.processors = processors;
    const kinds = ['completed', 'new-transactions', 'alert'] as const;
    this.task = new PartitionTask(
      0,
      newStore(processors.length),
      processors.map((processor) => ({ processor, changelog: `${processor.name}.changelog` })),
      {
        enabled: new Set(kinds),
        topics: { completed: 'completed', 'new-transactions': 'new-transactions', alert: 'alert' },
        encoders: encoders(),
      },
    );
  }

  /** Feeds one input for `customer` to every processor; returns the outputs it caused. */
  feed(customer: string, input: ProcessorInput): ProcessorOutput[] {
    const produced = this.commit([{ customer, input }]);
    this.task.noteInput(
      { topic: 'input', timestamps: [this.now], lastOffset: String(this.offset++) },
      this.now,
    );
    return produced;
  }

  /** Moves the clock forward by `ms`, firing due deadlines in time order; returns the outputs they caused. */
  advance(ms: number): ProcessorOutput[] {
    const until = this.now + ms;
    const produced: ProcessorOutput[] = [];
    for (;;) {
      const next = this.task.store.nextDeadline();
      if (next === undefined || next > until) break;
      this.now = Math.max(this.now, next);
      const due = this.task.dueTicks(this.now);
      if (due.length === 0) break;
      const work = this.task.stageTicks(due, this.now, (tick, err) => {
        throw new Error(`the deadline of ${tick.customer} (${tick.processor}) failed`, {
          cause: err,
        });
      });
      work.commitTo(this.task.store);
      this.outputs.push(...work.outputs);
      produced.push(...work.outputs);
    }
    this.now = until;
    return produced;
  }

  /** Puts a state in place as a restore from the changelog does, with its deadline. */
  restore(processor: string, customer: string, state: unknown): void {
    const s = this.processors.findIndex((x) => x.name === processor);
    const p = this.processors[s];
    if (!p) throw new Error(`no processor ${processor}`);
    const value = p.codec.encode(state);
    this.task.store.put(s, customer, value, p.nextTimer(p.codec.decode(value), this.now));
    this.task.store.flush();
  }

  /** A customer's committed state in `processor`, decoded (undefined: none). */
  state(processor: string, customer: string): unknown {
    const s = this.processors.findIndex((x) => x.name === processor);
    const stored = this.task.store.get(s, customer);
    return stored === undefined ? undefined : this.processors[s]?.codec.decode(stored);
  }

  /** Stages `inputs`, commits them as a transaction's success would, and keeps their outputs. */
  private commit(inputs: TaskInput[]): ProcessorOutput[] {
    const work = this.task.stage(inputs, this.now);
    work.commitTo(this.task.store);
    this.outputs.push(...work.outputs);
    return work.outputs;
  }
}
