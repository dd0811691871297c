import { Partitioners } from 'kafkajs';
import type { ICustomPartitioner } from 'kafkajs';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * Kafka's murmur2 (the Java client's `Utils.murmur2`) of a key's bytes, as a signed 32-bit int.
 * kafkajs computes the same in 64-bit `Long` objects, several allocations per 4 bytes of key; the
 * low 32 bits — all it keeps — are what 32-bit `Math.imul` arithmetic gives.
 */
export function murmur2(key: Buffer | string): number {
  const data = Buffer.isBuffer(key) ? key : Buffer.from(key);
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data.readInt32LE(i);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // the last 1–3 bytes, as the Java switch's fall-through cases do
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= data.readUInt8(whole + 2) << 16;
    if (rest >= 2) h ^= data.readUInt8(whole + 1) << 8;
    h ^= data.readUInt8(whole);
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * kafkajs's DefaultPartitioner — the Java client's: a message's own partition, else murmur2 of its
 * key — with the hash above: the same partition for every key (so per-key order and
 * co-partitioning hold alongside other clients). kafkajs's also filters the partition list per
 * message. Keyless messages go to kafkajs's own partitioner (its round robin).
 */
export const KeyHashPartitioner: ICustomPartitioner = () => {
  const kafkajs = Partitioners.DefaultPartitioner();
  return (args) => {
    const { message, partitionMetadata } = args;
    if (message.partition !== undefined || message.key === null || message.key === undefined)
      return kafkajs(args);
    return (murmur2(message.key) & 0x7fffffff) % partitionMetadata.length;
  };
};
