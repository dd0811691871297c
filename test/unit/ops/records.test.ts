import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { deadLetterLine, dlqSummary } from '../../../src/ops/dlq.js';
import { planRanges } from '../../../src/ops/reader.js';
import {
  confluentSchemaId,
  headersJson,
  jsonSafe,
  recordLine,
  utf8Text,
} from '../../../src/ops/records.js';
import { matchDeadLetter } from '../../../src/normalize/replay.js';
import { DEFAULT_TOPICS } from '../../../src/contract/topics.js';
import { HEADER } from '../../../src/contract/headers.js';

function message(fields: Partial<KafkaMessage>): KafkaMessage {
  return {
    key: null,
    value: null,
    timestamp: String(Date.UTC(2026, 0, 2, 3, 4, 5)),
    attributes: 0,
    offset: '7',
    size: 0,
    headers: {},
    ...fields,
  } as KafkaMessage;
}

const wire = (id: number, payload: Buffer) => {
  const head = Buffer.alloc(5);
  head.writeInt32BE(id, 1);
  return Buffer.concat([head, payload]);
};

describe('records as tail prints them', () => {
  it('decodes a Confluent wire-format value by its schema id', async () => {
    const seen: number[] = [];
    const line = await recordLine(
      't',
      2,
      message({ key: Buffer.from('cust-1'), value: wire(42, Buffer.from([1, 2])) }),
      (v) => {
        seen.push(confluentSchemaId(v) ?? -1);
        return Promise.resolve({ customer_id: 'cust-1', at: 5, raw: Buffer.from('hi') });
      },
    );
    expect(seen).toEqual([42]);
    expect(line).toEqual({
      topic: 't',
      partition: 2,
      offset: '7',
      timestamp: '2026-01-02T03:04:05.000Z',
      key: 'cust-1',
      schemaId: 42,
      value: { customer_id: 'cust-1', at: 5, raw: 'aGk=' },
    });
  });

  it('shows other values as UTF-8 text, or base64 when they are not UTF-8, with headers', async () => {
    const decode = () => Promise.reject(new Error('never called'));
    const text = await recordLine(
      't',
      0,
      message({ value: Buffer.from('{"a":1}'), headers: { [HEADER.source]: Buffer.from('bud') } }),
      decode,
    );
    expect(text).toMatchObject({
      value: '{"a":1}',
      headers: { [HEADER.source]: 'bud' },
      key: null,
    });
    expect(text).not.toHaveProperty('valueEncoding');
    const bytes = await recordLine(
      't',
      0,
      message({ key: Buffer.from([0xff]), value: Buffer.from([0xff, 0xfe]) }),
      decode,
    );
    expect(bytes).toMatchObject({
      key: '/w==',
      keyEncoding: 'base64',
      value: '//4=',
      valueEncoding: 'base64',
    });
    expect(await recordLine('t', 0, message({}), decode)).toMatchObject({ value: null });
  });

  it('keeps an Avro-looking value it cannot decode, as base64 with the reason', async () => {
    const line = await recordLine('t', 0, message({ value: wire(9, Buffer.from([1])) }), () =>
      Promise.reject(new Error('Schema 9 not found')),
    );
    expect(line).toMatchObject({
      schemaId: 9,
      valueEncoding: 'base64',
      decodeError: 'Schema 9 not found',
    });
  });

  it('helpers: UTF-8 check, schema id, JSON-safe values, header arrays', () => {
    expect(utf8Text(Buffer.from('é'))).toBe('é');
    expect(utf8Text(Buffer.from([0xc3]))).toBeUndefined();
    expect(confluentSchemaId(Buffer.from('{"x":1}'))).toBeUndefined();
    expect(confluentSchemaId(Buffer.from([0, 0, 0]))).toBeUndefined();
    expect(jsonSafe({ a: [1n, Buffer.from([0])], b: undefined })).toEqual({
      a: ['1', 'AA=='],
      b: null,
    });
    expect(headersJson({ h: [Buffer.from('a'), 'b'], bin: Buffer.from([0xff]) })).toEqual({
      h: ['a', 'b'],
      bin: { base64: '/w==' },
    });
    expect(headersJson({})).toBeUndefined();
  });
});

describe('where a read starts and ends', () => {
  const offsets = [
    { partition: 1, low: '5', high: '20' },
    { partition: 0, low: '0', high: '10' },
    { partition: 2, low: '0', high: '0' },
  ];

  it('from the beginning or the end of each partition, up to the end offsets of the start', () => {
    expect(planRanges(offsets, { from: 'beginning' }).ranges).toEqual([
      { partition: 0, start: 0n, end: 10n },
      { partition: 1, start: 5n, end: 20n },
      { partition: 2, start: 0n, end: 0n },
    ]);
    expect(planRanges(offsets, { from: 'end' }).ranges.map((r) => r.start)).toEqual([10n, 20n, 0n]);
  });

  it('from an offset, clamped to what each partition holds, saying so', () => {
    const { ranges, notes } = planRanges(offsets, { from: 'offset', offset: 8n });
    expect(ranges.map((r) => r.start)).toEqual([8n, 8n, 0n]);
    expect(notes).toEqual([
      'partition 2 holds no records (its offsets start and end at 0): starting at 0',
    ]);
    const past = planRanges(offsets, { from: 'offset', offset: 15n });
    expect(past.ranges.map((r) => r.start)).toEqual([10n, 15n, 0n]);
    expect(past.notes[0]).toBe('partition 0 ends at offset 10: starting there');
    const deleted = planRanges(offsets, { from: 'offset', offset: 2n });
    expect(deleted.notes[0]).toMatch(
      /partition 1 starts at offset 5 \(older records were deleted\)/,
    );
  });

  it('from a time: the offset the broker found, else the end', () => {
    const byTime = new Map([
      [0, '4'],
      [1, '-1'],
    ]);
    expect(planRanges(offsets, { from: 'time', at: 0 }, byTime).ranges.map((r) => r.start)).toEqual(
      [4n, 20n, 0n],
    );
  });
});

describe('dead letters as dlq list prints them', () => {
  const dead = message({
    key: Buffer.from('cust-9'),
    value: Buffer.from('not json {'),
    headers: {
      [HEADER.source]: Buffer.from('bud'),
      [HEADER.ingestId]: Buffer.from('i-1'),
      [HEADER.errorCode]: Buffer.from('INVALID_JSON'),
      [HEADER.errorMessage]: Buffer.from('Unexpected token'),
      [HEADER.originTopic]: Buffer.from(DEFAULT_TOPICS.webhooksRaw),
      [HEADER.originPartition]: Buffer.from('3'),
      [HEADER.originOffset]: Buffer.from('42'),
    },
  });

  it('carry the error and the origin, and the body size but never the body', () => {
    const { code } = matchDeadLetter(dead, {});
    const line = deadLetterLine(1, dead, code);
    expect(line).toEqual({
      partition: 1,
      offset: '7',
      timestamp: '2026-01-02T03:04:05.000Z',
      code: 'INVALID_JSON',
      message: 'Unexpected token',
      origin: { topic: DEFAULT_TOPICS.webhooksRaw, partition: 3, offset: '42' },
      key: 'cust-9',
      source: 'bud',
      ingestId: 'i-1',
      bodyBytes: 10,
    });
    expect(JSON.stringify(line)).not.toContain('not json');
  });

  it('are filtered as dlq replay filters them', () => {
    const at = Number(dead.timestamp);
    expect(matchDeadLetter(dead, { codes: ['INVALID_JSON'] }).matches).toBe(true);
    expect(matchDeadLetter(dead, { codes: ['UNKNOWN_SOURCE'] }).matches).toBe(false);
    expect(matchDeadLetter(dead, { since: at, until: at + 1 }).matches).toBe(true);
    expect(matchDeadLetter(dead, { since: at + 1 }).matches).toBe(false);
    expect(matchDeadLetter(dead, { until: at }).matches).toBe(false);
    expect(matchDeadLetter(message({}), {}).code).toBe('UNKNOWN');
  });

  it('are summed up by code', () => {
    expect(dlqSummary('dlq', 3, 5, { UNKNOWN_SOURCE: 1, INVALID_JSON: 2 })).toBe(
      '3 dead letters listed (of 5 read from dlq): INVALID_JSON 2, UNKNOWN_SOURCE 1',
    );
    expect(dlqSummary('dlq', 0, 0, {})).toBe('0 dead letters listed (of 0 read from dlq)');
  });
});
