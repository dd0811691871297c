/**
 * The per-partition task (src/processors/task.ts), which the Kafka host and the test driver both
 * run: staged state reaches the store only on commit, deadlines wait for input known to be
 * waiting, a deadline that can never be processed does not hold the others, and a record the
 * broker would refuse makes its input poison. A toy processor keeps the cases small.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../../src/contract/limits.js';
import type { PoisonError } from '../../../src/kafka/errors.js';
import { PartitionTask, readDeadline } from '../../../src/processors/task.js';
import type { Tick } from '../../../src/processors/task.js';
import type { Processor, ProcessorInput } from '../../../src/processors/types.js';
import { PartitionStore } from '../../../src/state/partition-store.js';

interface Toy {
  n: number;
  at?: number;
  poison?: boolean;
  big?: boolean;
}

/** Counts events; a deadline 1 s after the last one emits an alert (or throws, for `poison`). */
const toy: Processor<Toy> = {
  name: 'toy',
  codec: {
    encode: (s) => Buffer.from(JSON.stringify(s)),
    decode: (b) => JSON.parse(b.toString()) as Toy,
  },
  reduce(state, input: ProcessorInput, now) {
    const s = state ?? { n: 0 };
    if (input.kind !== 'tick') {
      const flags = input.kind === 'event' ? (input.event as unknown as Partial<Toy>) : {};
      return { state: { ...s, ...flags, n: s.n + 1, at: now + 1000 }, outputs: [] };
    }
    if (s.poison) throw new Error('cannot tick');
    const reason = s.big ? 'x'.repeat(LIMITS.recordBytes + 1) : 'due';
    const alert = { customer_id: 'c', reason } as never;
    return { state: { n: s.n }, outputs: [{ kind: 'alert', value: alert }] };
  },
  nextTimer: (s) => s.at,
};

const dir = mkdtempSync(path.join(tmpdir(), 'refreshbus-task-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
let stores = 0;

function task(enabled: ('alert' | 'completed')[] = ['alert']) {
  const store = new PartitionStore(dir, `t${String(++stores)}`, 1);
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  return new PartitionTask(3, store, [{ processor: toy, changelog: 'log' }], {
    enabled: new Set(enabled),
    topics: { completed: 'done', 'new-transactions': 'new', alert: 'alerts' },
    encoders: { completed: json, 'new-transactions': json, alert: json },
  });
}

const event = (customer: string, flags: Partial<Toy> = {}) => ({
  customer,
  input: { kind: 'event', event: flags } as unknown as ProcessorInput,
});
const T = 1_000_000;

describe('PartitionTask', () => {
  it('stages state apart from the store; commit writes it, with its deadline in the changelog', () => {
    const t = task();
    const work = t.stage([event('a'), event('a'), event('b')], T);
    expect(t.store.get(0, 'a')).toBeUndefined(); // not before the transaction commits
    const [changelog] = work.records;
    expect(changelog?.topic).toBe('log');
    expect(changelog?.messages.map((m) => [m.key, m.partition])).toEqual([
      ['a', 3],
      ['b', 3],
    ]);
    expect(readDeadline(changelog?.messages[0]?.headers)).toBe(T + 1000);
    work.commitTo(undefined); // the partition was forgotten meanwhile: nothing to write
    expect(t.store.get(0, 'a')).toBeUndefined();
    work.commitTo(t.store);
    expect(toy.codec.decode(t.store.get(0, 'a') ?? Buffer.alloc(0)).n).toBe(2);
    expect(t.dueTicks(T + 999)).toEqual([]);
    expect(t.dueTicks(T + 1000).map((tick) => tick.customer)).toEqual(['a', 'b']);
  });

  it('holds a deadline back while input from before it is known to wait', () => {
    const t = task();
    t.stage([event('a')], T).commitTo(t.store);
    // the chunk processed ended 10 records before the partition's end: input is waiting
    t.noteInput({ topic: 'events', timestamps: [T], lastOffset: '5', highWatermark: '16' }, T);
    expect(t.dueTicks(T + 1000)).toEqual([]);
    // caught up (at most a transaction marker after the last record)
    t.noteInput({ topic: 'events', timestamps: [T], lastOffset: '15', highWatermark: '16' }, T);
    expect(t.dueTicks(T + 1000)).toHaveLength(1);
  });

  it('fires the other deadlines when one can never be processed, and clears that one', () => {
    const t = task();
    t.stage([event('a'), event('bad', { poison: true }), event('c')], T).commitTo(t.store);
    const due = t.dueTicks(T + 1000);
    const skipped: [Tick, PoisonError][] = [];
    const work = t.stageTicks(due, T + 1000, (tick, err) => skipped.push([tick, err]));
    expect(work.outputs.map((o) => o.kind)).toEqual(['alert', 'alert']);
    expect(skipped.map(([tick, err]) => [tick.customer, err.code])).toEqual([
      ['bad', 'REDUCER_FAILED'],
    ]);
    work.commitTo(t.store);
    expect(t.dueTicks(T + 5000)).toEqual([]); // 'bad' waits for its next input
    expect(t.store.get(0, 'bad')).toBeDefined(); // its state is kept
  });

  it('makes an input poison when its output would not fit a record, and encodes only enabled outputs', () => {
    const t = task();
    t.stage([event('a', { big: true })], T).commitTo(t.store);
    const [tick] = t.dueTicks(T + 1000);
    expect(() => t.stage(tick ? [tick] : [], T + 1000)).toThrow(
      expect.objectContaining({ code: 'RECORD_TOO_LARGE' }) as Error,
    );
    const quiet = task(['completed']);
    quiet.stage([event('a')], T).commitTo(quiet.store);
    const work = quiet.stage(quiet.dueTicks(T + 1000), T + 1000);
    expect(work.outputs).toEqual([]);
    expect(work.records.map((r) => r.topic)).toEqual(['log']);
  });
});
