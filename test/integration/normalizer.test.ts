import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { headerText } from '../../src/normalize/dlq.js';
import { startNormalizer } from '../../src/normalize/normalizer.js';
import { replayDlq } from '../../src/normalize/replay.js';
import type { RefreshEvent } from '../../src/normalize/types.js';
import { createLogger } from '../../src/lib/logger.js';
import { testBroker, testRegistry, uniqueName } from './support/kafka.js';
import { normalizerConfig, produceRaw, rawRecord } from './support/normalizer.js';
import { HEADER } from '../../src/contract/headers.js';

const broker = testBroker();
const { resources } = broker;

const fixture = (name: string) => {
  const f = JSON.parse(
    readFileSync(path.join(import.meta.dirname, '../fixtures/webhooks', `${name}.json`), 'utf8'),
  ) as {
    source: string;
    body?: unknown;
    bodyText?: string;
  };
  return { source: f.source, body: f.bodyText ?? JSON.stringify(f.body) };
};

describe('normalizer against the real broker and registry', () => {
  it('maps raw webhooks to RefreshEvent decoded by schema id, dead-letters poison with headers, and keeps ids on re-delivery', async () => {
    const config = normalizerConfig();
    const { kafka } = broker;
    resources.track(
      await startNormalizer(
        config,
        { brokers: config.KAFKA_BROKERS ?? [], registryUrl: config.SCHEMA_REGISTRY_URL ?? '' },
        createLogger('silent'),
      ),
      (n) => n.close(),
    );
    const v2 = fixture('bud-v2-refresh-completed'); // two events
    const yodlee = fixture('yodlee-seed-completed-success');
    const v1 = fixture('bud-v1-seed-success-strings');
    const poison = fixture('bud-unknown-shape');
    await produceRaw(kafka, config.TOPIC_WEBHOOKS_RAW, [
      rawRecord(v2.source, v2.body, 'cust-10', 'ingest-a'),
      rawRecord(yodlee.source, yodlee.body, 'fri21', 'ingest-b'),
      rawRecord(v1.source, v1.body, '82a90a04', 'ingest-c'),
      rawRecord(poison.source, poison.body, 'ingest-d', 'ingest-d'),
      // the same Bud webhook delivered again (the sender retried), pretty-printed this time
      rawRecord(v1.source, JSON.stringify(JSON.parse(v1.body), null, 2), '82a90a04', 'ingest-e'),
    ]);

    const records = await broker.readAll(config.TOPIC_REFRESH_EVENTS, {
      readCommitted: true,
      count: 5,
    });
    expect(records).toHaveLength(5);
    const registry = testRegistry();
    const events = (await Promise.all(
      records.map((r) => registry.decode(r.value ?? Buffer.alloc(0))),
    )) as RefreshEvent[];
    for (const r of records) expect(r.value?.readUInt8(0)).toBe(0);

    const byIngest = new Map<string, RefreshEvent[]>();
    for (const e of events) byIngest.set(e.ingest_id, [...(byIngest.get(e.ingest_id) ?? []), e]);
    expect(byIngest.get('ingest-a')?.map((e) => [e.task_id, e.parent_task_id, e.outcome])).toEqual([
      ['sub-1', 'parent-1', 'FAILED'],
      ['sub-2', 'parent-1', 'SUCCESS'],
    ]);
    expect(byIngest.get('ingest-b')?.[0]).toMatchObject({
      source: 'YODLEE',
      connection_id: '10995860',
      outcome: 'SUCCESS',
    });
    const first = byIngest.get('ingest-c')?.[0];
    const again = byIngest.get('ingest-e')?.[0];
    expect(first?.event_id).toBeDefined();
    expect(again?.event_id).toBe(first?.event_id);
    expect(again?.raw_offset).not.toBe(first?.raw_offset);
    // keyed by customer, with lineage back to the raw record
    for (const r of records)
      expect(r.key?.toString()).toBe(events[records.indexOf(r)]?.customer_id);
    expect(first).toMatchObject({
      raw_topic: config.TOPIC_WEBHOOKS_RAW,
      has_new_transactions: true,
    });

    const [dead, ...moreDead] = await broker.readAll(config.TOPIC_REFRESH_DLQ, {
      readCommitted: true,
      count: 1,
    });
    expect(moreDead).toHaveLength(0);
    expect(dead?.value?.toString()).toBe(poison.body);
    expect(dead?.key?.toString()).toBe('ingest-d');
    expect(headerText(dead?.headers, HEADER.errorCode)).toBe('UNKNOWN_SHAPE');
    expect(headerText(dead?.headers, HEADER.errorMessage)).toMatch(/Bud body/);
    expect(headerText(dead?.headers, HEADER.originTopic)).toBe(config.TOPIC_WEBHOOKS_RAW);
    expect(headerText(dead?.headers, HEADER.originPartition)).toMatch(/^\d+$/);
    expect(headerText(dead?.headers, HEADER.originOffset)).toMatch(/^\d+$/);
    expect(headerText(dead?.headers, HEADER.ingestId)).toBe('ingest-d'); // original headers kept
  });

  it('replays dead-lettered records, filtered by error code, back through the normalizer', async () => {
    const config = normalizerConfig();
    const { kafka } = broker;
    resources.track(
      await startNormalizer(
        config,
        { brokers: config.KAFKA_BROKERS ?? [], registryUrl: config.SCHEMA_REGISTRY_URL ?? '' },
        createLogger('silent'),
      ),
      (n) => n.close(),
    );
    await produceRaw(kafka, config.TOPIC_WEBHOOKS_RAW, [
      rawRecord('bud', '{"truncated": ', 'k1', 'ingest-json'),
      rawRecord('truelayer', '{"data":{}}', 'k2', 'ingest-source'),
    ]);
    const dead = await broker.readAll(config.TOPIC_REFRESH_DLQ, { readCommitted: true, count: 2 });
    expect(dead.map((d) => headerText(d.headers, HEADER.errorCode)).sort()).toEqual([
      'INVALID_JSON',
      'UNKNOWN_SOURCE',
    ]);

    const dry = await replayDlq(kafka, {
      dlqTopic: config.TOPIC_REFRESH_DLQ,
      groupId: uniqueName('replay'),
      filter: {},
      dryRun: true,
    });
    expect(dry).toEqual({
      scanned: 2,
      replayed: 0,
      byCode: { INVALID_JSON: 1, UNKNOWN_SOURCE: 1 },
    });
    const later = await replayDlq(kafka, {
      dlqTopic: config.TOPIC_REFRESH_DLQ,
      groupId: uniqueName('replay'),
      filter: { since: Date.now() + 60_000 },
    });
    expect(later).toEqual({ scanned: 2, replayed: 0, byCode: {} });

    const result = await replayDlq(kafka, {
      dlqTopic: config.TOPIC_REFRESH_DLQ,
      groupId: uniqueName('replay'),
      filter: { codes: ['UNKNOWN_SOURCE'] },
    });
    expect(result).toEqual({ scanned: 2, replayed: 1, byCode: { UNKNOWN_SOURCE: 1 } });

    const raw = await broker.readAll(config.TOPIC_WEBHOOKS_RAW, { readCommitted: true, count: 3 });
    const replayed = raw.filter((m) => headerText(m.headers, HEADER.replayedFrom));
    expect(replayed).toHaveLength(1);
    expect(replayed[0]?.value?.toString()).toBe('{"data":{}}');
    expect(headerText(replayed[0]?.headers, HEADER.source)).toBe('truelayer');
    expect(headerText(replayed[0]?.headers, HEADER.errorCode)).toBeUndefined();
    // still unmappable (no fix was deployed): it lands in the DLQ again, nothing is lost
    const deadAgain = await broker.readAll(config.TOPIC_REFRESH_DLQ, {
      readCommitted: true,
      count: 3,
    });
    expect(deadAgain).toHaveLength(3);
  });
});
