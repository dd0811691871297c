import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { HEADER } from '../../../src/contract/headers.js';

/**
 * kafkajs's protocol encoder as patched by patches/kafkajs+2.2.4.patch: buffers are no longer
 * zero-filled 512-byte allocations per record and per header (7 of them for an ingest record;
 * 7.4 % of the ingest's CPU), and varints are written in place. What must not change is the bytes:
 * every record here is decoded back with kafkajs's own decoder, and the encoder's buffer is
 * checked to expose only bytes it wrote, even when Node's pool holds garbage.
 */
const require = createRequire(import.meta.url);

interface EncoderLike {
  writeVarInt(value: number): EncoderLike;
  writeUVarInt(value: number): EncoderLike;
  buffer: Buffer;
}
const Encoder = require('kafkajs/src/protocol/encoder.js') as new (size?: number) => EncoderLike;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => {
  readVarInt(): number;
  readUVarInt(): number;
  readInt8(): number;
  offset: number;
};
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (record: {
  offsetDelta?: number;
  timestampDelta?: number;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, string | Buffer | (string | Buffer)[]>;
}) => EncoderLike;
const decodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js') as (
  decoder: unknown,
  context: object,
) => {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
};

const VARINTS = [
  0,
  1,
  -1,
  63,
  -64,
  64,
  127,
  128,
  300,
  -300,
  16_383,
  16_384,
  2 ** 31 - 1,
  -(2 ** 31),
];

describe('kafkajs encoder (patched)', () => {
  it('writes varints that decode to the same values, in 1 to 5 bytes', () => {
    for (const value of VARINTS) {
      const bytes = new Encoder().writeVarInt(value).buffer;
      expect(new Decoder(bytes).readVarInt()).toBe(value);
      expect(bytes.length).toBeGreaterThanOrEqual(1);
      expect(bytes.length).toBeLessThanOrEqual(5);
    }
    // the zig-zag form: small magnitudes are one byte, 2^31-1 needs five
    expect(new Encoder().writeVarInt(-64).buffer).toEqual(Buffer.from([0x7f]));
    expect(new Encoder().writeVarInt(64).buffer).toEqual(Buffer.from([0x80, 0x01]));
    expect(new Encoder().writeUVarInt(300).buffer).toEqual(Buffer.from([0xac, 0x02]));
    expect(new Encoder().writeVarInt(2 ** 31 - 1).buffer).toEqual(
      Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x0f]),
    );
  });

  it('grows past its initial size without losing bytes', () => {
    const encoder = new Encoder(1);
    for (const value of VARINTS) encoder.writeVarInt(value);
    const decoder = new Decoder(encoder.buffer);
    for (const value of VARINTS) expect(decoder.readVarInt()).toBe(value);
  });

  it('encodes records with headers that kafkajs decodes back unchanged, whatever the pool held', () => {
    // fill Node's buffer pool with garbage: an unwritten byte would show up in the output
    for (let i = 0; i < 64; i++) Buffer.allocUnsafe(512).fill(0xaa);
    const cases = [
      { key: 'customer-1', value: '{"a":1}', headers: {} },
      {
        key: Buffer.from('k'),
        value: Buffer.alloc(5000, 7), // larger than any initial size
        headers: {
          [HEADER.source]: 'bud',
          [HEADER.ingestId]: 'req-1',
          [HEADER.receivedAt]: '2026-12-04T15:00:00.000Z',
          'content-type': 'application/json',
          long: 'x'.repeat(300), // a header larger than its encoder's initial 64 bytes
          twice: ['a', 'b'],
          ünïcödé: 'välue ✓',
        },
      },
      { key: null, value: null, headers: { empty: '' } },
    ];
    for (const [i, c] of cases.entries()) {
      const bytes = Record({ offsetDelta: i, timestampDelta: 1000 * i, ...c }).buffer;
      const decoder = new Decoder(bytes);
      const length = decoder.readVarInt();
      expect(length).toBe(bytes.length - decoder.offset); // the length prefix, then exactly that
      const record = decodeRecord(decoder, { firstOffset: '100', firstTimestamp: '0' });
      expect(record.offset).toBe(String(100 + i));
      expect(record.timestamp).toBe(String(1000 * i));
      expect(record.key?.toString() ?? null).toEqual(c.key === null ? null : c.key.toString());
      expect(record.value?.toString() ?? null).toEqual(
        c.value === null ? null : c.value.toString(),
      );
      const headers = Object.fromEntries(
        Object.entries(record.headers).map(([k, v]) => [
          k,
          Array.isArray(v) ? v.map(String) : v.toString(),
        ]),
      );
      expect(headers).toEqual(c.headers);
    }
  });
});
