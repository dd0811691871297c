import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildIngestApp } from '../../src/ingest/app.js';
import type { IngestAppDeps, RefreshRequested } from '../../src/ingest/app.js';
import type { Authenticator } from '../../src/ingest/auth/types.js';
import { createIngestMetrics } from '../../src/ingest/metrics.js';
import type { OutgoingRecord, OutgoingTombstone } from '../../src/ingest/publisher.js';
import { sources } from '../../src/ingest/sources/index.js';
import { createLogger } from '../../src/lib/logger.js';

/** Everything the app logged, as text, so tests can check what never appears in logs. */
export class LogCapture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void) {
    this.text += chunk.toString();
    done();
  }
}

export interface TestApp {
  app: FastifyInstance;
  published: OutgoingRecord[];
  /** Tombstones written (connection deletions). */
  removed: OutgoingTombstone[];
  logs: LogCapture;
}

/** The ingest app with an in-memory publish step: records are collected instead of sent. */
export async function buildTestApp(
  overrides: {
    auth?: Partial<Record<'bud' | 'yodlee' | 'plaid' | 'refresh' | 'connections', Authenticator>>;
    publish?: IngestAppDeps['publish'];
    encode?: (value: RefreshRequested) => Promise<Buffer>;
    ready?: () => boolean;
    downstream?: IngestAppDeps['downstream'];
    settings?: Partial<IngestAppDeps['settings']>;
    now?: number;
  } = {},
): Promise<TestApp> {
  const published: OutgoingRecord[] = [];
  const removed: OutgoingTombstone[] = [];
  const logs = new LogCapture();
  const open: Authenticator = () => Promise.resolve({ ok: true, method: 'none' });
  let n = 0;
  const app = await buildIngestApp({
    sources: sources.map((definition) => ({
      definition,
      authenticate: overrides.auth?.[definition.name as 'bud' | 'yodlee' | 'plaid'] ?? open,
    })),
    refreshRequests: {
      authenticate: overrides.auth?.refresh ?? open,
      encode: overrides.encode ?? ((value) => Promise.resolve(Buffer.from(JSON.stringify(value)))),
    },
    publish:
      overrides.publish ??
      ((record) => {
        published.push(record);
        return Promise.resolve();
      }),
    connections: {
      authenticate: overrides.auth?.connections ?? open,
      encode: (value) => Promise.resolve(Buffer.from(JSON.stringify(value))),
    },
    remove: (tombstone) => {
      removed.push(tombstone);
      return Promise.resolve();
    },
    ready: overrides.ready ?? (() => true),
    ...(overrides.downstream ? { downstream: overrides.downstream } : {}),
    metrics: createIngestMetrics({ defaultMetrics: false }),
    logger: createLogger('debug', logs),
    settings: {
      rawTopic: 'raw',
      requestsTopic: 'requests',
      connectionsTopic: 'connections',
      bodyLimitBytes: 1024 * 1024,
      requestTimeoutMs: 10_000,
      publishTimeoutMs: 1000,
      retryAfterSeconds: 7,
      ...overrides.settings,
    },
    now: () => overrides.now ?? Date.parse('2026-11-23T10:00:00.000Z'),
    newId: () => `ingest-${++n}`,
  });
  return { app, published, removed, logs };
}
