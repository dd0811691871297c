import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/**
 * kafkajs's read_committed filter (src/consumer/filterAbortedMessages.js) as patched by
 * patches/kafkajs+2.2.4.patch. The broker answers a fetch with the fetched records and the
 * aborted transactions overlapping them (producer id, first offset); the client drops each
 * aborted producer's transactional records from its first offset to its abort marker. kafkajs
 * activated at most one aborted transaction per record: a fetch starting inside two of them let
 * the second one's first record through (seen on a real broker: integration
 * transactions.test.ts, and as doubled events after a broker loss). Patched, it follows the Java
 * client's fetcher: every transaction whose first offset is reached is active.
 */
const require = createRequire(import.meta.url);

interface Message {
  offset: string;
  key: Buffer | null;
  value: string;
  isControlRecord: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}
const filterAborted = require('kafkajs/src/consumer/filterAbortedMessages.js') as (args: {
  messages: Message[];
  abortedTransactions?: { producerId: string; firstOffset: string }[];
}) => Message[];

const record = (
  offset: number,
  producer: number,
  value: string,
  inTransaction = true,
): Message => ({
  offset: String(offset),
  key: null,
  value,
  isControlRecord: false,
  batchContext: { producerId: String(producer), inTransaction },
});
/** A transaction's end: ABORT (key version 0, type 0) or COMMIT (type 1). */
const marker = (offset: number, producer: number, type: 'abort' | 'commit'): Message => ({
  offset: String(offset),
  key: Buffer.from([0, 0, 0, type === 'abort' ? 0 : 1]),
  value: type,
  isControlRecord: true,
  batchContext: { producerId: String(producer), inTransaction: true },
});
const aborted = (producer: number, firstOffset: number) => ({
  producerId: String(producer),
  firstOffset: String(firstOffset),
});
const values = (ms: Message[]) => ms.filter((m) => !m.isControlRecord).map((m) => m.value);

describe("kafkajs's read_committed filter (patched)", () => {
  it('drops every aborted transaction a fetch starts inside, whichever producer comes first', () => {
    // offsets 0–5: a-1 b-1 a-2 b-2 a-3 b-3 (producers 1 and 2, both aborted), markers 6 and 7,
    // then producer 3's committed record; the fetch starts at b-2
    const fetched = [
      record(3, 2, 'b-2'),
      record(4, 1, 'a-3'),
      record(5, 2, 'b-3'),
      marker(6, 1, 'abort'),
      marker(7, 2, 'abort'),
      record(8, 3, 'committed'),
      marker(9, 3, 'commit'),
    ];
    expect(
      values(
        filterAborted({ messages: fetched, abortedTransactions: [aborted(1, 0), aborted(2, 1)] }),
      ),
    ).toEqual(['committed']);
    // the broker's list in another order changes nothing
    expect(
      values(
        filterAborted({ messages: fetched, abortedTransactions: [aborted(2, 1), aborted(1, 0)] }),
      ),
    ).toEqual(['committed']);
  });

  it("keeps a producer's records after its abort marker, and drops its next aborted transaction", () => {
    const fetched = [
      record(0, 1, 'aborted-1'),
      marker(1, 1, 'abort'),
      record(2, 1, 'committed-1'),
      marker(3, 1, 'commit'),
      record(4, 1, 'aborted-2'),
      marker(5, 1, 'abort'),
      record(6, 1, 'committed-2'),
      marker(7, 1, 'commit'),
    ];
    expect(
      values(
        filterAborted({ messages: fetched, abortedTransactions: [aborted(1, 0), aborted(1, 4)] }),
      ),
    ).toEqual(['committed-1', 'committed-2']);
  });

  it('keeps what is outside the aborted transactions: other producers, and non-transactional records', () => {
    const fetched = [
      record(0, 1, 'aborted'),
      record(1, 2, 'other'),
      record(2, 1, 'idempotent only', false),
      marker(3, 1, 'abort'),
    ];
    expect(
      values(filterAborted({ messages: fetched, abortedTransactions: [aborted(1, 0)] })),
    ).toEqual(['other', 'idempotent only']);
    expect(values(filterAborted({ messages: fetched, abortedTransactions: [] }))).toEqual([
      'aborted',
      'other',
      'idempotent only',
    ]);
  });

  it("does not take a data record whose key is the abort marker's bytes for the marker", () => {
    const lookalike = {
      ...record(1, 1, 'aborted, marker-like key'),
      key: Buffer.from([0, 0, 0, 0]),
    };
    const fetched = [
      record(0, 1, 'aborted-1'),
      lookalike,
      record(2, 1, 'aborted-2'),
      marker(3, 1, 'abort'),
    ];
    expect(
      values(filterAborted({ messages: fetched, abortedTransactions: [aborted(1, 0)] })),
    ).toEqual([]);
  });

  it("reads a marker's type whatever its key version, as the Java client does", () => {
    const newerAbort = { ...marker(1, 1, 'abort'), key: Buffer.from([0, 1, 0, 0]) };
    const fetched = [record(0, 1, 'aborted'), newerAbort, record(2, 1, 'committed after')];
    expect(
      values(filterAborted({ messages: fetched, abortedTransactions: [aborted(1, 0)] })),
    ).toEqual(['committed after']);
  });
});
