import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Consumer, Producer } from 'kafkajs';

/** The transformation under test: upper-case the value. */
export const transform = (value: string) => value.toUpperCase();

export interface CtpOptions {
  brokers: string[];
  input: string;
  output: string;
  groupId: string;
  transactionalId: string;
  /** Called inside each transaction after outputs and offsets were sent, before commit. */
  beforeCommit?: () => Promise<void>;
}

/**
 * Consume → transform → produce, with the consumer offsets sent inside the producer's
 * transaction: output and progress commit together or not at all.
 */
export async function startCopyProcessor(
  options: CtpOptions,
): Promise<{ consumer: Consumer; producer: Producer }> {
  const kafka = new Kafka({ clientId: 'ctp', brokers: options.brokers, logLevel: logLevel.ERROR });
  const producer = kafka.producer({
    transactionalId: options.transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const consumer = kafka.consumer({
    groupId: options.groupId,
    readUncommitted: false,
    sessionTimeout: 6000,
    rebalanceTimeout: 6000,
    heartbeatInterval: 1000,
  });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: options.input, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async (payload) => {
      const { batch } = payload;
      if (batch.messages.length === 0) return;
      const txn = await producer.transaction();
      try {
        await txn.send({
          topic: options.output,
          messages: batch.messages.map((m) => ({
            key: m.key,
            value: transform(m.value?.toString() ?? ''),
            headers: { 'source-offset': m.offset },
          })),
        });
        await txn.sendOffsets({
          consumerGroupId: options.groupId,
          topics: [
            {
              topic: batch.topic,
              partitions: [
                {
                  partition: batch.partition,
                  offset: (BigInt(batch.lastOffset()) + 1n).toString(),
                },
              ],
            },
          ],
        });
        await options.beforeCommit?.();
        await txn.commit();
      } catch (err) {
        await txn.abort();
        throw err;
      }
      payload.resolveOffset(batch.lastOffset());
    },
  });
  return { consumer, producer };
}
