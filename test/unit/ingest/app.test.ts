import { LIMITS } from '../../../src/contract/limits.js';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { standardWebhooksVerifier } from '../../../src/ingest/auth/standard-webhooks.js';
import { rawRecordHeaders } from '../../../src/ingest/app.js';
import { PublishUnavailableError } from '../../../src/ingest/publisher.js';
import { buildTestApp } from '../../support/ingest-app.js';
import type { TestApp } from '../../support/ingest-app.js';
import { HEADER } from '../../../src/contract/headers.js';

let current: TestApp | undefined;
afterEach(async () => {
  await current?.app.close();
  current = undefined;
});
async function app(options: Parameters<typeof buildTestApp>[0] = {}) {
  current = await buildTestApp(options);
  return current;
}

const budV1 = Buffer.from(
  JSON.stringify({
    data: {
      task_id: 't-1',
      task_type: 'refresh',
      customer_id: 'cust-1',
      status: 'Completed',
      result: 'success',
    },
  }),
);
const json = { 'content-type': 'application/json' };

describe('ingest routes', () => {
  it('stores a Bud webhook byte for byte, keyed by customer, with the contract headers', async () => {
    const { app: a, published } = await app();
    const body = Buffer.from(`  ${budV1.toString()}\n`); // whitespace must survive too
    const res = await a.inject({
      method: 'POST',
      url: '/webhooks/bud',
      headers: json,
      payload: body,
      remoteAddress: '10.1.2.3',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'accepted', id: 'ingest-1' });
    expect(published).toHaveLength(1);
    const [record] = published;
    expect(record?.topic).toBe('raw');
    expect(record?.key).toBe('cust-1');
    expect(Buffer.compare(record?.value ?? Buffer.alloc(0), body)).toBe(0);
    expect(record?.headers).toEqual({
      [HEADER.source]: 'bud',
      [HEADER.ingestId]: 'ingest-1',
      [HEADER.receivedAt]: '2026-11-23T10:00:00.000Z',
      'content-type': 'application/json',
      [HEADER.remoteAddr]: '10.1.2.3',
      [HEADER.auth]: 'none',
    });
  });

  it('keys a Bud V2 event by its flat customer_id and a Yodlee event by loginName', async () => {
    const { app: a, published } = await app();
    const v2 = {
      event: 'open_banking.v2.refresh.provider.completed',
      customer_id: 'cust-2',
      task_id: 't',
    };
    expect(
      (await a.inject({ method: 'POST', url: '/webhooks/bud', headers: json, payload: v2 }))
        .statusCode,
    ).toBe(200);
    const yodlee = {
      event: {
        info: 'REFRESH.PROCESS_COMPLETED',
        loginName: 'user-9',
        data: { providerAccount: [] },
      },
    };
    expect(
      (await a.inject({ method: 'POST', url: '/webhooks/yodlee', headers: json, payload: yodlee }))
        .statusCode,
    ).toBe(200);
    expect(published.map((r) => [r.key, r.headers[HEADER.source]])).toEqual([
      ['cust-2', 'bud'],
      ['user-9', 'yodlee'],
    ]);
  });

  it('accepts valid JSON of an unknown shape, keyed by the ingest id', async () => {
    const { app: a, published } = await app();
    const res = await a.inject({
      method: 'POST',
      url: '/webhooks/bud',
      headers: json,
      payload: '[1,2,{"x":null}]',
    });
    expect(res.statusCode).toBe(200);
    expect(published[0]?.key).toBe(res.json<{ id: string }>().id);
  });

  it('accepts a +json media type and a charset parameter', async () => {
    const { app: a } = await app();
    for (const type of ['application/json; charset=utf-8', 'application/cloudevents+json']) {
      const res = await a.inject({
        method: 'POST',
        url: '/webhooks/bud',
        headers: { 'content-type': type },
        payload: budV1,
      });
      expect(res.statusCode).toBe(200);
    }
  });
});

describe('raw record headers', () => {
  it('are all strings when the client address or content type is not known (a reset client)', () => {
    const headers = rawRecordHeaders({
      source: 'bud',
      ingestId: 'ingest-1',
      receivedAt: Date.parse('2026-11-23T10:00:00.000Z'),
      contentType: undefined,
      remoteAddr: undefined,
      auth: 'none',
    });
    expect(headers).toEqual({
      [HEADER.source]: 'bud',
      [HEADER.ingestId]: 'ingest-1',
      [HEADER.receivedAt]: '2026-11-23T10:00:00.000Z',
      'content-type': 'application/json',
      [HEADER.remoteAddr]: '',
      [HEADER.auth]: 'none',
    });
  });
});

describe('bad input gets the contract error codes', () => {
  it.each([
    ['not JSON', Buffer.from('{"data": '), 'INVALID_JSON'],
    ['not UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), 'INVALID_JSON'],
    ['empty', Buffer.alloc(0), 'INVALID_JSON'],
  ])('answers 400 for a body that is %s', async (_what, payload, code) => {
    const { app: a, published } = await app();
    const res = await a.inject({ method: 'POST', url: '/webhooks/yodlee', headers: json, payload });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: { code: string; message: string } }>().error.code).toBe(code);
    expect(published).toHaveLength(0);
  });

  it('answers 413 for a body over the limit', async () => {
    const { app: a, published } = await app({ settings: { bodyLimitBytes: 1024 } });
    const payload = JSON.stringify({ pad: 'x'.repeat(2000) });
    const res = await a.inject({ method: 'POST', url: '/webhooks/bud', headers: json, payload });
    expect(res.statusCode).toBe(413);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(published).toHaveLength(0);
  });

  it.each([['text/plain'], ['application/x-www-form-urlencoded']])(
    'answers 415 for %s',
    async (type) => {
      const { app: a } = await app();
      const res = await a.inject({
        method: 'POST',
        url: '/webhooks/bud',
        headers: { 'content-type': type },
        payload: budV1,
      });
      expect(res.statusCode).toBe(415);
      expect(res.json<{ error: { code: string } }>().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    },
  );

  it('answers 415 for a body without a content type', async () => {
    const { app: a } = await app();
    const res = await a.inject({
      method: 'POST',
      url: '/webhooks/bud',
      payload: budV1.toString(),
      headers: { 'content-type': '' },
    });
    expect(res.statusCode).toBe(415);
  });

  it('answers 404 for an unknown route and 405 with Allow for a wrong method', async () => {
    const { app: a } = await app();
    const missing = await a.inject({
      method: 'POST',
      url: '/webhooks/truelayer',
      headers: json,
      payload: '{}',
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json<{ error: { code: string } }>().error.code).toBe('NOT_FOUND');
    const wrong = await a.inject({ method: 'GET', url: '/webhooks/bud' });
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers.allow).toBe('POST');
    expect(wrong.json<{ error: { code: string } }>().error.code).toBe('METHOD_NOT_ALLOWED');
    const wrongOps = await a.inject({ method: 'POST', url: '/healthz' });
    expect(wrongOps.statusCode).toBe(405);
    expect(wrongOps.headers.allow).toBe('GET, HEAD');
  });
});

describe('when Kafka cannot take the record', () => {
  it('answers 503 UNAVAILABLE with Retry-After, never 2xx', async () => {
    const { app: a } = await app({
      publish: () => Promise.reject(new PublishUnavailableError('timeout', 'no ack')),
    });
    const res = await a.inject({
      method: 'POST',
      url: '/webhooks/bud',
      headers: json,
      payload: budV1,
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.json<{ error: { code: string } }>().error.code).toBe('UNAVAILABLE');
  });

  it('reports not ready on /readyz while Kafka is unreachable', async () => {
    let ready = false;
    const { app: a } = await app({ ready: () => ready });
    expect((await a.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    ready = true;
    expect((await a.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    expect((await a.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
  });
});

describe('POST /refresh-requests', () => {
  it('publishes an encoded RefreshRequested keyed by customer', async () => {
    const { app: a, published } = await app();
    const res = await a.inject({
      method: 'POST',
      url: '/refresh-requests',
      headers: json,
      payload: { customer_id: 'cust-7', providers: ['Bank_A', 'Bank_B'] },
    });
    expect(res.statusCode).toBe(200);
    const [record] = published;
    expect(record?.topic).toBe('requests');
    expect(record?.key).toBe('cust-7');
    expect(JSON.parse(record?.value.toString() ?? '')).toEqual({
      request_id: 'ingest-1',
      customer_id: 'cust-7',
      providers: ['Bank_A', 'Bank_B'],
      task_ids: [],
      idempotency_key: null,
      requested_at: Date.parse('2026-11-23T10:00:00.000Z'),
    });
  });

  it('carries the Idempotency-Key a client retries with; a malformed one is 400 naming the header', async () => {
    const { app: a, published } = await app();
    const send = (key: string) =>
      a.inject({
        method: 'POST',
        url: '/refresh-requests',
        headers: { ...json, 'idempotency-key': key },
        payload: { customer_id: 'cust-7', task_ids: ['t-1'] },
      });
    expect((await send('req-2026-11-23/cust-7#1')).statusCode).toBe(200);
    expect(JSON.parse(published[0]?.value.toString() ?? '')).toMatchObject({
      idempotency_key: 'req-2026-11-23/cust-7#1',
    });
    for (const bad of ['', 'with space', 'x'.repeat(257), 'caf\u00e9']) {
      const res = await send(bad);
      expect([bad, res.statusCode]).toEqual([bad, 400]);
      expect(res.json<{ error: { message: string } }>().error.message).toMatch(
        /^Idempotency-Key: /,
      );
    }
    expect(published).toHaveLength(1);
  });

  it('answers 400 INVALID_REQUEST naming what is wrong', async () => {
    const { app: a, published } = await app();
    const res = await a.inject({
      method: 'POST',
      url: '/refresh-requests',
      headers: json,
      payload: { providers: 'Bank_A' },
    });
    expect(res.statusCode).toBe(400);
    const error = res.json<{ error: { code: string; message: string } }>().error;
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toMatch(/customer_id/);
    expect(error.message).toMatch(/providers/);
    expect(published).toHaveLength(0);
  });

  it('refuses what is over the limits with 400 naming the field, and stores nothing (issue 16)', async () => {
    const { app: a, published } = await app();
    const over = (payload: object) =>
      a.inject({ method: 'POST', url: '/refresh-requests', headers: json, payload });
    const cases: [object, RegExp][] = [
      [{ customer_id: 'c'.repeat(LIMITS.idLength + 1) }, /^customer_id: /],
      [
        { customer_id: 'c', providers: Array.from({ length: LIMITS.requestTargets + 1 }, String) },
        /^providers: /,
      ],
      [{ customer_id: 'c', task_ids: ['t', 'x'.repeat(LIMITS.idLength + 1)] }, /^task_ids\.1: /],
    ];
    for (const [payload, field] of cases) {
      const res = await over(payload);
      expect(res.statusCode).toBe(400);
      expect(res.json<{ error: { message: string } }>().error.message).toMatch(field);
    }
    expect(published).toHaveLength(0);
    const at = await over({
      customer_id: 'c'.repeat(LIMITS.idLength),
      providers: Array.from(
        { length: LIMITS.requestTargets },
        (_, i) => 'p'.repeat(LIMITS.idLength - 3) + String(i).padStart(3, '0'),
      ),
    });
    expect(at.statusCode).toBe(200);
  });

  it('answers 503 when the schema registry cannot encode the record', async () => {
    const { app: a } = await app({ encode: () => Promise.reject(new Error('registry down')) });
    const res = await a.inject({
      method: 'POST',
      url: '/refresh-requests',
      headers: json,
      payload: { customer_id: 'c' },
    });
    expect(res.statusCode).toBe(503);
  });
});

describe('metrics', () => {
  it('counts requests by source and status', async () => {
    const { app: a } = await app();
    await a.inject({ method: 'POST', url: '/webhooks/bud', headers: json, payload: budV1 });
    await a.inject({ method: 'POST', url: '/webhooks/bud', headers: json, payload: 'nope' });
    const text = (await a.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/refreshbus_ingest_requests_total\{source="bud",status="200"\} 1/);
    expect(text).toMatch(/refreshbus_ingest_requests_total\{source="bud",status="400"\} 1/);
    expect(text).toMatch(/refreshbus_ingest_publish_duration_seconds_bucket/);
    expect(text).toMatch(/refreshbus_ingest_in_flight_records/);
  });
});

describe('logs', () => {
  it('never contain bodies, signatures or secrets', async () => {
    const secret = 'whsec_' + Buffer.from('a-very-secret-key-for-tests').toString('base64');
    const { app: a, logs } = await app({
      auth: { bud: standardWebhooksVerifier([secret]) },
      publish: () => Promise.reject(new PublishUnavailableError('timeout', 'no ack')), // forces a warn log
    });
    const body = JSON.stringify({ data: { customer_id: 'cust-secret-body-marker' } });
    const signature = 'v1,c2lnbmF0dXJlLW1hcmtlcg==';
    await a.inject({
      method: 'POST',
      url: '/webhooks/bud',
      headers: {
        ...json,
        'webhook-id': 'msg_1',
        'webhook-timestamp': '1',
        'webhook-signature': signature,
        'x-signature': 'eyJhbGciOi.jwt-marker.sig',
      },
      payload: body,
    });
    await a.inject({ method: 'POST', url: '/webhooks/yodlee', headers: json, payload: body });
    expect(logs.text.length).toBeGreaterThan(0);
    for (const needle of [
      'cust-secret-body-marker',
      'c2lnbmF0dXJlLW1hcmtlcg',
      'jwt-marker',
      secret,
      'a-very-secret',
    ]) {
      expect(logs.text).not.toContain(needle);
    }
  });
});

describe('a body the raw topic cannot hold', () => {
  it('answers 413, not a 503 the sender would retry forever', async () => {
    const { app: a } = await app({
      publish: () => Promise.reject(new PublishUnavailableError('too-large', 'too large')),
    });
    const res = await a.inject({
      method: 'POST',
      url: '/webhooks/bud',
      headers: json,
      payload: budV1,
    });
    expect(res.statusCode).toBe(413);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('keep-alive connections', () => {
  /** Sends one request on a fresh keep-alive socket; resolves when the server closes it. */
  async function idleClose(keepAliveTimeoutMs?: number): Promise<{ closedAfterMs: number }> {
    const built = await buildTestApp({
      settings: keepAliveTimeoutMs ? { keepAliveTimeoutMs } : {},
    });
    await built.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { port } = built.app.server.address() as AddressInfo;
      const socket = net.connect(port, '127.0.0.1');
      let answeredAt = 0;
      const closed = new Promise<number>((resolve) => {
        socket.on('data', () => {
          answeredAt ||= Date.now();
        });
        socket.on('close', () => {
          resolve(Date.now() - answeredAt);
        });
      });
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
      const raced = await Promise.race([
        closed,
        new Promise<number>((r) =>
          setTimeout(() => {
            r(-1);
          }, 1500),
        ),
      ]);
      socket.destroy();
      return { closedAfterMs: raced };
    } finally {
      await built.app.close();
    }
  }

  it('on close, answers the requests in flight, then closes their connections, not 72 s later', async () => {
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const built = await buildTestApp({ publish: () => gate });
    await built.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = built.app.server.address() as AddressInfo;
    // fetch keeps its connections alive, as a sender's pool does
    const inFlight = Array.from({ length: 20 }, () =>
      fetch(`http://127.0.0.1:${String(port)}/webhooks/bud`, {
        method: 'POST',
        headers: json,
        body: budV1,
      }).then((r) => r.status),
    );
    await new Promise((r) => setTimeout(r, 200)); // the requests wait for Kafka
    const closing = built.app.close();
    await new Promise((r) => setTimeout(r, 200)); // closing has begun: no connection is idle yet
    release();
    expect(await Promise.all(inFlight)).toEqual(Array.from({ length: 20 }, () => 200));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      closing,
      new Promise((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error('still open after 3 s'));
        }, 3000);
      }),
    ]).finally(() => {
      clearTimeout(timer);
    });
  });

  it('keeps an idle one open as long as configured, not Node’s 5 s (fastify’s 72 s by default)', async () => {
    const built = await buildTestApp();
    expect(built.app.server.keepAliveTimeout).toBe(72_000);
    await built.app.close();
    // a short setting closes the idle connection after about that long; a longer one keeps it
    const short = await idleClose(200);
    expect(short.closedAfterMs).toBeGreaterThanOrEqual(150);
    expect(short.closedAfterMs).toBeLessThan(1500);
    expect((await idleClose(5000)).closedAfterMs).toBe(-1); // still open after 1.5 s
  });
});
