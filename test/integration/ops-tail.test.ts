import type { KafkaMessage, Message, Producer } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { deadLetter } from '../../src/normalize/dlq.js';
import { until } from './support/pipeline.js';
import { registerValueSchema } from '../../src/registry/registry.js';
import { readSchema } from '../../src/registry/schemas.js';
import { Resources, TestBroker, createTopics, testRegistry, uniqueName } from './support/kafka.js';
import { jsonLinesOf, opsEnv, refreshbus } from './support/ops.js';
import { HEADER } from '../../src/contract/headers.js';

const env = opsEnv('ops-tail');
const requests = env.TOPIC_REFRESH_REQUESTS ?? '';
const raw = env.TOPIC_WEBHOOKS_RAW ?? '';
const dlq = env.TOPIC_REFRESH_DLQ ?? '';
const processDlq = env.TOPIC_PROCESS_DLQ ?? '';
const hourAgo = Date.now() - 3_600_000;
const minuteAgo = Date.now() - 60_000;
let schemaId = 0;

/** Sends in one transaction, as the services do (so every partition ends with a commit marker). */
async function sendCommitted(producer: Producer, topic: string, messages: Message[]) {
  const tx = await producer.transaction();
  await tx.send({ topic, acks: -1, messages });
  await tx.commit();
}

function request(n: number, at: number) {
  return {
    request_id: `r-${n}`,
    customer_id: 'cust-1',
    providers: ['bud'],
    task_ids: [`t-${n}`],
    idempotency_key: null,
    requested_at: at,
  };
}

beforeAll(async () => {
  const broker = new TestBroker(new Resources());
  try {
    const admin = await broker.admin();
    // a broker started a moment ago may not host a new topic's partitions yet
    await until('the topics to be created', 30_000, () =>
      createTopics(admin, [requests, raw, dlq, processDlq], 2).then(
        () => true,
        () => undefined,
      ),
    );
    const registry = testRegistry();
    schemaId = await registerValueSchema(registry, requests, await readSchema('RefreshRequested'));
    const producer = await broker.transactionalProducer(uniqueName('ops-tail-tx'));
    // one key, so one partition: offsets 0, 1 an hour ago (then a marker), 3 a minute ago
    await sendCommitted(producer, requests, [
      {
        key: 'cust-1',
        value: await registry.encode(schemaId, request(0, hourAgo)),
        timestamp: String(hourAgo),
      },
      {
        key: 'cust-1',
        value: await registry.encode(schemaId, request(1, hourAgo)),
        timestamp: String(hourAgo),
      },
    ]);
    await sendCommitted(producer, requests, [
      {
        key: 'cust-1',
        value: await registry.encode(schemaId, request(2, minuteAgo)),
        timestamp: String(minuteAgo),
      },
    ]);
    await sendCommitted(producer, raw, [
      {
        key: 'cust-2',
        value: '{"data":{"customer_id":"cust-2"}}',
        headers: { [HEADER.source]: 'bud', [HEADER.ingestId]: 'i-1' },
      },
      { key: 'cust-2', value: Buffer.from([0xff, 0xfe, 0x00]) },
    ]);
    const input = (offset: string, value: string): KafkaMessage =>
      ({
        key: Buffer.from('cust-3'),
        value: Buffer.from(value),
        offset,
        timestamp: String(Date.now()),
        attributes: 0,
        size: 0,
        headers: {
          [HEADER.source]: Buffer.from('bud'),
          [HEADER.ingestId]: Buffer.from(`i-${offset}`),
        },
      }) as KafkaMessage;
    await sendCommitted(producer, dlq, [
      deadLetter(
        input('41', 'SECRET-BODY not json'),
        { topic: raw, partition: 1 },
        {
          code: 'INVALID_JSON',
          message: 'Unexpected token S in JSON at position 0',
        },
      ),
      deadLetter(
        input('42', '{"SECRET":"body"}'),
        { topic: raw, partition: 1 },
        {
          code: 'UNKNOWN_SHAPE',
          message: 'no mapper knows this body',
        },
      ),
    ]);
    await sendCommitted(producer, processDlq, [
      deadLetter(
        { ...input('7', 'not avro'), key: Buffer.from('cust-9') },
        { topic: env.TOPIC_REFRESH_EVENTS ?? '', partition: 0 },
        { code: 'UNDECODABLE', message: 'Message encoded with magic byte 110, expected 0' },
      ),
    ]);
  } finally {
    await broker.resources.closeAll();
  }
});

describe('refreshbus tail', () => {
  it('prints Avro records decoded by schema id as JSON lines, and stops at the end', async () => {
    const run = await refreshbus(['tail', requests], env);
    expect(run.code).toBe(0);
    const lines = jsonLinesOf(run.stdout);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toEqual({
      topic: requests,
      partition: expect.any(Number) as number,
      offset: '0',
      timestamp: new Date(hourAgo).toISOString(),
      key: 'cust-1',
      schemaId,
      value: request(0, hourAgo),
    });
    expect(lines.map((l) => l.offset)).toEqual(['0', '1', '3']);
    expect(run.stderr).toContain(`tail: 3 records from ${requests}`);
  });

  it('prints other values as text, or base64 when not UTF-8, with their headers', async () => {
    const run = await refreshbus(['tail', raw], env);
    expect(run.code).toBe(0);
    const [text, bytes, ...rest] = jsonLinesOf(run.stdout);
    expect(rest).toEqual([]);
    expect(text).toMatchObject({
      key: 'cust-2',
      headers: { [HEADER.source]: 'bud', [HEADER.ingestId]: 'i-1' },
      value: '{"data":{"customer_id":"cust-2"}}',
    });
    expect(text).not.toHaveProperty('schemaId');
    expect(bytes).toMatchObject({ value: '//4A', valueEncoding: 'base64' });
  });

  it('honours --max, --offset, --since and --partition', async () => {
    const max = await refreshbus(['tail', requests, '--max', '1'], env);
    expect(jsonLinesOf(max.stdout).map((l) => l.offset)).toEqual(['0']);

    const offset = await refreshbus(['tail', requests, '--offset', '1'], env);
    expect(jsonLinesOf(offset.stdout).map((l) => l.offset)).toEqual(['1', '3']);

    const since = await refreshbus(
      ['tail', requests, '--since', new Date(minuteAgo - 1000).toISOString()],
      env,
    );
    expect(
      jsonLinesOf(since.stdout).map((l) => (l.value as { request_id: string }).request_id),
    ).toEqual(['r-2']);

    const partition = jsonLinesOf((await refreshbus(['tail', requests], env)).stdout)[0]?.partition;
    const other = await refreshbus(
      ['tail', requests, '--partition', String(1 - Number(partition))],
      env,
    );
    expect(other.code).toBe(0);
    expect(jsonLinesOf(other.stdout)).toEqual([]);
  });

  it('with --follow, prints records written after it started', async () => {
    const broker = new TestBroker(new Resources());
    try {
      const topic = uniqueName('ops-tail-follow');
      await broker.createTopics([topic], 2);
      const producer = await broker.producer();
      await producer.send({ topic, acks: -1, messages: [{ key: 'f', value: 'before' }] });
      let sent = 0;
      const run = await refreshbus(
        ['tail', topic, '--follow', '--offset', 'end', '--max', '1'],
        env,
        {
          timeoutMs: 60_000,
          // it reads from the end offsets it found at start: keep writing until it has printed one
          whileRunning: async () => {
            for (let i = 0; i < 100; i++) {
              await new Promise((r) => setTimeout(r, 500));
              await producer.send({
                topic,
                acks: -1,
                messages: [{ key: 'f', value: `later-${i}` }],
              });
              sent += 1;
            }
          },
        },
      );
      expect(run.code).toBe(0);
      const lines = jsonLinesOf(run.stdout);
      expect(lines).toHaveLength(1);
      expect(String(lines[0]?.value)).toMatch(/^later-\d+$/);
      expect(sent).toBeGreaterThan(0);
    } finally {
      await broker.resources.closeAll();
    }
  });

  it('fails clearly on an unknown topic or partition', async () => {
    const topic = await refreshbus(['tail', `${raw}.nope`], env);
    expect(topic.code).toBe(1);
    expect(topic.stderr).toContain(`refreshbus: topic "${raw}.nope" does not exist`);
    const partition = await refreshbus(['tail', raw, '--partition', '9'], env);
    expect(partition.code).toBe(1);
    expect(partition.stderr).toContain(
      `refreshbus: topic "${raw}" has partitions 0–1; no partition 9`,
    );
    const usage = await refreshbus(['tail', raw, '--offset', '1', '--since', '2026-01-01'], env);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toMatch(/cannot be used with option '--since/);
  });
});

describe('refreshbus dlq list', () => {
  it('lists dead letters with why and where from, never their bodies, and counts them by code', async () => {
    const run = await refreshbus(['dlq', 'list'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('SECRET');
    const lines = jsonLinesOf(run.stdout);
    expect(lines).toEqual([
      {
        partition: expect.any(Number) as number,
        offset: '0',
        timestamp: expect.any(String) as string,
        code: 'INVALID_JSON',
        message: 'Unexpected token S in JSON at position 0',
        origin: { topic: raw, partition: 1, offset: '41' },
        key: 'cust-3',
        source: 'bud',
        ingestId: 'i-41',
        bodyBytes: 'SECRET-BODY not json'.length,
      },
      expect.objectContaining({ offset: '1', code: 'UNKNOWN_SHAPE', bodyBytes: 17 }),
    ]);
    expect(run.stderr).toContain(
      `dlq: 2 dead letters listed (of 2 read from ${dlq}): INVALID_JSON 1, UNKNOWN_SHAPE 1`,
    );

    const one = await refreshbus(['dlq', 'list', '--code', 'UNKNOWN_SHAPE'], env);
    expect(jsonLinesOf(one.stdout).map((l) => l.code)).toEqual(['UNKNOWN_SHAPE']);
    expect(one.stderr).toContain('1 dead letter listed (of 2 read');

    const none = await refreshbus(
      ['dlq', 'list', '--since', new Date(Date.now() + 60_000).toISOString()],
      env,
    );
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    const max = await refreshbus(['dlq', 'list', '--max', '1'], env);
    expect(jsonLinesOf(max.stdout)).toHaveLength(1);
  });
});

describe('refreshbus dlq --stage process', () => {
  it("lists and replays the processors' dead letters, not the normalizer's", async () => {
    const run = await refreshbus(['dlq', 'list', '--stage', 'process'], env);
    expect(run.code).toBe(0);
    expect(jsonLinesOf(run.stdout)).toEqual([
      expect.objectContaining({
        code: 'UNDECODABLE',
        key: 'cust-9',
        origin: { topic: env.TOPIC_REFRESH_EVENTS, partition: 0, offset: '7' },
        bodyBytes: 'not avro'.length,
      }),
    ]);
    expect(run.stderr).toContain(`1 dead letter listed (of 1 read from ${processDlq})`);
    const replay = await refreshbus(['dlq', 'replay', '--stage', 'process', '--dry-run'], env);
    expect(replay.code).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({
      dryRun: true,
      scanned: 1,
      byCode: { UNDECODABLE: 1 },
    });
    const wrong = await refreshbus(['dlq', 'list', '--stage', 'ingest'], env);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/Allowed choices are normalize, process/);
  });
});
