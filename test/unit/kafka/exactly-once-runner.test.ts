import type { EachBatchPayload, Kafka } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import type { ExactlyOnceOptions } from '../../../src/kafka/exactly-once.js';
import {
  CommitOutcomeUnknownError,
  ExactlyOnceRunner,
  splitForProduce,
  whileHeartbeating,
} from '../../../src/kafka/exactly-once.js';
import { createLogger } from '../../../src/lib/logger.js';
import { SetupError } from '../../../src/lib/errors.js';

/**
 * A scripted stand-in for kafkajs: the runner's control flow around transactions is what is
 * under test here; the real-broker behaviour is covered by the integration tests.
 */
function fakeKafka(
  options: {
    committedOffset?: string;
    failOnce?: 'commit' | 'send-and-abort' | 'sendOffsets' | 'fenced';
    /** The group's committed offset once a failed commit's producer is replaced (it had landed). */
    committedOffsetAfterCommitFailure?: string;
    /** How many subscribes fail as on a broker that has not learnt of the topic yet. */
    unknownTopicSubscribes?: number;
    /** The broker predates OffsetFetch v7 (Kafka < 2.5): no stable read of committed offsets. */
    noStableOffsets?: boolean;
    /** How many offset fetches fail first as while the group coordinator loads. */
    offsetFetchFailures?: number;
  } = {},
) {
  const log: string[] = [];
  let producers = 0;
  let failures = 0;
  let commitFailed = false;
  let subscribeFailures = 0;
  let offsetFetchFailures = 0;
  let eachBatch: ((p: EachBatchPayload) => Promise<void>) | undefined;
  const handlers = new Map<string, (event: unknown) => void>();
  const txn = {
    sendBatch: () => {
      if (options.failOnce === 'send-and-abort' && failures === 0) {
        log.push('send:failed');
        return Promise.reject(new Error('connection lost'));
      }
      log.push('send');
      return Promise.resolve([]);
    },
    sendOffsets: (o: { topics: { partitions: { offset: string }[] }[] }) => {
      if (options.failOnce === 'sendOffsets' && failures++ === 0) {
        log.push('offsets:CONCURRENT_TRANSACTIONS');
        return Promise.reject(
          Object.assign(new Error('concurrent'), { type: 'CONCURRENT_TRANSACTIONS' }),
        );
      }
      log.push(`offsets:${o.topics[0]?.partitions[0]?.offset ?? '?'}`);
      return Promise.resolve();
    },
    commit: () => {
      if (options.failOnce === 'fenced' && failures++ === 0) {
        log.push('commit:fenced');
        return Promise.reject(Object.assign(new Error('fenced'), { type: 'PRODUCER_FENCED' }));
      }
      if (options.failOnce === 'commit' && failures++ === 0) {
        log.push('commit:failed');
        commitFailed = true;
        return Promise.reject(
          Object.assign(new Error('Connection error: read ECONNRESET'), {
            name: 'KafkaJSConnectionError',
          }),
        );
      }
      log.push('commit');
      return Promise.resolve();
    },
    abort: () => {
      if (options.failOnce === 'send-and-abort' && failures++ === 0) {
        log.push('abort:failed');
        return Promise.reject(new Error('Cannot continue to use transaction once ended'));
      }
      log.push('abort');
      return Promise.resolve();
    },
  };
  const kafka = {
    admin: () => ({
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      fetchOffsets: (request: { requireStable?: boolean }) =>
        (options.offsetFetchFailures ?? 0) > offsetFetchFailures++
          ? Promise.reject(
              Object.assign(new Error('The coordinator is loading'), {
                type: 'COORDINATOR_LOAD_IN_PROGRESS',
              }),
            )
          : options.noStableOffsets && request.requireStable
            ? Promise.reject(
                Object.assign(
                  new Error(
                    'requireStable needs OffsetFetch v7 (Kafka 2.5 or later); this broker offers v6',
                  ),
                  { name: 'KafkaJSServerDoesNotSupportApiKey' },
                ),
              )
            : Promise.resolve([
                {
                  topic: 'in',
                  partitions: [
                    {
                      partition: 0,
                      offset:
                        (commitFailed ? options.committedOffsetAfterCommitFailure : undefined) ??
                        options.committedOffset ??
                        '-1',
                    },
                  ],
                },
              ]),
    }),
    producer: () => {
      const n = ++producers;
      let initialised = false;
      return {
        connect: () => (log.push(`producer:${String(n)}`), Promise.resolve()),
        disconnect: () => Promise.resolve(),
        // as kafkajs: the first transaction sends the transactional InitProducerId (which
        // settles what the id's previous producer left open); aborting a transaction that sent
        // nothing sends no EndTxn
        transaction: () => {
          if (!initialised) log.push(`init:${String(n)}`);
          initialised = true;
          let used = false;
          const use =
            <A extends unknown[], R>(f: (...a: A) => R) =>
            (...a: A): R => {
              used = true;
              return f(...a);
            };
          return Promise.resolve({
            sendBatch: use(txn.sendBatch),
            sendOffsets: use(txn.sendOffsets),
            commit: txn.commit,
            abort: () => (used ? txn.abort() : Promise.resolve()),
          });
        },
      };
    },
    consumer: () => ({
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      subscribe: () => {
        if ((options.unknownTopicSubscribes ?? 0) > subscribeFailures) {
          subscribeFailures++;
          log.push('subscribe:UNKNOWN_TOPIC_OR_PARTITION');
          return Promise.reject(
            Object.assign(new Error('This server does not host this topic-partition'), {
              type: 'UNKNOWN_TOPIC_OR_PARTITION',
            }),
          );
        }
        return Promise.resolve();
      },
      on: (event: string, handler: (event: unknown) => void) => {
        handlers.set(event, handler);
      },
      events: {
        GROUP_JOIN: 'consumer.group_join',
        CRASH: 'consumer.crash',
        STOP: 'consumer.stop',
        HEARTBEAT: 'consumer.heartbeat',
        REBALANCING: 'consumer.rebalancing',
      },
      run: (config: { eachBatch: (p: EachBatchPayload) => Promise<void> }) => {
        eachBatch = config.eachBatch;
        // as kafkajs: the member joins the group before it fetches anything
        handlers.get('consumer.group_join')?.({
          payload: { memberAssignment: { in: [0] }, memberId: 'm-1' },
        });
        return Promise.resolve();
      },
    }),
  } as unknown as Kafka;
  return {
    kafka,
    log,
    eachBatch: (p: EachBatchPayload) =>
      eachBatch ? eachBatch(p) : Promise.reject(new Error('not running')),
    /** The group assigns partitions to this member (kafkajs's GROUP_JOIN event). */
    emit: (event: string, payload: unknown = {}) => handlers.get(event)?.(payload),
    join: (memberAssignment: Record<string, number[]>, memberId = 'm-1') =>
      handlers.get('consumer.group_join')?.({ payload: { memberAssignment, memberId } }),
  };
}

function payload(offsets: string[], heartbeat: () => Promise<void>) {
  const resolved: string[] = [];
  const p = {
    batch: {
      topic: 'in',
      partition: 0,
      messages: offsets.map((offset) => ({
        offset,
        value: Buffer.from('x'),
        key: null,
        headers: {},
        timestamp: '0',
        attributes: 0,
      })),
      lastOffset: () => offsets[offsets.length - 1] ?? '-1',
    },
    resolveOffset: (o: string) => resolved.push(o),
    heartbeat,
    isRunning: () => true,
    isStale: () => false,
  } as unknown as EachBatchPayload;
  return { p, resolved };
}

const runnerFor = (kafka: Kafka, more: Partial<ExactlyOnceOptions> = {}) =>
  new ExactlyOnceRunner({
    kafka,
    groupId: 'g',
    topics: ['in'],
    transactionalIdPrefix: 'tx',
    logger: createLogger('silent'),
    process: (chunk) =>
      Promise.resolve([
        { topic: 'out', messages: chunk.messages.map((m) => ({ value: m.value })) },
      ]),
    maxBackoffMs: 10,
    ...more,
  });

describe('ExactlyOnceRunner', () => {
  it('commits a chunk once even when the heartbeat after it reports a rebalance (regression)', async () => {
    const fake = fakeKafka();
    await runnerFor(fake.kafka).start();
    const rebalance = Object.assign(new Error('The group is rebalancing'), {
      type: 'REBALANCE_IN_PROGRESS',
    });
    const { p, resolved } = payload(['0', '1'], () => Promise.reject(rebalance));
    await expect(fake.eachBatch(p)).rejects.toBe(rebalance);
    expect(fake.log.filter((l) => l === 'commit')).toHaveLength(1);
    expect(resolved).toEqual(['1']);
  });

  it('skips records below the group offset committed before this producer existed', async () => {
    const fake = fakeKafka({ committedOffset: '2' });
    await runnerFor(fake.kafka).start();
    const { p, resolved } = payload(['0', '1', '2', '3'], () => Promise.resolve());
    await fake.eachBatch(p);
    expect(fake.log).toEqual(['producer:1', 'init:1', 'send', 'offsets:4', 'commit']);
    expect(resolved).toEqual(['3']);
  });

  it('commits nothing for a chunk that was entirely committed already', async () => {
    const fake = fakeKafka({ committedOffset: '5' });
    await runnerFor(fake.kafka).start();
    const { p } = payload(['3', '4'], () => Promise.resolve());
    await fake.eachBatch(p);
    expect(fake.log).toEqual(['producer:1', 'init:1']);
  });

  it('retries sendOffsets on CONCURRENT_TRANSACTIONS inside the same transaction (kafkajs does not)', async () => {
    const fake = fakeKafka({ failOnce: 'sendOffsets' });
    await runnerFor(fake.kafka).start();
    const { p, resolved } = payload(['0'], () => Promise.resolve());
    await fake.eachBatch(p);
    expect(fake.log).toEqual([
      'producer:1',
      'init:1',
      'send',
      'offsets:CONCURRENT_TRANSACTIONS',
      'offsets:1',
      'commit',
    ]);
    expect(resolved).toEqual(['0']);
  });

  it('replaces a producer whose abort failed (kafkajs leaves it stuck) and retries the chunk on a new one', async () => {
    const fake = fakeKafka({ failOnce: 'send-and-abort' });
    await runnerFor(fake.kafka).start();
    const { p, resolved } = payload(['0'], () => Promise.resolve());
    await fake.eachBatch(p);
    expect(fake.log).toEqual([
      'producer:1',
      'init:1',
      'send:failed',
      'abort:failed',
      'producer:2', // a fresh producer: its initialisation settles the old transaction on the broker
      'init:2',
      'send',
      'offsets:1',
      'commit',
    ]);
    expect(resolved).toEqual(['0']);
  });

  it('after a failed commit that did not land, has the state read again and retries the chunk on a new producer', async () => {
    const fake = fakeKafka({ failOnce: 'commit' });
    const uncertain: string[] = [];
    await runnerFor(fake.kafka, {
      onCommitUncertain: (topic, partition) => uncertain.push(`${topic}/${String(partition)}`),
    }).start();
    const { p, resolved } = payload(['0'], () => Promise.resolve());
    await fake.eachBatch(p);
    expect(fake.log).toEqual([
      'producer:1',
      'init:1',
      'send',
      'offsets:1',
      'commit:failed', // no abort: kafkajs refuses to abort a transaction it began committing
      'producer:2', // its initialisation completes or aborts the open transaction on the broker
      'init:2',
      'send',
      'offsets:1',
      'commit',
    ]);
    expect(uncertain).toEqual(['in/0']);
    expect(resolved).toEqual(['0']);
  });

  it('after a failed commit that landed, skips the chunk instead of writing it twice', async () => {
    const fake = fakeKafka({ failOnce: 'commit', committedOffsetAfterCommitFailure: '1' });
    const uncertain: string[] = [];
    let afterCommits = 0;
    await runnerFor(fake.kafka, {
      onCommitUncertain: (topic, partition) => uncertain.push(`${topic}/${String(partition)}`),
      process: () => Promise.resolve({ records: [], afterCommit: () => afterCommits++ }),
    }).start();
    const { p, resolved } = payload(['0'], () => Promise.resolve());
    await fake.eachBatch(p);
    expect(fake.log).toEqual([
      'producer:1',
      'init:1',
      'offsets:1',
      'commit:failed',
      'producer:2',
      'init:2',
    ]);
    // its effects are the changelog's now: the state owner re-reads them (onCommitUncertain)
    expect(uncertain).toEqual(['in/0']);
    expect(afterCommits).toBe(0);
    expect(resolved).toEqual(['0']);
  });

  it('treats a timer transaction whose commit failed the same way, and never applies it', async () => {
    const fake = fakeKafka({ failOnce: 'commit' });
    const uncertain: string[] = [];
    const failed: string[] = [];
    const runner = runnerFor(fake.kafka, {
      onCommitUncertain: (topic, partition) => uncertain.push(`${topic}/${String(partition)}`),
      onFailed: ({ type }) => failed.push(type),
    });
    await runner.start();
    let applied = 0;
    const build = () =>
      Promise.resolve({
        records: [{ topic: 'out', messages: [{ value: 'v' }] }],
        afterCommit: () => applied++,
      });
    await expect(runner.transact('in', 0, build)).rejects.toBeInstanceOf(CommitOutcomeUnknownError);
    expect({ uncertain, failed, applied }).toEqual({
      uncertain: ['in/0'],
      failed: ['COMMIT_OUTCOME_UNKNOWN'],
      applied: 0,
    });
    await runner.transact('in', 0, build);
    expect(fake.log).toEqual([
      'producer:1',
      'init:1',
      'send',
      'commit:failed',
      'producer:2',
      'init:2',
      'send',
      'commit',
    ]);
    expect(applied).toBe(1);
  });
});

describe('splitForProduce', () => {
  it('keeps each produce request under the byte budget, whatever the fan-out', () => {
    const big = Array.from({ length: 10 }, () => ({ value: Buffer.alloc(300 * 1024) }));
    const requests = splitForProduce([{ topic: 'out', messages: big }], 768 * 1024);
    expect(requests.map((r) => r.flatMap((t) => t.messages).length)).toEqual([2, 2, 2, 2, 2]);
  });

  it('after being fenced, never re-creates the producer (fencing the new owner) until the group assigns the partition again', async () => {
    const { kafka, log, join } = fakeKafka({ failOnce: 'fenced' });
    const fenced: string[] = [];
    const runner = new ExactlyOnceRunner({
      kafka,
      groupId: 'g',
      topics: ['in'],
      transactionalIdPrefix: 't',
      logger: createLogger('silent'),
      process: () => Promise.resolve([]),
      onFenced: (topic, partition) => fenced.push(`${topic}/${String(partition)}`),
    });
    await runner.start();
    join({ in: [0] });
    const records = () =>
      Promise.resolve({ records: [{ topic: 'out', messages: [{ key: 'k', value: 'v' }] }] });
    await expect(runner.transact('in', 0, records)).rejects.toThrow('fenced');
    expect(fenced).toEqual(['in/0']);
    // a zombie's timer fires again: refused without a new producer (which would fence the owner)
    await expect(runner.transact('in', 0, records)).rejects.toThrow(
      'the producer for in.0 was fenced; waiting for the group to assign it again',
    );
    await expect(runner.initProducer('in', 0)).rejects.toThrow(/was fenced/);
    expect(log.filter((l) => l.startsWith('producer:'))).toEqual(['producer:1']);
    // assigned again by the group: initialising afresh is right
    join({ in: [0] });
    await runner.transact('in', 0, records);
    expect(log.filter((l) => l.startsWith('producer:'))).toEqual(['producer:1', 'producer:2']);
    expect(log.at(-1)).toBe('commit');
    expect(fenced).toEqual(['in/0']);
  });

  it('tells the host when this member rejoined as a new member (dropped from the group meanwhile), so state held again is restored afresh', async () => {
    const { kafka, log, join } = fakeKafka();
    const assignments: { partitions: number[]; rejoined: boolean }[] = [];
    const runner = new ExactlyOnceRunner({
      kafka,
      groupId: 'g',
      topics: ['in'],
      transactionalIdPrefix: 't',
      logger: createLogger('silent'),
      process: () => Promise.resolve([]),
      onAssignment: (a, { rejoined }) => assignments.push({ partitions: a.in ?? [], rejoined }),
    });
    await runner.start();
    join({ in: [0] }, 'm-1');
    await runner.initProducer('in', 0);
    join({ in: [0] }, 'm-1'); // an ordinary rebalance: the partition never left this member
    join({ in: [0] }, 'm-2'); // a session timeout later: another member may have owned it
    expect(assignments).toEqual([
      { partitions: [0], rejoined: false }, // joining on start
      { partitions: [0], rejoined: false },
      { partitions: [0], rejoined: false },
      { partitions: [0], rejoined: true },
    ]);
    // the earlier membership's producer is not reused: the next use initialises (fences) afresh
    await runner.initProducer('in', 0);
    expect(log.filter((l) => l.startsWith('producer:'))).toEqual(['producer:1', 'producer:2']);
  });

  it('does not commit while a rebalance is under way, nor after most of a session without a heartbeat (the member may have been dropped)', async () => {
    const { kafka, log, emit } = fakeKafka();
    const runner = new ExactlyOnceRunner({
      kafka,
      groupId: 'g',
      topics: ['in'],
      transactionalIdPrefix: 't',
      sessionTimeoutMs: 1000,
      logger: createLogger('silent'),
      process: () => Promise.resolve([]),
    });
    await runner.start();
    const records = () =>
      Promise.resolve({ records: [{ topic: 'out', messages: [{ key: 'k', value: 'v' }] }] });
    emit('consumer.rebalancing');
    await expect(runner.transact('in', 0, records)).rejects.toThrow(
      'not committing: a rebalance is under way',
    );
    expect(log.at(-1)).toBe('abort');
    emit('consumer.group_join', { payload: { memberAssignment: { in: [0] }, memberId: 'm-1' } });
    await runner.transact('in', 0, records);
    expect(log.at(-1)).toBe('commit');
    await new Promise((r) => setTimeout(r, 850)); // no heartbeat for 0.85 of the session timeout
    await expect(runner.transact('in', 0, records)).rejects.toThrow(
      /not committing: no successful heartbeat for \d+ ms \(the session times out at 1000 ms\)/,
    );
    emit('consumer.heartbeat');
    await runner.transact('in', 0, records);
    expect(log.at(-1)).toBe('commit');
  });

  it('waits for a topic a fresh cluster does not know everywhere yet (kafkajs does not retry that in subscribe)', async () => {
    const { kafka, log } = fakeKafka({ unknownTopicSubscribes: 2 });
    const runner = new ExactlyOnceRunner({
      kafka,
      groupId: 'g',
      topics: ['in'],
      transactionalIdPrefix: 't',
      logger: createLogger('silent'),
      process: () => Promise.resolve([]),
    });
    await runner.start(); // resolves: subscribed on the third try
    expect(log.filter((l) => l.startsWith('subscribe'))).toEqual([
      'subscribe:UNKNOWN_TOPIC_OR_PARTITION',
      'subscribe:UNKNOWN_TOPIC_OR_PARTITION',
    ]);
    expect(runner.status().member).toBe(true);
  });

  it('holds a partition after a small batch for the rest of the transaction interval, but not a worker other partitions wait for', async () => {
    vi.useFakeTimers();
    try {
      const fake = fakeKafka();
      await runnerFor(fake.kafka, { minTransactionIntervalMs: 200 }).start();
      let returned = false;
      const first = fake.eachBatch(payload(['0'], () => Promise.resolve()).p).then(() => {
        returned = true;
      });
      await vi.advanceTimersByTimeAsync(100);
      expect(fake.log.filter((l) => l === 'commit')).toHaveLength(1); // committed at once
      expect(returned).toBe(false); // the partition is not handed back yet
      await vi.advanceTimersByTimeAsync(150);
      expect(returned).toBe(true);
      await first;

      // two partitions and one worker: a hold would make the other partition wait
      fake.join({ in: [0, 1] });
      returned = false;
      const second = fake.eachBatch(payload(['1'], () => Promise.resolve()).p).then(() => {
        returned = true;
      });
      await vi.advanceTimersByTimeAsync(1);
      expect(fake.log.filter((l) => l === 'commit')).toHaveLength(2);
      expect(returned).toBe(true);
      await second;

      // a rebalance (or a stop) waits for every batch in hand: it ends a hold at once
      fake.join({ in: [0] });
      returned = false;
      const third = fake.eachBatch(payload(['2'], () => Promise.resolve()).p).then(() => {
        returned = true;
      });
      await vi.advanceTimersByTimeAsync(10);
      expect(fake.log.filter((l) => l === 'commit')).toHaveLength(3);
      expect(returned).toBe(false);
      fake.emit('consumer.rebalancing');
      await vi.advanceTimersByTimeAsync(0);
      expect(returned).toBe(true);
      await third;
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses to start on a broker that cannot read committed offsets stable (Kafka < 2.5), saying so', async () => {
    // the first answer is no answer (the coordinator loading): asked again, not taken for a yes
    const fake = fakeKafka({ noStableOffsets: true, offsetFetchFailures: 1 });
    const started = runnerFor(fake.kafka).start();
    await expect(started).rejects.toBeInstanceOf(SetupError);
    await expect(started).rejects.toThrow(
      /needs Kafka 2.5 or later .*offers v6.*upgrade the brokers/,
    );
    // reads committed offsets stable on a broker that can
    const ok = fakeKafka();
    await expect(runnerFor(ok.kafka).start()).resolves.toBeUndefined();
  });

  it('heartbeats while a chunk waits for its state to be restored (a large restore outlasts a session)', async () => {
    let beats = 0;
    const slow = new Promise<void>((resolve) => setTimeout(resolve, 130));
    await whileHeartbeating(slow, () => (beats++, Promise.resolve()), 20);
    expect(beats).toBeGreaterThanOrEqual(4);
    // a failed restore still fails the chunk; a heartbeat reporting a rebalance ends the wait
    await expect(
      whileHeartbeating(Promise.reject(new Error('restore failed')), () => Promise.resolve(), 20),
    ).rejects.toThrow('restore failed');
    const never = new Promise<void>(() => undefined);
    await expect(
      whileHeartbeating(never, () => Promise.reject(new Error('rebalancing')), 20),
    ).rejects.toThrow('rebalancing');
  });
});
