import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/**
 * OffsetFetch v5–v7, added to kafkajs (which stops at v4) by patches/kafkajs+2.2.4.patch so that
 * committed offsets can be read with v7's require_stable (KIP-447). The bytes are checked against
 * the Kafka protocol's definitions (https://kafka.apache.org/protocol#The_Messages_OffsetFetch);
 * the integration test stable-offsets.test.ts runs the request against the broker.
 */
const require = createRequire(import.meta.url);

interface Encoded {
  buffer: Buffer;
}
interface RequestDef {
  apiVersion: number;
  encode(): Promise<Encoded>;
}
interface ResponseDef {
  decode(raw: Buffer): Promise<unknown>;
  parse(data: unknown): Promise<unknown>;
}
type Protocol = (args: {
  groupId: string;
  topics: { topic: string; partitions: { partition: number }[] }[] | null;
  requireStable?: boolean;
}) => { request: RequestDef; response: ResponseDef; logResponseError?: boolean };

const offsetFetch = require('kafkajs/src/protocol/requests/offsetFetch/index.js') as {
  versions: string[];
  protocol(o: { version: number }): Protocol;
};
const { lookup } = require('kafkajs/src/protocol/requests/index.js') as {
  lookup: (
    versions: Record<number, { minVersion: number; maxVersion: number }>,
  ) => (apiKey: number, definition: typeof offsetFetch) => Protocol;
};
const Broker = require('kafkajs/src/broker/index.js') as {
  prototype: { offsetFetch(this: unknown, o: object): Promise<unknown> };
};

const OFFSET_FETCH = 9;
const topics = [{ topic: 't', partitions: [{ partition: 0 }, { partition: 2 }] }];
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return [...b];
};
const int64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(n);
  return [...b];
};
const int16 = (n: number) => [n >> 8, n & 0xff];
const bytes = async (def: RequestDef) => [...(await def.encode()).buffer];

describe('kafkajs OffsetFetch v5–v7 (patched in)', () => {
  it('encodes v7 as a flexible request with require_stable', async () => {
    const { request } = offsetFetch.protocol({ version: 7 })({
      groupId: 'g',
      topics,
      requireStable: true,
    });
    expect(request.apiVersion).toBe(7);
    expect(await bytes(request)).toEqual([
      0x00, // request header v2: no tagged fields
      0x02,
      0x67, // group_id: COMPACT_STRING "g"
      0x02, // topics: COMPACT_ARRAY of 1
      0x02,
      0x74, // name: "t"
      0x03,
      ...int32(0),
      ...int32(2), // partition_indexes: 2
      0x00, // topic's tagged fields
      0x01, // require_stable: true
      0x00, // tagged fields
    ]);
    const plain = offsetFetch.protocol({ version: 7 })({ groupId: 'g', topics: null });
    expect((await bytes(plain.request)).slice(-3)).toEqual([0x00, 0x00, 0x00]); // null topics, false
    // no topics asks for all of them, as v1–v5 did (admin.fetchOffsets without topics sends [])
    const all = offsetFetch.protocol({ version: 7 })({ groupId: 'g', topics: [] });
    expect(await bytes(all.request)).toEqual(await bytes(plain.request));
  });

  it('encodes v6 without require_stable and v5 as v4 was', async () => {
    const v6 = offsetFetch.protocol({ version: 6 })({ groupId: 'g', topics });
    expect(await bytes(v6.request)).toEqual([
      0x00,
      0x02,
      0x67,
      0x02,
      0x02,
      0x74,
      0x03,
      ...int32(0),
      ...int32(2),
      0x00,
      0x00,
    ]);
    const v5 = offsetFetch.protocol({ version: 5 })({ groupId: 'g', topics });
    const v4 = offsetFetch.protocol({ version: 4 })({ groupId: 'g', topics });
    expect(v5.request.apiVersion).toBe(5);
    expect(await bytes(v5.request)).toEqual(await bytes(v4.request));
  });

  const v7Response = (errorCode: number) =>
    Buffer.from([
      0x00, // response header v1: no tagged fields
      ...int32(0), // throttle_time_ms
      0x02, // topics: 1
      0x02,
      0x74, // name "t"
      0x02, // partitions: 1
      ...int32(2), // partition_index
      ...int64(42n), // committed_offset
      ...int32(-1), // committed_leader_epoch
      0x00, // metadata: null
      ...int16(errorCode),
      0x00, // partition's tagged fields
      0x00, // topic's tagged fields
      ...int16(0), // error_code
      0x00, // tagged fields
    ]);

  it('decodes a v7 answer and refuses an unstable offset with a retriable error', async () => {
    const { response } = offsetFetch.protocol({ version: 7 })({ groupId: 'g', topics });
    const decoded = await response.decode(v7Response(0));
    expect(await response.parse(decoded)).toEqual({
      throttleTime: 0,
      clientSideThrottleTime: 0,
      errorCode: 0,
      responses: [
        { topic: 't', partitions: [{ partition: 2, offset: '42', metadata: null, errorCode: 0 }] },
      ],
    });
    const unstable = await response.decode(v7Response(88));
    await expect(response.parse(unstable)).rejects.toMatchObject({
      type: 'UNSTABLE_OFFSET_COMMIT',
      retriable: true,
    });
  });

  it('decodes a v5 answer (with the leader epoch)', async () => {
    const { response } = offsetFetch.protocol({ version: 5 })({ groupId: 'g', topics });
    const raw = Buffer.from([
      ...int32(0),
      ...int32(1), // responses: 1
      ...int16(1),
      0x74, // topic "t"
      ...int32(1), // partitions: 1
      ...int32(0),
      ...int64(7n),
      ...int32(3), // committed_leader_epoch
      ...int16(-1 & 0xffff), // metadata: null
      ...int16(0),
      ...int16(0),
    ]);
    expect(await response.decode(raw)).toMatchObject({
      responses: [{ topic: 't', partitions: [{ partition: 0, offset: '7', metadata: null }] }],
      errorCode: 0,
    });
  });

  it('asks with the highest version both sides know, and logs no expected UNSTABLE answer', () => {
    const pick = (maxVersion: number, requireStable = false) =>
      lookup({ [OFFSET_FETCH]: { minVersion: 0, maxVersion } })(OFFSET_FETCH, offsetFetch)({
        groupId: 'g',
        topics,
        requireStable,
      });
    expect(pick(9).request.apiVersion).toBe(7);
    expect(pick(6).request.apiVersion).toBe(6);
    expect(pick(4).request.apiVersion).toBe(4);
    expect(pick(9, true).logResponseError).toBe(false);
    expect(pick(9, false).logResponseError).toBe(true);
  });

  it('refuses requireStable on a broker without v7 instead of ignoring it', async () => {
    const broker = {
      lookupRequest: lookup({ [OFFSET_FETCH]: { minVersion: 0, maxVersion: 6 } }),
    };
    await expect(
      Broker.prototype.offsetFetch.call(broker, { groupId: 'g', topics, requireStable: true }),
    ).rejects.toThrow(/requireStable needs OffsetFetch v7 .* offers v6/);
  });
});
