import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/**
 * kafkajs's transaction manager as patched by patches/kafkajs+2.2.4.patch. The original looked a
 * coordinator up (FindCoordinator) before every request to it: four extra round trips in every
 * transaction, as many requests as the transaction's own (measured in the end-to-end benchmark:
 * 32,140 FindCoordinator requests for 8,034 transactions). Patched, a coordinator is remembered
 * until a request to it fails. The cluster and brokers are fakes; the manager is kafkajs's own.
 */
const require = createRequire(import.meta.url);

interface FakeBroker {
  nodeId: number;
  [request: string]: unknown;
}
interface EosManager {
  initProducerId(): Promise<void>;
  beginTransaction(): void;
  addPartitionsToTransaction(
    topicData: { topic: string; partitions: { partition: number }[] }[],
  ): Promise<void>;
  sendOffsets(options: {
    consumerGroupId: string;
    topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
  }): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

const createEosManager = require('kafkajs/src/producer/eosManager/index.js') as (options: {
  logger: unknown;
  cluster: unknown;
  transactional: boolean;
  transactionalId: string;
}) => EosManager;
const { KafkaJSProtocolError } = require('kafkajs/src/errors.js') as {
  KafkaJSProtocolError: new (e: {
    message: string;
    type: string;
    code: number;
    retriable: boolean;
  }) => Error;
};

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function fakeCluster() {
  /** which node each coordinator is on; tests move them */
  const coordinatorOf = { transaction: 1, group: 1 };
  const lookups: string[] = [];
  const requests: string[] = [];
  /** the next request of this name fails with this error type */
  const failNext = new Map<string, string>();
  const broker = (nodeId: number): FakeBroker => {
    const handle = (name: string, kind: 'transaction' | 'group') => () => {
      requests.push(`${name}@${String(nodeId)}`);
      const failure = failNext.get(name);
      if (failure) {
        failNext.delete(name);
        throw new KafkaJSProtocolError({
          message: failure,
          type: failure,
          code: -1,
          retriable: false,
        });
      }
      if (coordinatorOf[kind] !== nodeId)
        throw new KafkaJSProtocolError({
          message: 'NOT_COORDINATOR',
          type: 'NOT_COORDINATOR',
          code: 16,
          retriable: true, // as kafkajs's own
        });
      return Promise.resolve(name === 'initProducerId' ? { producerId: 7, producerEpoch: 0 } : {});
    };
    return {
      nodeId,
      initProducerId: handle('initProducerId', 'transaction'),
      addPartitionsToTxn: handle('addPartitionsToTxn', 'transaction'),
      addOffsetsToTxn: handle('addOffsetsToTxn', 'transaction'),
      endTxn: handle('endTxn', 'transaction'),
      txnOffsetCommit: handle('txnOffsetCommit', 'group'),
    };
  };
  const brokers = new Map([1, 2].map((id) => [id, broker(id)]));
  const cluster = {
    retry: { retries: 2, initialRetryTime: 1 },
    refreshMetadataIfNecessary: () => Promise.resolve(),
    refreshMetadata: () => Promise.resolve(),
    findBroker: ({ nodeId }: { nodeId: number }) => Promise.resolve(brokers.get(nodeId)),
    findGroupCoordinator: ({ coordinatorType }: { groupId: string; coordinatorType: number }) => {
      const kind = coordinatorType === 1 ? 'transaction' : 'group';
      lookups.push(kind);
      return Promise.resolve(brokers.get(coordinatorOf[kind]));
    },
  };
  return { cluster, coordinatorOf, lookups, requests, failNext };
}

async function initialised(cluster: unknown): Promise<EosManager> {
  const eos = createEosManager({
    logger: { namespace: () => quiet, ...quiet },
    cluster,
    transactional: true,
    transactionalId: 'tx',
  });
  await eos.initProducerId();
  return eos;
}

async function transaction(eos: EosManager) {
  eos.beginTransaction();
  await eos.addPartitionsToTransaction([{ topic: 't', partitions: [{ partition: 0 }] }]);
  await eos.sendOffsets({
    consumerGroupId: 'g',
    topics: [{ topic: 'in', partitions: [{ partition: 0, offset: '1' }] }],
  });
  await eos.commit();
}

describe('kafkajs transaction coordinators (patched)', () => {
  it('looks each coordinator up once, not before every request', async () => {
    const { cluster, lookups, requests } = fakeCluster();
    const eos = await initialised(cluster);
    for (let i = 0; i < 3; i++) await transaction(eos);
    // the original: 1 + 4 per transaction (AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit,
    // EndTxn each after a lookup)
    expect(lookups).toEqual(['transaction', 'group']);
    expect(requests).toHaveLength(1 + 3 * 4);
  });

  it('looks a coordinator up again after a request to it failed (it moved)', async () => {
    const { cluster, coordinatorOf, lookups, requests } = fakeCluster();
    const eos = await initialised(cluster);
    await transaction(eos);
    coordinatorOf.transaction = 2;
    coordinatorOf.group = 2;
    lookups.length = 0;
    requests.length = 0;

    eos.beginTransaction();
    await expect(
      eos.addPartitionsToTransaction([{ topic: 't', partitions: [{ partition: 0 }] }]),
    ).rejects.toThrow();
    expect(requests).toEqual(['addPartitionsToTxn@1']);
    // (nothing was added: the abort sends nothing) the next transaction finds them again
    await eos.abort().catch(() => undefined);
    await transaction(eos);
    expect(requests).toEqual([
      'addPartitionsToTxn@1', // NOT_COORDINATOR: forgotten
      'addPartitionsToTxn@2',
      'addOffsetsToTxn@2',
      'txnOffsetCommit@1', // the group coordinator moved too: NOT_COORDINATOR, found again
      'txnOffsetCommit@2',
      'endTxn@2',
    ]);
    expect(lookups).toEqual(['transaction', 'group']);
  });

  it('forgets the group coordinator when an offset commit fails', async () => {
    const { cluster, lookups, failNext } = fakeCluster();
    const eos = await initialised(cluster);
    await transaction(eos);
    failNext.set('txnOffsetCommit', 'UNKNOWN_SERVER_ERROR');
    await expect(transaction(eos)).rejects.toThrow();
    await eos.abort();
    lookups.length = 0;
    await transaction(eos);
    expect(lookups).toEqual(['group']);
  });
});
