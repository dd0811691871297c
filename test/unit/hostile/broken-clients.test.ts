/**
 * Broken and unusual clients (issue 16, items 4 and 6), on a listening server through raw
 * sockets where `inject` cannot show it: a client that resets right after sending, one that drops
 * mid-body, methods other than the route's (CONNECT included), lone surrogates in ids, and header
 * values that are not ASCII — which Node reads as Latin-1, one character per byte.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { CompactSign, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { budJwsVerifier } from '../../../src/ingest/auth/bud-jws.js';
import { sharedSecret } from '../../../src/ingest/auth/shared-secret.js';
import {
  signStandardWebhook,
  standardWebhooksVerifier,
} from '../../../src/ingest/auth/standard-webhooks.js';
import { buildTestApp } from '../../support/ingest-app.js';
import type { TestApp } from '../../support/ingest-app.js';
import { HEADER } from '../../../src/contract/headers.js';

const NOW = Date.parse('2026-11-23T10:00:00.000Z');
const SECRET = 'whsec_' + Buffer.from('broken-clients-secret-0123456789').toString('base64');
const budV1 = Buffer.from(
  JSON.stringify({ data: { task_id: 't-1', customer_id: 'cust-1', status: 'Completed' } }),
);
const json = { 'content-type': 'application/json' };

let current: TestApp | undefined;
afterEach(async () => {
  await current?.app.close();
  current = undefined;
});
async function listening(options: Parameters<typeof buildTestApp>[0] = {}) {
  current = await buildTestApp({ now: NOW, ...options });
  await current.app.listen({ host: '127.0.0.1', port: 0 });
  return { built: current, port: (current.app.server.address() as AddressInfo).port };
}

/** A POST as raw bytes; header lines are sent as UTF-8, as a sender's HTTP client would. */
function post(
  url: string,
  headerLines: readonly string[],
  body: Buffer,
  encoding: 'utf8' | 'latin1' = 'utf8',
): Buffer {
  const head = [
    `POST ${url} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Content-Type: application/json',
    `Content-Length: ${String(body.length)}`,
    'Connection: close',
    ...headerLines,
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head, encoding), body]);
}

/** Writes `bytes` and collects the answer until the server closes (or `waitMs` passes). */
function exchange(
  port: number,
  bytes: Buffer | string,
  waitMs = 1500,
): Promise<{ response: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let response = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ response, closed: false });
    }, waitMs);
    socket.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ response, closed: true });
    });
    socket.write(bytes);
  });
}

const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);
const headerOf = (response: string, name: string) =>
  new RegExp(`\r\n${name}: ([^\r]*)\r\n`, 'i').exec(response)?.[1];

async function until(check: () => boolean, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

describe('a client that resets its connection right after sending', () => {
  it('still gets a record whose headers are all strings (ob-remote-addr never undefined)', async () => {
    const { built, port } = await listening();
    const request = post('/webhooks/bud', [], budV1);
    const clients = 30;
    await Promise.all(
      Array.from(
        { length: clients },
        () =>
          new Promise<void>((resolve) => {
            const socket = net.connect(port, '127.0.0.1', () => {
              socket.write(request, () => {
                socket.resetAndDestroy();
                resolve();
              });
            });
            socket.on('error', () => undefined);
          }),
      ),
    );
    await until(() => built.published.length === clients);
    expect(built.published).toHaveLength(clients);
    for (const record of built.published) {
      for (const value of Object.values(record.headers)) expect(typeof value).toBe('string');
      // the address is known as long as the socket was connected when it was accepted
      expect(['127.0.0.1', '']).toContain(record.headers[HEADER.remoteAddr]);
    }
    expect(built.logs.text).not.toMatch(/"level":50/);
  });
});

describe('a client that drops the connection mid-body', () => {
  it('is counted in refreshbus_ingest_client_aborts_total and logged below warn, without a stack', async () => {
    const { built, port } = await listening();
    const aborts = 5;
    for (let i = 0; i < aborts; i += 1) {
      await new Promise<void>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.write(
            'POST /webhooks/bud HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
              'Content-Length: 1000\r\n\r\n{"data":{"customer_id":',
            () => setTimeout(() => socket.destroy(), 20),
          );
        });
        socket.on('error', () => undefined);
        socket.on('close', () => {
          resolve();
        });
      });
    }
    const metrics = async () => (await built.app.inject({ method: 'GET', url: '/metrics' })).body;
    await until(() => built.logs.text.split('client closed the connection').length > aborts);
    expect(await metrics()).toMatch(/refreshbus_ingest_client_aborts_total 5\b/);
    expect(built.published).toHaveLength(0);
    const lines = built.logs.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { level: number; msg: string; err?: unknown });
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
    expect(built.logs.text).not.toContain('stack');
    expect(lines.filter((l) => l.msg.includes('client closed the connection'))).toHaveLength(
      aborts,
    );
  });
});

/** Every method Node's parser takes, but CONNECT (answered apart, below). */
const METHODS = http.METHODS.filter((m) => m !== 'CONNECT');

describe('a method the route does not serve', () => {
  const routes: [string, string][] = [
    ['/webhooks/bud', 'POST'],
    ['/webhooks/yodlee', 'POST'],
    ['/refresh-requests', 'POST'],
    ['/healthz', 'GET, HEAD'],
    ['/readyz', 'GET, HEAD'],
    ['/metrics', 'GET, HEAD'],
  ];
  it.each(routes)(
    'on %s answers 405 METHOD_NOT_ALLOWED with Allow: %s, whatever the method',
    async (url, allow) => {
      const built = (current = await buildTestApp({ now: NOW }));
      const allowed = allow.split(', ');
      for (const method of METHODS.filter((m) => !allowed.includes(m))) {
        const res = await built.app.inject({
          method: method as 'GET',
          url,
          headers: { 'content-type': 'text/plain' },
          payload: 'not json',
        });
        expect([method, res.statusCode, res.headers.allow]).toEqual([method, 405, allow]);
        if (method !== 'HEAD') {
          expect(res.json()).toEqual({
            error: { code: 'METHOD_NOT_ALLOWED', message: expect.any(String) as unknown },
          });
        }
      }
      expect(built.published).toHaveLength(0);
    },
  );

  it('on the wire, OPTIONS, TRACE, PROPFIND and HEAD on a webhook route answer 405 with Allow', async () => {
    const { port } = await listening();
    for (const method of ['OPTIONS', 'TRACE', 'PROPFIND', 'HEAD', 'PUT', 'DELETE', 'PATCH']) {
      const { response } = await exchange(
        port,
        `${method} /webhooks/bud HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      expect([method, statusOf(response), headerOf(response, 'allow')]).toEqual([
        method,
        405,
        'POST',
      ]);
    }
  });

  it.each([
    ['a route', 'CONNECT /webhooks/bud HTTP/1.1\r\nHost: x\r\n\r\n', 'POST'],
    ['a host and port', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', null],
  ])(
    'CONNECT to %s is answered 405 with Allow, then the connection is closed',
    async (_what, request, allow) => {
      const { built, port } = await listening();
      const { response, closed } = await exchange(port, request);
      expect(statusOf(response)).toBe(405);
      expect(headerOf(response, 'allow')).toBe(allow ?? 'GET, HEAD, POST');
      expect(headerOf(response, 'connection')).toBe('close');
      expect(response).toContain('"code":"METHOD_NOT_ALLOWED"');
      expect(closed).toBe(true);
      expect(built.logs.text).not.toMatch(/"level":(40|50)/);
    },
  );
});

describe('a lone surrogate escape in an id', () => {
  // JSON text with the escape `\ud800` as the sender wrote it: valid UTF-8, ill-formed once parsed
  const budBody = Buffer.from(`{"data":{"task_id":"t","customer_id":"cust-\\ud800-1"}}`);
  const budV2Body = Buffer.from(
    `{"event":"open_banking.v2.refresh.completed","customer_id":"\\udc00x"}`,
  );
  const yodleeBody = Buffer.from(
    `{"event":{"info":"REFRESH.PROCESS_COMPLETED","loginName":"user-\\ud83d","data":{}}}`,
  );

  it.each([
    ['a Bud V1 data.customer_id', '/webhooks/bud', budBody, 'cust-\ufffd-1'],
    ['a Bud V2 customer_id', '/webhooks/bud', budV2Body, '\ufffdx'],
    ['a Yodlee loginName', '/webhooks/yodlee', yodleeBody, 'user-\ufffd'],
  ])(
    'in %s is accepted, stored byte for byte, and keyed with U+FFFD in its place',
    async (_what, url, body, key) => {
      const built = (current = await buildTestApp({ now: NOW }));
      const res = await built.app.inject({ method: 'POST', url, headers: json, payload: body });
      expect(res.statusCode).toBe(200);
      const [record] = built.published;
      expect(record?.value.equals(body)).toBe(true);
      expect(record?.key).toBe(key);
      expect(Buffer.from(record?.key ?? '').toString()).toBe(key); // survives UTF-8 as is
    },
  );

  it('in a refresh request is replaced the same way in its key and in RefreshRequested', async () => {
    const built = (current = await buildTestApp({ now: NOW }));
    const res = await built.app.inject({
      method: 'POST',
      url: '/refresh-requests',
      headers: json,
      payload: `{"customer_id":"cust-\\ud800-1","providers":["Bank\\udfff"],"task_ids":["t\\ud800"]}`,
    });
    expect(res.statusCode).toBe(200);
    const [record] = built.published;
    expect(record?.key).toBe('cust-\ufffd-1');
    expect(JSON.parse(record?.value.toString() ?? '')).toMatchObject({
      customer_id: 'cust-\ufffd-1',
      providers: ['Bank\ufffd'],
      task_ids: ['t\ufffd'],
    });
  });

  it('a well-formed pair is kept as it is', async () => {
    const built = (current = await buildTestApp({ now: NOW }));
    const body = Buffer.from(`{"data":{"customer_id":"cust-\\ud83d\\ude00"}}`);
    await built.app.inject({ method: 'POST', url: '/webhooks/bud', headers: json, payload: body });
    expect(built.published[0]?.key).toBe('cust-\u{1f600}');
  });
});

describe('header values that are not ASCII', () => {
  it('a webhook-id sent as UTF-8 verifies against a signature over its UTF-8 bytes', async () => {
    const { built, port } = await listening({
      auth: { yodlee: standardWebhooksVerifier([SECRET]) },
    });
    const id = 'msg_é€😀';
    const ts = NOW / 1000;
    const body = Buffer.from('{"event":{"loginName":"u-1"}}');
    const { response } = await exchange(
      port,
      post(
        '/webhooks/yodlee',
        [
          `webhook-id: ${id}`,
          `webhook-timestamp: ${String(ts)}`,
          `webhook-signature: ${signStandardWebhook(SECRET, id, ts, body)}`,
        ],
        body,
      ),
    );
    expect(statusOf(response)).toBe(200);
    expect(built.published).toHaveLength(1);
  });

  it('a shared secret with non-ASCII characters matches when sent as UTF-8, not as Latin-1', async () => {
    const secret = 'sécret-partagé-0123456789';
    const { built, port } = await listening({
      auth: { yodlee: sharedSecret('x-yodlee-secret', secret) },
    });
    const body = Buffer.from('{"event":{"loginName":"u-1"}}');
    const headers = [`x-yodlee-secret: ${secret}`];
    const utf8 = await exchange(port, post('/webhooks/yodlee', headers, body, 'utf8'));
    expect(statusOf(utf8.response)).toBe(200);
    // the same characters as Latin-1 bytes are other bytes: not the secret
    const latin1 = await exchange(port, post('/webhooks/yodlee', headers, body, 'latin1'));
    expect(statusOf(latin1.response)).toBe(401);
    expect(built.published).toHaveLength(1);
  });

  it('an X-Signing-ID sent as UTF-8 names the key whose kid is that text', async () => {
    const pair = await generateKeyPair('EdDSA', { extractable: true });
    const kid = 'clé-été-1';
    const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'EdDSA' };
    const { built, port } = await listening({
      auth: { bud: budJwsVerifier(createLocalJWKSet({ keys: [jwk] })) },
    });
    const signature = (
      await new CompactSign(budV1).setProtectedHeader({ alg: 'EdDSA' }).sign(pair.privateKey)
    ).replace(/\.[^.]*\./, '..');
    const { response } = await exchange(
      port,
      post('/webhooks/bud', [`x-signature: ${signature}`, `x-signing-id: ${kid}`], budV1),
    );
    expect(statusOf(response)).toBe(200);
    expect(built.published).toHaveLength(1);
  });
});

/** A POST kept alive (no `Connection: close`), for bytes sent after it on the same connection. */
const keptAlive = (body: Buffer, url = '/webhooks/bud') =>
  Buffer.concat([
    Buffer.from(
      `POST ${url} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${String(body.length)}\r\n\r\n`,
    ),
    body,
  ]);
const statuses = (response: string) =>
  [...response.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));

describe('bytes after a complete request on the same connection', () => {
  it('junk that is not HTTP does not turn a received request into a 400: it is stored and answered 200', async () => {
    const { built, port } = await listening({
      // the answer waits for Kafka: the junk is parsed while the request is in flight
      publish: async (record) => {
        await new Promise((r) => setTimeout(r, 50));
        built.published.push(record);
      },
    });
    const { response, closed } = await exchange(
      port,
      Buffer.concat([keptAlive(budV1), Buffer.from('\x16\x03\x01 NOT HTTP AT ALL\r\n\r\n')]),
    );
    expect(statuses(response)).toEqual([200]);
    expect(closed).toBe(true);
    expect(built.published).toHaveLength(1);
    expect(built.published[0]?.value.equals(budV1)).toBe(true);
  });

  it('junk after two pipelined requests: both stored and answered 200, in order', async () => {
    const { built, port } = await listening();
    const second = Buffer.from(
      JSON.stringify({ data: { task_id: 't-2', customer_id: 'cust-2', status: 'Completed' } }),
    );
    const { response, closed } = await exchange(
      port,
      Buffer.concat([keptAlive(budV1), keptAlive(second), Buffer.from('GARBAGE\r\n\r\n')]),
    );
    expect(statuses(response)).toEqual([200, 200]);
    expect(closed).toBe(true);
    expect(built.published.map((r) => r.value.toString())).toEqual([
      budV1.toString(),
      second.toString(),
    ]);
  });

  it('a request whose own body is cut by the junk (chunked framing broken) is refused and not stored', async () => {
    const { built, port } = await listening();
    const { response } = await exchange(
      port,
      'POST /webhooks/bud HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        'Transfer-Encoding: chunked\r\n\r\n5\r\n{"dat\r\nZZZZ NOT A CHUNK SIZE\r\n\r\n',
    );
    expect(statuses(response)).toEqual([400]);
    expect(built.published).toHaveLength(0);
  });

  it('a client that half-closes after sending still gets its answer, and the record is stored', async () => {
    const { built, port } = await listening();
    const response = await new Promise<string>((resolve) => {
      let text = '';
      const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => {
        socket.end(keptAlive(budV1));
      });
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        resolve(text);
      });
    });
    expect(statuses(response)).toEqual([200]);
    expect(built.published).toHaveLength(1);
  });
});
