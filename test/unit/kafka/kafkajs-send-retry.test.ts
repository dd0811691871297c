import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/**
 * kafkajs's producer send as patched by patches/kafkajs+2.2.4.patch (tulios/kafkajs#1303): when a
 * broker dies mid-send, its partitions move to a broker that may already have answered for its
 * own. The original sent them nowhere (records lost, even in a transaction) or, when kafkajs
 * replaced the Broker object, sent the answered partitions again (records written twice). The
 * cluster and brokers here are fakes; the send, its retrier and kafkajs's leader lookup are
 * kafkajs's own code.
 */
const require = createRequire(import.meta.url);

interface TopicData {
  topic: string;
  partitions: { partition: number; firstSequence: number; messages: { value: string }[] }[];
}
type Produce = (request: { topicData: TopicData[] }) => Promise<unknown>;
type Send = (options: {
  acks: number;
  timeout: number;
  topicMessages: { topic: string; messages: { value: string; partition?: number }[] }[];
}) => Promise<{ topicName: string; partition: number; baseOffset: string }[]>;

const createSendMessages = require('kafkajs/src/producer/sendMessages.js') as (options: {
  logger: unknown;
  cluster: unknown;
  partitioner: (o: { message: { partition?: number } }) => number;
  eosManager: unknown;
  retrier: unknown;
}) => Send;
const createRetry = require('kafkajs/src/retry/index.js') as (options: object) => unknown;
const Cluster = require('kafkajs/src/cluster/index.js') as {
  prototype: { findLeaderForPartitions: (topic: string, partitions: string[]) => object };
};
const { KafkaJSConnectionError } = require('kafkajs/src/errors.js') as {
  KafkaJSConnectionError: new (message: string) => Error;
};

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const connectionLost = () => new KafkaJSConnectionError('Connection error: read ECONNRESET');

/** What each broker was sent, as `partition:firstSequence:values`. */
type Sent = Record<number, string[]>;

function fakeCluster(options: {
  /** leader of each partition of topic `t`, before and after a metadata refresh */
  leaders: number[];
  leadersAfterRefresh: number[];
  /** answers of each broker, in order; a missing answer is a success */
  failures: Record<number, (Error | undefined)[]>;
  /** the refresh replaces the Broker objects (as kafkajs does for a broker it re-learns) */
  replaceBrokersOnRefresh?: boolean;
  /** how many lookups of each broker fail first (a dead broker: no connection to it) */
  findBrokerFailures?: Record<number, number>;
  /** how long each broker takes to answer, in ms */
  answerAfterMs?: Record<number, number>;
}) {
  const lookupFailures = { ...options.findBrokerFailures };
  let leaders = options.leaders;
  const sent: Sent = {};
  const attempts: Record<number, number> = {};
  let offsets = 0;
  const broker = (nodeId: number): { nodeId: number; produce: Produce } => ({
    nodeId,
    produce: ({ topicData }) => {
      const n = attempts[nodeId] ?? 0;
      attempts[nodeId] = n + 1;
      const failure = options.failures[nodeId]?.[n];
      const lines = topicData.flatMap(({ partitions }) =>
        partitions.map(
          (p) => `${p.partition}:${p.firstSequence}:${p.messages.map((m) => m.value).join(',')}`,
        ),
      );
      (sent[nodeId] ??= []).push(...lines.map((l) => (failure ? `${l} (failed)` : l)));
      const answered = new Promise((r) => setTimeout(r, options.answerAfterMs?.[nodeId] ?? 0));
      if (failure) return answered.then(() => Promise.reject(failure));
      return answered.then(() => ({
        topics: topicData.map(({ topic, partitions }) => ({
          topicName: topic,
          partitions: partitions.map((p) => ({
            partition: p.partition,
            errorCode: 0,
            baseOffset: String((offsets += 10)),
            logAppendTime: '-1',
            logStartOffset: '0',
          })),
        })),
      }));
    },
  });
  let brokers = new Map([1, 2, 3].map((id) => [id, broker(id)]));
  const cluster = {
    targetTopics: new Set(['t']),
    addMultipleTargetTopics: () => Promise.resolve(),
    refreshMetadataIfNecessary: () => Promise.resolve(),
    refreshMetadata: () => {
      leaders = options.leadersAfterRefresh;
      if (options.replaceBrokersOnRefresh)
        brokers = new Map([1, 2, 3].map((id) => [id, broker(id)]));
      return Promise.resolve();
    },
    isConnected: () => true,
    connect: () => Promise.resolve(),
    removeBroker: () => undefined,
    findTopicPartitionMetadata: () =>
      leaders.map((leader, partitionId) => ({ partitionId, leader })),
    findLeaderForPartitions(topic: string, partitions: string[]) {
      return Cluster.prototype.findLeaderForPartitions.call(this, topic, partitions);
    },
    findBroker: ({ nodeId }: { nodeId: string }) => {
      const id = Number(nodeId);
      if ((lookupFailures[id] ?? 0) > 0) {
        lookupFailures[id] = (lookupFailures[id] ?? 0) - 1;
        return Promise.reject(connectionLost());
      }
      return Promise.resolve(brokers.get(id));
    },
  };
  return { cluster, sent };
}

function fakeEosManager() {
  const sequences = new Map<string, number>();
  return {
    isTransactional: () => false,
    acquireBrokerLock: () => Promise.resolve(),
    releaseBrokerLock: () => Promise.resolve(),
    getSequence: (topic: string, partition: number) => sequences.get(`${topic}:${partition}`) ?? 0,
    updateSequence: (topic: string, partition: number, n: number) => {
      const key = `${topic}:${partition}`;
      sequences.set(key, (sequences.get(key) ?? 0) + n);
    },
    getTransactionalId: () => undefined,
    getProducerId: () => -1,
    getProducerEpoch: () => 0,
  };
}

const ABC = [
  {
    topic: 't',
    messages: [
      { value: 'a', partition: 0 },
      { value: 'b', partition: 1 },
      { value: 'c', partition: 0 },
    ],
  },
];

function send(
  cluster: unknown,
  partitioner = (o: { message: { partition?: number } }) => o.message.partition ?? 0,
  topicMessages: Parameters<Send>[0]['topicMessages'] = ABC,
) {
  const sendMessages = createSendMessages({
    logger: quiet,
    cluster,
    partitioner,
    eosManager: fakeEosManager(),
    retrier: createRetry({
      retries: 5,
      initialRetryTime: 1,
      maxRetryTime: 5,
      factor: 0,
      multiplier: 1,
    }),
  });
  return sendMessages({
    acks: -1,
    timeout: 1000,
    topicMessages,
  });
}

describe('kafkajs producer send when a broker dies mid-send (patched, tulios/kafkajs#1303)', () => {
  it('sends the dead broker’s partitions to their new leader, even one that already answered', async () => {
    // partition 0 on broker 1 (dies), partition 1 on broker 2 (answers); then 0 moves to 2
    const { cluster, sent } = fakeCluster({
      leaders: [1, 2],
      leadersAfterRefresh: [2, 2],
      failures: { 1: [connectionLost()] },
    });
    const acks = await send(cluster);
    expect(acks.map((a) => a.partition).sort()).toEqual([0, 1]);
    expect(sent).toEqual({
      1: ['0:0:a,c (failed)'],
      // partition 1 once; partition 0 again with the same sequence (the broker drops a copy)
      2: ['1:0:b', '0:0:a,c'],
    });
  });

  it('never sends an answered partition again when kafkajs replaces the Broker objects', async () => {
    const { cluster, sent } = fakeCluster({
      leaders: [1, 2],
      leadersAfterRefresh: [2, 2],
      failures: { 1: [connectionLost()] },
      replaceBrokersOnRefresh: true,
    });
    await send(cluster);
    expect(sent[2]).toEqual(['1:0:b', '0:0:a,c']);
  });

  it('retries a partition whose leader is unknown instead of skipping it', async () => {
    // partition 1 is missing from the metadata at first (as while a broker is being replaced)
    const { cluster, sent } = fakeCluster({
      leaders: [1],
      leadersAfterRefresh: [1, 3],
      failures: {},
    });
    const partitioner = (o: { message: { partition?: number } }) => o.message.partition ?? 0;
    const acks = await send(cluster, partitioner);
    expect(acks.map((a) => a.partition).sort()).toEqual([0, 1]);
    expect(sent).toEqual({ 1: ['0:0:a,c'], 3: ['1:0:b'] });
  });

  it('sends every message of a topic given twice in one send', async () => {
    const { cluster, sent } = fakeCluster({
      leaders: [1, 2],
      leadersAfterRefresh: [1, 2],
      failures: {},
    });
    const byPartition = (o: { message: { partition?: number } }) => o.message.partition ?? 0;
    await send(cluster, byPartition, [
      { topic: 't', messages: [{ value: 'a', partition: 0 }] },
      {
        topic: 't',
        messages: [
          { value: 'b', partition: 1 },
          { value: 'c', partition: 0 },
        ],
      },
    ]);
    expect(sent).toEqual({ 1: ['0:0:a,c'], 2: ['1:0:b'] });
  });

  it('starts no request of an attempt before every leader of it is found (a request left running was sent again)', async () => {
    // the lookup of broker 2 fails once (it died); broker 1 answers after 30 ms. Before, broker
    // 1's request was already running when the lookup failed: the retry sent partition 0 again,
    // with the next sequence numbers, while the first request was still in flight (a copy).
    const { cluster, sent } = fakeCluster({
      leaders: [1, 2],
      leadersAfterRefresh: [1, 2],
      failures: {},
      findBrokerFailures: { 2: 1 },
      answerAfterMs: { 1: 30 },
    });
    const acks = await send(cluster);
    expect(acks.map((a) => a.partition).sort()).toEqual([0, 1]);
    expect(sent).toEqual({ 1: ['0:0:a,c'], 2: ['1:0:b'] });
  });

  it('leaves no failed request unwatched when a leader cannot be found', async () => {
    // as above, but broker 1's answer is an error: before, nobody awaited that request, and its
    // rejection was unhandled (it failed the cluster-broker-loss test run)
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const { cluster, sent } = fakeCluster({
        leaders: [1, 2],
        leadersAfterRefresh: [1, 2],
        failures: { 1: [connectionLost()] },
        findBrokerFailures: { 2: 1 },
        answerAfterMs: { 1: 20 },
      });
      const acks = await send(cluster);
      expect(acks.map((a) => a.partition).sort()).toEqual([0, 1]);
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
      expect(sent).toEqual({ 1: ['0:0:a,c (failed)', '0:0:a,c'], 2: ['1:0:b'] });
    } finally {
      process.off('unhandledRejection', record);
    }
  });

  it('keeps each message in the partition the first attempt chose (a retry does not re-partition)', async () => {
    const { cluster, sent } = fakeCluster({
      leaders: [1, 2],
      leadersAfterRefresh: [2, 2],
      failures: { 1: [connectionLost()] },
    });
    let next = 0;
    // round robin, as kafkajs does for records without a key
    const acks = await send(cluster, () => next++ % 2);
    expect(next).toBe(3);
    expect(acks).toHaveLength(2);
    expect(sent[2]).toEqual(['1:0:b', '0:0:a,c']);
  });
});
