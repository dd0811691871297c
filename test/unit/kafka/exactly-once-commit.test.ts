import type { Kafka } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { CommitOutcomeUnknownError, ExactlyOnceRunner } from '../../../src/kafka/exactly-once.js';
import { createLogger } from '../../../src/lib/logger.js';

/**
 * What the runner does when a commit fails: the outcome of a failed EndTxn is unknown (the
 * coordinator may have committed), so the producer is replaced and the state owner told to read
 * its state again; a fenced producer's partition is left to its new owner. kafkajs is faked here
 * (the broker side is covered by the integration tests); this is the runner's own logic.
 */

const EVENTS = {
  CRASH: 'crash',
  STOP: 'stop',
  HEARTBEAT: 'heartbeat',
  REBALANCING: 'rebalancing',
  GROUP_JOIN: 'group_join',
};

function fakeKafka(commits: (() => Promise<void>)[]) {
  const listeners = new Map<string, (event: unknown) => void>();
  const producers: { disconnect: ReturnType<typeof vi.fn> }[] = [];
  let commit = 0;
  const kafka = {
    admin: () => ({
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      fetchOffsets: () => Promise.resolve([]),
    }),
    consumer: () => ({
      events: EVENTS,
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      subscribe: () => Promise.resolve(),
      run: () => Promise.resolve(),
      on: (event: string, listener: (event: unknown) => void) => listeners.set(event, listener),
    }),
    producer: () => {
      const producer = {
        connect: () => Promise.resolve(),
        disconnect: vi.fn(() => Promise.resolve()),
        transaction: () =>
          Promise.resolve({
            sendBatch: () => Promise.resolve(),
            sendOffsets: () => Promise.resolve(),
            abort: () => Promise.resolve(),
            commit: () => (commits[commit++] ?? (() => Promise.resolve()))(),
          }),
      };
      producers.push(producer);
      return producer;
    },
  };
  const join = () =>
    listeners.get(EVENTS.GROUP_JOIN)?.({
      payload: { memberId: 'm1', memberAssignment: { t: [0] } },
    });
  return { kafka: kafka as unknown as Kafka, producers, join };
}

async function startedRunner(commits: (() => Promise<void>)[]) {
  const fake = fakeKafka(commits);
  const calls = {
    uncertain: [] as [string, number][],
    fenced: [] as [string, number][],
    failed: [] as string[],
  };
  const runner = new ExactlyOnceRunner({
    kafka: fake.kafka,
    groupId: 'g',
    topics: ['t'],
    transactionalIdPrefix: 'x',
    process: () => Promise.resolve([]),
    logger: createLogger('silent'),
    onCommitUncertain: (topic, partition) => calls.uncertain.push([topic, partition]),
    onFenced: (topic, partition) => calls.fenced.push([topic, partition]),
    onFailed: ({ type }) => calls.failed.push(type),
  });
  await runner.start();
  fake.join();
  return { runner, calls, producers: fake.producers };
}

const records = { records: [{ topic: 'out', messages: [{ value: 'v' }] }] };

describe('ExactlyOnceRunner when a commit fails', () => {
  it('replaces the producer and has the state read again when the commit may have landed', async () => {
    const lost = Object.assign(new Error('Connection error: read ECONNRESET'), {
      name: 'KafkaJSConnectionError',
    });
    const { runner, calls, producers } = await startedRunner([() => Promise.reject(lost)]);
    const applied = vi.fn();

    const failed = runner.transact('t', 0, () =>
      Promise.resolve({ ...records, afterCommit: applied }),
    );
    await expect(failed).rejects.toBeInstanceOf(CommitOutcomeUnknownError);
    await expect(failed).rejects.toMatchObject({ cause: lost });
    expect(applied).not.toHaveBeenCalled();
    expect(calls).toEqual({
      uncertain: [['t', 0]],
      fenced: [],
      failed: ['COMMIT_OUTCOME_UNKNOWN'],
    });
    expect(producers).toHaveLength(1);
    expect(producers[0]?.disconnect).toHaveBeenCalled();

    // the next transaction runs on a new producer (whose initialisation settles the old one)
    await runner.transact('t', 0, () => Promise.resolve({ ...records, afterCommit: applied }));
    expect(producers).toHaveLength(2);
    expect(applied).toHaveBeenCalledTimes(1);
  });

  it('leaves the partition to its new owner when the commit was refused as fenced', async () => {
    const fenced = Object.assign(new Error('fenced'), { type: 'PRODUCER_FENCED' });
    const { runner, calls, producers } = await startedRunner([() => Promise.reject(fenced)]);

    await expect(runner.transact('t', 0, () => Promise.resolve(records))).rejects.toBe(fenced);
    expect(calls).toEqual({ uncertain: [], fenced: [['t', 0]], failed: ['PRODUCER_FENCED'] });

    // no new producer (it would fence the new owner) until the group assigns the partition again
    await expect(runner.transact('t', 0, () => Promise.resolve(records))).rejects.toMatchObject({
      type: 'PRODUCER_FENCED',
    });
    expect(producers).toHaveLength(1);
  });
});
