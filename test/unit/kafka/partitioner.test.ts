import { createRequire } from 'node:module';
import { Partitioners } from 'kafkajs';
import type { PartitionerArgs } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KeyHashPartitioner, murmur2 } from '../../../src/kafka/partitioner.js';

// kafkajs's own (Long-based) murmur2: the reference the fast one must match bit for bit
const kafkajsMurmur2 = createRequire(import.meta.url)(
  'kafkajs/src/producer/partitioners/default/murmur2',
) as (key: Buffer | string) => number;

/** Deterministic pseudo-random keys: every length 0–40, ASCII, multi-byte UTF-8 and raw bytes. */
function keys(): (Buffer | string)[] {
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const out: (Buffer | string)[] = ['', 'customer-1', 'customer-19999', 'ünïcødé-κλειδί-🔑'];
  for (let length = 0; length <= 40; length++) {
    for (let n = 0; n < 25; n++) {
      const bytes = Buffer.alloc(length);
      for (let i = 0; i < length; i++) bytes[i] = next() & 0xff;
      out.push(bytes, bytes.toString('base64').slice(0, length), `customer-${next()}`);
    }
  }
  return out;
}

const partitionMetadata = [0, 1, 2, 3, 4, 5].map((partitionId) => ({
  partitionId,
  leader: 1,
  replicas: [1],
  isr: [1],
  offlineReplicas: [],
  partitionErrorCode: 0,
}));

describe('murmur2', () => {
  it("equals kafkajs's (the Java client's) hash for every key", () => {
    for (const key of keys()) expect(murmur2(key), String(key)).toBe(kafkajsMurmur2(key));
  });
});

describe('KeyHashPartitioner', () => {
  it("picks kafkajs's DefaultPartitioner's partition for keyed and pinned messages", () => {
    const ours = KeyHashPartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    for (const metadata of [partitionMetadata, partitionMetadata.slice(0, 5)]) {
      for (const key of keys()) {
        const args: PartitionerArgs = {
          topic: 't',
          partitionMetadata: metadata,
          message: { key, value: null },
        };
        expect(ours(args), String(key)).toBe(theirs(args));
      }
    }
    const pinned: PartitionerArgs = {
      topic: 't',
      partitionMetadata,
      message: { key: 'customer-1', value: null, partition: 4 },
    };
    expect(ours(pinned)).toBe(4);
  });

  it('spreads keyless messages over the partitions as kafkajs does (round robin)', () => {
    const ours = KeyHashPartitioner();
    const seen = new Set<number>();
    for (let i = 0; i < 12; i++)
      seen.add(ours({ topic: 't', partitionMetadata, message: { key: null, value: null } }));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
