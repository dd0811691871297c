import { afterEach, describe, expect, it } from 'vitest';
import type { Readiness } from '../../../src/observability/ops-server.js';
import { buildTestApp } from '../../support/ingest-app.js';
import type { TestApp } from '../../support/ingest-app.js';

let current: TestApp | undefined;
afterEach(async () => {
  await current?.app.close();
  current = undefined;
});

const json = { 'content-type': 'application/json' };
const budV1 = JSON.stringify({
  data: {
    task_id: 't-1',
    task_type: 'refresh',
    customer_id: 'cust-1',
    status: 'Completed',
    result: 'success',
  },
});

describe('ingest /readyz with a downstream stage (refreshbus all)', () => {
  it('reports a stalled downstream stage, with its reason, while webhooks are still accepted', async () => {
    let downstream: Readiness = {
      ready: false,
      reason: 'normalizer: stalled partition (input waiting without a commit): raw/2 for 41 s',
    };
    current = await buildTestApp({ downstream: () => downstream });
    const { app, published } = current;

    const readyz = await app.inject({ method: 'GET', url: '/readyz' });
    expect(readyz.statusCode).toBe(503);
    expect(readyz.json()).toEqual({
      error: {
        code: 'UNAVAILABLE',
        message: 'normalizer: stalled partition (input waiting without a commit): raw/2 for 41 s',
      },
    });
    const webhook = await app.inject({
      method: 'POST',
      url: '/webhooks/bud',
      headers: json,
      payload: budV1,
    });
    expect(webhook.statusCode).toBe(200);
    expect(published).toHaveLength(1);
    // the gauge stays about Kafka, which accepts the webhooks
    expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(
      /^refreshbus_ingest_kafka_ready 1$/m,
    );

    downstream = { ready: true };
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({
      status: 'ready',
    });
  });

  it('names Kafka first when Kafka is unreachable too', async () => {
    current = await buildTestApp({
      ready: () => false,
      downstream: () => ({ ready: false, reason: 'processors: starting' }),
    });
    const readyz = await current.app.inject({ method: 'GET', url: '/readyz' });
    expect(readyz.statusCode).toBe(503);
    expect(readyz.json<{ error: { message: string } }>().error.message).toBe(
      'Kafka is not reachable',
    );
  });
});
