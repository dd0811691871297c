import { createRequire } from 'node:module';
import type { IHeaders, Message, ProducerBatch } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { BatchingPublisher, PublishUnavailableError } from '../../../src/ingest/publisher.js';
import type {
  BatchSender,
  OutgoingRecord,
  PublisherOptions,
} from '../../../src/ingest/publisher.js';
import { createLogger } from '../../../src/lib/logger.js';
import { HEADER } from '../../../src/contract/headers.js';

/** A producer stand-in whose acknowledgements the test releases by hand. */
class ManualSender implements BatchSender {
  batches: ProducerBatch[] = [];
  private releases: (() => void)[] = [];
  connect = () => Promise.resolve();
  disconnect = () => Promise.resolve();
  sendBatch = (batch: ProducerBatch) => {
    this.batches.push(batch);
    return new Promise<never[]>((resolve) =>
      this.releases.push(() => {
        resolve([]);
      }),
    );
  };
  ackNext() {
    this.releases.shift()?.();
  }
  recordsIn(i: number) {
    return (
      this.batches[i]?.topicMessages?.flatMap((t) => t.messages.map((m) => String(m.value))) ?? []
    );
  }
}

/**
 * kafkajs's own record encoder (v0 record, as in a produce request): a sender that encodes like
 * kafkajs fails the whole produce request on a header it cannot size, as the real one does.
 */
const encodeRecord = createRequire(import.meta.url)(
  'kafkajs/src/protocol/recordBatch/record/v0/index.js',
) as (record: Message) => unknown;

const record = (n: number): OutgoingRecord => ({
  topic: 'raw',
  key: `k${n}`,
  value: Buffer.from(`v${n}`),
  headers: {},
});
const tick = () => new Promise((r) => setTimeout(r, 5));
const options = { maxBatchRecords: 100, maxBatchBytes: 1 << 20, lingerMs: 1, maxInFlight: 10 };

async function connected(sender: ManualSender, overrides: Partial<PublisherOptions> = {}) {
  const publisher = new BatchingPublisher(
    () => sender,
    { ...options, ...overrides },
    createLogger('silent'),
  );
  await publisher.connect();
  return publisher;
}

describe('BatchingPublisher', () => {
  it('gathers concurrent records into one produce request and settles each when it is acknowledged', async () => {
    const sender = new ManualSender();
    const publisher = await connected(sender);
    let settled = 0;
    const all = [1, 2, 3].map((n) => publisher.publish(record(n), 1000).then(() => (settled += 1)));
    await tick();
    expect(sender.batches).toHaveLength(1);
    expect(sender.batches[0]?.acks).toBe(-1);
    expect(sender.recordsIn(0)).toEqual(['v1', 'v2', 'v3']);
    expect(settled).toBe(0); // nothing is acknowledged before Kafka acknowledges
    sender.ackNext();
    await Promise.all(all);
    expect(settled).toBe(3);
  });

  it('keeps one request in flight and sends what queued meanwhile as the next batch', async () => {
    const sender = new ManualSender();
    const publisher = await connected(sender);
    const first = publisher.publish(record(1), 1000);
    await tick();
    const later = [2, 3].map((n) => publisher.publish(record(n), 1000));
    await tick();
    expect(sender.batches).toHaveLength(1);
    sender.ackNext();
    await first;
    await tick();
    expect(sender.recordsIn(1)).toEqual(['v2', 'v3']);
    sender.ackNext();
    await Promise.all(later);
  });

  it('sends what queued during a produce request right after it, without another linger', async () => {
    const sender = new ManualSender();
    const publisher = await connected(sender, { lingerMs: 200 });
    const first = publisher.publish(record(1), 5000);
    await new Promise((r) => setTimeout(r, 250)); // the first batch lingers, then goes
    expect(sender.batches).toHaveLength(1);
    const later = [2, 3].map((n) => publisher.publish(record(n), 5000));
    sender.ackNext();
    await first;
    await tick(); // far less than the linger: the records waited a round trip already
    expect(sender.recordsIn(1)).toEqual(['v2', 'v3']);
    sender.ackNext();
    await Promise.all(later);
  });

  it('splits batches at the record limit', async () => {
    const sender = new ManualSender();
    const publisher = await connected(sender, { maxBatchRecords: 2 });
    const all = [1, 2, 3].map((n) => publisher.publish(record(n), 1000));
    await tick();
    expect(sender.recordsIn(0)).toEqual(['v1', 'v2']);
    sender.ackNext();
    await tick();
    expect(sender.recordsIn(1)).toEqual(['v3']);
    sender.ackNext();
    await Promise.all(all);
  });

  it('refuses records beyond the in-flight bound instead of queueing them', async () => {
    const sender = new ManualSender();
    const publisher = await connected(sender, { maxInFlight: 2 });
    const held = [publisher.publish(record(1), 1000), publisher.publish(record(2), 1000)];
    await expect(publisher.publish(record(3), 1000)).rejects.toMatchObject({
      reason: 'overloaded',
    });
    await tick();
    sender.ackNext();
    await Promise.all(held);
  });

  it('times a record out when Kafka does not acknowledge, and never sends one whose request gave up', async () => {
    const sender = new ManualSender();
    const publisher = await connected(sender);
    const stuck = publisher.publish(record(1), 20);
    await tick();
    const queued = publisher.publish(record(2), 20); // waits behind the stuck batch
    await expect(stuck).rejects.toBeInstanceOf(PublishUnavailableError);
    await expect(queued).rejects.toMatchObject({ reason: 'timeout' });
    sender.ackNext(); // the broker comes back and acknowledges the first batch late
    await tick();
    expect(sender.batches).toHaveLength(1); // record 2 was dropped, not sent as a duplicate
    expect(publisher.inFlight).toBe(0);
  });

  it('drops a queued record as soon as its request gives up, freeing its memory during an outage', async () => {
    const sender = new ManualSender();
    const publisher = await connected(sender);
    const stuck = publisher.publish(record(1), 1000);
    await tick();
    const queued = publisher.publish(record(2), 20);
    await expect(queued).rejects.toMatchObject({ reason: 'timeout' });
    expect(publisher.inFlight).toBe(1); // only the record Kafka has, not the abandoned one
    sender.ackNext();
    await stuck;
    expect(publisher.inFlight).toBe(0);
  });

  it('refuses records beyond the in-flight byte bound', async () => {
    const sender = new ManualSender();
    const publisher = await connected(sender, { maxInFlightBytes: 5 });
    const held = publisher.publish(record(1), 1000); // 2 bytes
    await expect(
      publisher.publish({ ...record(2), value: Buffer.alloc(4) }, 1000),
    ).rejects.toMatchObject({ reason: 'overloaded' });
    await tick();
    sender.ackNext();
    await held;
  });

  it('on MESSAGE_TOO_LARGE resends records one by one and refuses only the one that can never fit', async () => {
    const sent: number[] = [];
    const tooLarge = Object.assign(new Error('too large'), { type: 'MESSAGE_TOO_LARGE' });
    const sender: BatchSender = {
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      sendBatch: (batch: ProducerBatch) => {
        const values =
          batch.topicMessages?.flatMap((t) => t.messages.map((m) => (m.value as Buffer).length)) ??
          [];
        if (values.reduce((a, b) => a + b, 0) > 100) return Promise.reject(tooLarge);
        sent.push(...values);
        return Promise.resolve([]);
      },
    };
    const publisher = new BatchingPublisher(() => sender, options, createLogger('silent'));
    await publisher.connect();
    const results = await Promise.allSettled([
      publisher.publish({ ...record(1), value: Buffer.alloc(60) }, 1000),
      publisher.publish({ ...record(2), value: Buffer.alloc(60) }, 1000),
      publisher.publish({ ...record(3), value: Buffer.alloc(500) }, 1000),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(results[2]).toMatchObject({ reason: { reason: 'too-large' } });
    expect(sent).toEqual([60, 60]);
  });

  it('after a failed produce request, sends the next one on a new producer (a reused one stays out of sequence)', async () => {
    const lost = Object.assign(new Error('Connection error'), { type: 'UNKNOWN' });
    const producers: { sent: string[]; disconnected: boolean }[] = [];
    const newProducer = (): BatchSender => {
      const p = { sent: [] as string[], disconnected: false };
      producers.push(p);
      return {
        connect: () => Promise.resolve(),
        disconnect: () => {
          p.disconnected = true;
          return Promise.resolve();
        },
        sendBatch: (batch: ProducerBatch) => {
          // the first producer lost the broker mid-request; kafkajs's copy would keep failing
          if (producers.indexOf(p) === 0) return Promise.reject(lost);
          p.sent.push(
            ...(batch.topicMessages?.flatMap((t) => t.messages.map((m) => String(m.value))) ?? []),
          );
          return Promise.resolve([]);
        },
      };
    };
    const publisher = new BatchingPublisher(newProducer, options, createLogger('silent'));
    await publisher.connect();
    await expect(publisher.publish(record(1), 1000)).rejects.toMatchObject({ reason: 'timeout' });
    await publisher.publish(record(2), 1000);
    await publisher.publish(record(3), 1000);
    expect(producers).toHaveLength(2);
    expect(producers[0]?.disconnected).toBe(true);
    expect(producers[1]?.sent).toEqual(['v2', 'v3']);
  });

  it('refuses records before it is connected and after close', async () => {
    const sender = new ManualSender();
    const publisher = new BatchingPublisher(() => sender, options, createLogger('silent'));
    await expect(publisher.publish(record(1), 100)).rejects.toMatchObject({
      reason: 'not-connected',
    });
    await publisher.connect();
    await publisher.close(100);
    await expect(publisher.publish(record(1), 100)).rejects.toMatchObject({ reason: 'closed' });
  });

  it('on close, waits for records in flight before disconnecting', async () => {
    const sender = new ManualSender();
    const publisher = await connected(sender);
    const pending = publisher.publish(record(1), 1000);
    await tick();
    let closed = false;
    const closing = publisher.close(1000).then(() => (closed = true));
    await tick();
    expect(closed).toBe(false);
    sender.ackNext();
    await pending;
    await closing;
    expect(closed).toBe(true);
  });

  it('a record with a header that is not a string fails only itself, never the records batched with it', async () => {
    const sent: string[] = [];
    const sender: BatchSender = {
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      sendBatch: (batch: ProducerBatch) => {
        const messages = batch.topicMessages?.flatMap((t) => t.messages) ?? [];
        try {
          for (const m of messages) encodeRecord(m); // throws as kafkajs does, for the whole request
        } catch (err) {
          return Promise.reject(err instanceof Error ? err : new Error(String(err)));
        }
        sent.push(...messages.map((m) => String(m.value)));
        return Promise.resolve([]);
      },
    };
    const publisher = new BatchingPublisher(() => sender, options, createLogger('silent'));
    await publisher.connect();
    const bad = {
      ...record(2),
      headers: { [HEADER.remoteAddr]: undefined, 'ob-other': null } as unknown as IHeaders,
    };
    const results = await Promise.allSettled([
      publisher.publish({ ...record(1), headers: { [HEADER.source]: 'bud' } }, 1000),
      publisher.publish(bad, 1000),
      publisher.publish(record(3), 1000),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(results[1]).toMatchObject({ reason: { name: 'InvalidRecordError' } });
    expect(sent).toEqual(['v1', 'v3']);
    expect(publisher.inFlight).toBe(0);
  });
});
