import fs from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const file = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');

type Group = (options: {
  topic: string;
  partitionMetadata: unknown[];
  messages: { partition: number; value: string }[];
  partitioner: (o: { message: { partition: number } }) => number;
}) => Record<string, { partition: number; value: string }[]>;

describe('kafkajs as patched by patches/kafkajs+2.2.4.patch (npm postinstall)', () => {
  it('is installed with the patch applied', () => {
    // patch-package runs on `npm ci`/`npm install`; without it sends are quadratic per partition
    expect(fs.readFileSync(file, 'utf8')).toContain(
      'refreshbus patch (patches/kafkajs+2.2.4.patch)',
    );
  });

  it('still groups a send’s messages by partition, each partition in order', () => {
    const group = require(file) as Group;
    const messages = Array.from({ length: 5000 }, (_, i) => ({ partition: i % 3, value: `m${i}` }));
    const grouped = group({
      topic: 't',
      partitionMetadata: [{}, {}, {}],
      messages,
      partitioner: ({ message }) => message.partition,
    });
    expect(Object.keys(grouped)).toEqual(['0', '1', '2']);
    for (const p of [0, 1, 2])
      expect(grouped[String(p)]).toEqual(messages.filter((m) => m.partition === p));
    expect(group({ topic: 't', partitionMetadata: [], messages, partitioner: () => 0 })).toEqual(
      {},
    );
  });
});
