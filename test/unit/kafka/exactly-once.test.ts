import { describe, expect, it } from 'vitest';
import { chunkMessages } from '../../../src/kafka/exactly-once.js';

const msg = (bytes: number) => ({ value: Buffer.alloc(bytes) });

describe('chunkMessages', () => {
  it('splits at the record limit', () => {
    expect(
      chunkMessages([msg(1), msg(1), msg(1), msg(1), msg(1)], 2, 1000).map((c) => c.length),
    ).toEqual([2, 2, 1]);
  });

  it('splits before a record that would pass the byte limit', () => {
    expect(chunkMessages([msg(40), msg(40), msg(40)], 100, 100).map((c) => c.length)).toEqual([
      2, 1,
    ]);
  });

  it('keeps a single record larger than the byte limit in a chunk of its own', () => {
    expect(chunkMessages([msg(10), msg(500), msg(10)], 100, 100).map((c) => c.length)).toEqual([
      1, 1, 1,
    ]);
  });

  it('returns nothing for nothing', () => {
    expect(chunkMessages([], 10, 10)).toEqual([]);
  });
});
