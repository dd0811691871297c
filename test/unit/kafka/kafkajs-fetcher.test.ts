import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/**
 * kafkajs's consumer fetch loop as patched by patches/kafkajs+2.2.4.patch. The original fetcher
 * waited for every batch of a fetch before fetching again, so one partition's slow transaction
 * held back every other partition of the broker (in the end-to-end benchmark, p99 1.8 s). Patched,
 * a partition is not fetched while its batch is processed, and the others go on. The fetch here is
 * a fake; the fetcher, the worker queue and its workers are kafkajs's own code.
 */
const require = createRequire(import.meta.url);

interface FakeBatch {
  topic: string;
  partition: number;
  n: number;
}
interface FetchOptions {
  exclude?: Set<string>;
  maxWaitTime?: number;
}
type Handler = (batch: FakeBatch) => Promise<void>;

const createFetcher = require('kafkajs/src/consumer/fetcher.js') as (options: {
  nodeId: number;
  workerQueue: unknown;
  partitionAssignments: Map<string, number>;
  fetch: (nodeId: number, options?: FetchOptions) => Promise<FakeBatch[]>;
  logger: unknown;
}) => { start: () => Promise<void>; stop: () => Promise<void> };
const createWorkerQueue = require('kafkajs/src/consumer/workerQueue.js') as (options: {
  workers: unknown[];
}) => { push: (...batches: FakeBatch[]) => Promise<void> };
const createWorker = require('kafkajs/src/consumer/worker.js') as (options: {
  handler: Handler;
  workerId: number;
}) => unknown;

const quiet = {
  namespace: () => quiet,
  debug() {},
  info() {},
  warn() {},
  error() {},
};

const tick = () => new Promise((r) => setTimeout(r, 1));

function deferred() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * A fetcher over partitions 0..partitions-1 of topic `t`, each fetch returning one batch per
 * partition not excluded, handled by `handler` on `concurrency` workers.
 */
function harness(partitions: number, concurrency: number, handler: Handler) {
  const fetches: { excluded: string[]; maxWaitTime: number | undefined }[] = [];
  const count = new Map<number, number>();
  const fetch = async (_nodeId: number, options: FetchOptions = {}) => {
    fetches.push({
      excluded: [...(options.exclude ?? [])].sort(),
      maxWaitTime: options.maxWaitTime,
    });
    await tick(); // a fetch is a round trip
    const batches: FakeBatch[] = [];
    for (let p = 0; p < partitions; p++) {
      if (options.exclude?.has(`t|${p}`)) continue;
      const n = (count.get(p) ?? 0) + 1;
      count.set(p, n);
      batches.push({ topic: 't', partition: p, n });
    }
    return batches;
  };
  const workers = Array.from({ length: concurrency }, (_, workerId) =>
    createWorker({ handler, workerId }),
  );
  const fetcher = createFetcher({
    nodeId: 1,
    workerQueue: createWorkerQueue({ workers }),
    partitionAssignments: new Map(),
    fetch,
    logger: quiet,
  });
  return { fetcher, fetches };
}

describe('kafkajs fetcher (patched): no barrier across partitions', () => {
  it('goes on fetching and handling the other partitions while one batch is slow', async () => {
    const slow = deferred();
    const handled: string[] = [];
    const active = new Set<number>();
    let overlapped = false;
    const { fetcher, fetches } = harness(3, 3, async (batch) => {
      if (active.has(batch.partition)) overlapped = true;
      active.add(batch.partition);
      if (batch.partition === 0 && batch.n === 1) await slow.promise;
      else await tick();
      active.delete(batch.partition);
      handled.push(`${batch.partition}:${batch.n}`);
    });
    const running = fetcher.start();
    while (handled.filter((h) => h.startsWith('1:')).length < 5) await tick();

    // partitions 1 and 2 went on; partition 0 was not fetched again while its batch was in hand
    expect(handled).not.toContain('0:1');
    expect(handled.filter((h) => h.startsWith('2:')).length).toBeGreaterThanOrEqual(4);
    const whileSlow = fetches.slice(1);
    expect(whileSlow.length).toBeGreaterThan(3);
    for (const f of whileSlow) expect(f.excluded).toContain('t|0');
    // those fetches wait briefly, so that a partition done meanwhile is fetched again soon
    for (const f of whileSlow) expect(f.maxWaitTime).toBe(50);
    expect(fetches[0]).toEqual({ excluded: [], maxWaitTime: undefined });

    slow.resolve();
    while (!handled.includes('0:2')) await tick();
    await fetcher.stop();
    await running;
    // each partition's batches in order, never two of one partition at once
    for (const p of [0, 1, 2]) {
      const ns = handled.filter((h) => h.startsWith(`${p}:`)).map((h) => Number(h.split(':')[1]));
      expect(ns).toEqual([...ns].sort((a, b) => a - b));
    }
    expect(overlapped).toBe(false);
  });

  it('with every partition in hand, waits for one to be done instead of fetching nothing', async () => {
    const gate0 = deferred();
    const gate1 = deferred();
    const { fetcher, fetches } = harness(2, 2, async (batch) => {
      if (batch.n === 1) await (batch.partition === 0 ? gate0 : gate1).promise;
    });
    const running = fetcher.start();
    while (fetches.length < 1) await tick();
    await new Promise((r) => setTimeout(r, 200));
    // the first fetch, then at most one empty fetch per 50 ms wait: no busy loop
    expect(fetches.length).toBeLessThanOrEqual(6);
    gate1.resolve();
    while (!fetches.some((f) => f.excluded.length === 1 && f.excluded[0] === 't|0')) await tick();
    gate0.resolve();
    await fetcher.stop();
    await running;
  });

  it('a failed batch ends the fetch loop only once the other batches in hand are done', async () => {
    const slow = deferred();
    let slowDone = false;
    const { fetcher } = harness(2, 2, async (batch) => {
      if (batch.partition === 0) throw new Error('rebalance in progress');
      await slow.promise;
      slowDone = true;
    });
    let settled = false;
    const running = fetcher.start().finally(() => (settled = true));
    running.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false); // partition 1's batch is still in hand
    slow.resolve();
    await expect(running).rejects.toThrow('rebalance in progress');
    expect(slowDone).toBe(true);
  });

  it('stop() returns once the batches in hand are done', async () => {
    const slow = deferred();
    let done = false;
    const { fetcher } = harness(1, 1, async () => {
      await slow.promise;
      done = true;
    });
    const running = fetcher.start();
    await new Promise((r) => setTimeout(r, 20));
    let stopped = false;
    const stopping = fetcher.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(stopped).toBe(false);
    slow.resolve();
    await stopping;
    await running;
    expect(done).toBe(true);
  });
});

describe('kafkajs worker queue (patched)', () => {
  it('never leaves a batch pushed while a worker finishes its loop untaken', async () => {
    // a worker's loop finding the queue empty and a batch pushed in the following microtasks:
    // the original shared the loop's promise until it settled, and such a batch was taken by no
    // worker (the fetcher then waited forever)
    for (let delay = 0; delay < 8; delay++) {
      const handled: number[] = [];
      const worker = createWorker({
        handler: (batch) => {
          handled.push(batch.n);
          return Promise.resolve();
        },
        workerId: 0,
      });
      const queue = createWorkerQueue({ workers: [worker] });
      const first = queue.push({ topic: 't', partition: 0, n: 1 });
      let later: Promise<void> = Promise.resolve();
      let chain = Promise.resolve();
      for (let i = 0; i < delay; i++) chain = chain.then(() => undefined);
      await chain.then(() => {
        later = queue.push({ topic: 't', partition: 1, n: 2 });
      });
      await first;
      const taken = await Promise.race([
        later.then(() => true),
        new Promise<boolean>((r) => {
          setTimeout(() => {
            r(false);
          }, 200);
        }),
      ]);
      expect({ delay, taken, handled }).toEqual({ delay, taken: true, handled: [1, 2] });
    }
  });
});
