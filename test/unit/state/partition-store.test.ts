import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PartitionStore } from '../../../src/state/partition-store.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'partition-store-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const bytes = (s: string) => Buffer.from(s);

describe('PartitionStore', () => {
  it('keeps each store’s value and deadline per customer, and counts them', () => {
    const store = new PartitionStore(dir, 'p0', 2);
    store.put(0, 'c1', bytes('rounds-1'), 100);
    store.put(1, 'c1', bytes('alerts-1'), undefined);
    store.put(0, 'c2', bytes('rounds-2'), 300);
    expect(store.get(0, 'c1')?.toString()).toBe('rounds-1');
    expect(store.get(1, 'c1')?.toString()).toBe('alerts-1');
    expect(store.get(1, 'c2')).toBeUndefined();
    expect(store.get(0, 'nobody')).toBeUndefined();
    expect([store.size(0), store.size(1)]).toEqual([2, 1]);

    store.put(0, 'c1', bytes('rounds-1b'), 200);
    expect(store.get(0, 'c1')?.toString()).toBe('rounds-1b');
    expect(store.size(0)).toBe(2);

    store.put(0, 'c1', null, undefined);
    expect(store.get(0, 'c1')).toBeUndefined();
    expect(store.get(1, 'c1')?.toString()).toBe('alerts-1'); // the other store keeps its value
    expect([store.size(0), store.size(1)]).toEqual([1, 1]);
    store.destroy();
  });

  it('hands out due deadlines only, in both stores, as `mayFire` allows', () => {
    const store = new PartitionStore(dir, 'p0', 2);
    store.put(0, 'a', bytes('x'), 100);
    store.put(1, 'a', bytes('y'), 500);
    store.put(0, 'b', bytes('x'), 250);
    store.put(0, 'c', bytes('x'), undefined);
    expect(store.due(50, () => true)).toEqual([]);
    expect(store.due(300, () => true)).toEqual([
      { customer: 'a', store: 0 },
      { customer: 'b', store: 0 },
    ]);
    // held back by the input's progress: not handed out, and asked again on the next scan
    expect(store.due(300, (at) => at < 200)).toEqual([{ customer: 'a', store: 0 }]);
    store.setDeadline(0, 'a', 1000);
    store.put(0, 'b', bytes('x2'), undefined);
    expect(store.due(600, () => true)).toEqual([{ customer: 'a', store: 1 }]);
    // a deadline earlier than any seen before is found although the last scan found none due
    expect(store.due(700, () => true)).toEqual([{ customer: 'a', store: 1 }]);
    store.put(1, 'a', bytes('y'), undefined);
    expect(store.due(900, () => true)).toEqual([]);
    store.put(1, 'c', bytes('z'), 800);
    expect(store.due(900, () => true)).toEqual([{ customer: 'c', store: 1 }]);
    store.destroy();
  });

  it('reuses the slot of a customer deleted from every store', () => {
    const store = new PartitionStore(dir, 'p0', 1);
    store.put(0, 'a', bytes('1'), 10);
    store.put(0, 'a', null, undefined);
    store.put(0, 'b', bytes('2'), 20);
    expect(store.get(0, 'a')).toBeUndefined();
    expect(store.get(0, 'b')?.toString()).toBe('2');
    // the freed slot's deadline went with it
    expect(store.due(100, () => true)).toEqual([{ customer: 'b', store: 0 }]);
    store.destroy();
  });

  it('compacts its file once most of it is dead, values intact', () => {
    const store = new PartitionStore(dir, 'p0', 2, 64 * 1024);
    const value = (i: number, round: number) => Buffer.alloc(200, `${i}:${round};`);
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 100; i++) store.put(round % 2, `c${String(i)}`, value(i, round), i);
      store.flush();
    }
    // 10 × 100 values of 200 bytes written, 2 × 100 live: compacted at least once
    expect(store.fileBytes()).toBeLessThan(10 * 100 * 200);
    expect(store.fileBytes()).toBeGreaterThanOrEqual(2 * 100 * 200);
    for (let i = 0; i < 100; i++) {
      expect(store.get(0, `c${String(i)}`)).toEqual(value(i, 8));
      expect(store.get(1, `c${String(i)}`)).toEqual(value(i, 9));
    }
    expect(fs.readdirSync(dir)).toHaveLength(1); // the old file is gone
    store.destroy();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('keeps values larger than its write buffer, between small ones', () => {
    const store = new PartitionStore(dir, 'p0', 1);
    const big = Buffer.alloc(300 * 1024, 'b');
    store.put(0, 'small-1', bytes('s1'), undefined);
    store.put(0, 'big', big, undefined);
    store.put(0, 'small-2', bytes('s2'), undefined);
    expect(store.get(0, 'small-1')?.toString()).toBe('s1');
    expect(store.get(0, 'big')).toEqual(big);
    expect(store.get(0, 'small-2')?.toString()).toBe('s2');
    store.destroy();
  });

  it('grows past its first capacity', () => {
    const store = new PartitionStore(dir, 'p0', 2);
    for (let i = 0; i < 5000; i++) store.put(i % 2, `c${String(i)}`, bytes(`v${String(i)}`), i);
    store.flush();
    expect(store.size(0) + store.size(1)).toBe(5000);
    expect(store.get(1, 'c4999')?.toString()).toBe('v4999');
    expect(store.due(2, () => true)).toHaveLength(3);
    store.destroy();
  });

  it('behaves as a map of (store, customer) to value and deadline (generated operations)', () => {
    const op = fc.record({
      store: fc.integer({ min: 0, max: 1 }),
      customer: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
      value: fc.option(fc.uint8Array({ minLength: 0, maxLength: 40 }), { nil: null }),
      deadline: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
      flush: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 0, max: 100 }), (ops, now) => {
        const store = new PartitionStore(dir, `model-${String(Math.random()).slice(2)}`, 2, 256);
        const model = new Map<string, { value: Buffer; deadline: number | undefined }>();
        try {
          for (const o of ops) {
            const value = o.value === null ? null : Buffer.from(o.value);
            store.put(o.store, o.customer, value, o.deadline);
            const key = `${String(o.store)}/${o.customer}`;
            if (value === null || value.length === 0) model.delete(key);
            else model.set(key, { value, deadline: o.deadline });
            if (o.flush) store.flush();
          }
          for (const s of [0, 1]) {
            for (const c of ['a', 'b', 'c', 'd', 'e'])
              expect(store.get(s, c)).toEqual(model.get(`${String(s)}/${c}`)?.value);
            expect(store.size(s)).toBe(
              [...model.keys()].filter((k) => k.startsWith(`${String(s)}/`)).length,
            );
          }
          const due = store
            .due(now, () => true)
            .map((d) => `${String(d.store)}/${d.customer}`)
            .sort();
          const expected = [...model]
            .filter(([, v]) => v.deadline !== undefined && v.deadline <= now)
            .map(([k]) => k)
            .sort();
          expect(due).toEqual(expected);
        } finally {
          store.destroy();
        }
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});
