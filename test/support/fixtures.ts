import { readFileSync } from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import { expect } from 'vitest';
import { DEFAULT_TOPICS } from '../../src/contract/topics.js';
import type { MapResult, RawWebhook, RefreshEvent } from '../../src/normalize/types.js';

/** A fixture's expected output (test/fixtures/expected/…): its events, or its rejection code. */
export type Expected = { events: Partial<RefreshEvent>[] } | { rejected: string };

/** The lineage every fixture is mapped with (`rawOf`), which the expected files leave out. */
export const LINEAGE = {
  receivedAt: Date.parse('2026-11-23T10:00:00.000Z'),
  ingestId: 'ingest-1',
  topic: DEFAULT_TOPICS.webhooksRaw,
  partition: 2,
  offset: 41,
} as const;

/** A raw record of `source` carrying `text`, with the fixtures' lineage. */
export function rawWith(
  source: string,
  text: string,
  overrides: Partial<RawWebhook> = {},
): RawWebhook {
  return { source, value: Buffer.from(text), ...LINEAGE, ...overrides };
}

const EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const refreshEvent = avro.Type.forSchema(
  JSON.parse(
    readFileSync(path.join(import.meta.dirname, '../../schemas/RefreshEvent.avsc'), 'utf8'),
  ) as avro.Schema,
);

/**
 * Asserts that a fixture mapped as its expected file says: the rejection code, or exactly its
 * events with the fixtures' lineage and a UUID-formatted id — each valid Avro that reads back the
 * same (what the normalizer writes).
 */
export function expectMapped(result: MapResult, expected: Expected): void {
  if ('rejected' in expected) {
    expect(result).toMatchObject({ ok: false, code: expected.rejected });
    return;
  }
  if (!result.ok) throw new Error(`rejected: ${result.code} ${result.message}`);
  expect(result.events).toHaveLength(expected.events.length);
  result.events.forEach((event, i) => {
    expect(event).toEqual({
      ...expected.events[i],
      event_id: expect.stringMatching(EVENT_ID) as unknown,
      received_at: LINEAGE.receivedAt,
      ingest_id: LINEAGE.ingestId,
      raw_topic: LINEAGE.topic,
      raw_partition: LINEAGE.partition,
      raw_offset: LINEAGE.offset,
    });
    expect(refreshEvent.fromBuffer(refreshEvent.toBuffer(event))).toEqual(event);
  });
}
