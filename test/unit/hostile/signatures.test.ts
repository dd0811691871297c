/**
 * Signature and transport attacks on the ingest (issue 8), each a named case, through the app:
 * what is answered, that nothing is stored, and that nothing secret is logged. The transport
 * cases (header case and repetition on the wire, oversized headers, slow clients) use a real
 * listening server and a raw socket, since `inject` skips Node's HTTP parser.
 */
import { createHash, createPublicKey, createSign } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import {
  CompactSign,
  createLocalJWKSet,
  exportJWK,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
} from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { budJwsVerifier, remoteKeys } from '../../../src/ingest/auth/bud-jws.js';
import {
  signStandardWebhook,
  standardWebhooksVerifier,
} from '../../../src/ingest/auth/standard-webhooks.js';
import { mapRawWebhook } from '../../../src/normalize/mappers/index.js';
import { buildTestApp } from '../../support/ingest-app.js';
import type { TestApp } from '../../support/ingest-app.js';
import { HEADER } from '../../../src/contract/headers.js';

const NOW = Date.parse('2026-11-23T10:00:00.000Z');
const TS = Math.floor(NOW / 1000);
const SECRET = 'whsec_' + Buffer.from('signature-attack-secret-0123456789').toString('base64');
const SECRET_BYTES = 'signature-attack-secret';
const json = { 'content-type': 'application/json' };

const budBody = Buffer.from(
  JSON.stringify({
    data: {
      task_id: 't-1',
      task_type: 'refresh',
      customer_id: 'cust-attack-marker',
      status: 'Completed',
      result: 'success',
    },
  }),
);
const yodleeBody = Buffer.from(
  JSON.stringify({
    event: {
      info: 'REFRESH.PROCESS_COMPLETED',
      loginName: 'user-attack-marker',
      data: { providerAccount: [{ id: 1001, providerId: 501, status: 'SUCCESS' }] },
    },
  }),
);

interface ErrorBody {
  error: { code: string; message: string };
}

let privateKey: CryptoKey;
let otherPrivate: CryptoKey;
let publicJwk: JWK;
let secondJwk: JWK;
let spkiPem: string;
let pkcs8Pem: string;
let target: TestApp;
/** What each test sent that must never appear in a log line. */
const needles: string[] = [];

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  privateKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'bud-2026', alg: 'RS256', use: 'sig' };
  spkiPem = await exportSPKI(pair.publicKey);
  pkcs8Pem = await exportPKCS8(pair.privateKey);
  const second = await generateKeyPair('RS256', { extractable: true });
  otherPrivate = second.privateKey;
  secondJwk = { ...(await exportJWK(second.publicKey)), kid: 'bud-2025', alg: 'RS256' };
  target = await buildTestApp({
    auth: {
      bud: budJwsVerifier(createLocalJWKSet({ keys: [publicJwk, secondJwk] })),
      yodlee: standardWebhooksVerifier([SECRET]),
    },
    now: NOW,
  });
  needles.push(SECRET, SECRET_BYTES, 'cust-attack-marker', 'user-attack-marker');
});
afterAll(async () => {
  await target.app.close();
});
afterEach(() => {
  for (const needle of needles) expect(target.logs.text).not.toContain(needle);
});

const detach = (jws: string) => jws.replace(/\.[^.]*\./, '..');
const signJws = (key: CryptoKey | Uint8Array, header: Record<string, unknown>, body = budBody) =>
  new CompactSign(body).setProtectedHeader({ alg: 'RS256', ...header }).sign(key);

async function postBud(signature: string, signingId: string, body = budBody) {
  needles.push(...signature.split('.').filter((part) => part.length >= 12));
  const before = target.published.length;
  const res = await target.app.inject({
    method: 'POST',
    url: '/webhooks/bud',
    headers: { ...json, 'x-signature': signature, 'x-signing-id': signingId },
    payload: body,
  });
  return { res, stored: target.published.length - before };
}

function expectRefused(
  { res, stored }: Awaited<ReturnType<typeof postBud>>,
  status: number,
  code: string,
) {
  expect(res.statusCode).toBe(status);
  expect(res.json<ErrorBody>().error.code).toBe(code);
  expect(stored).toBe(0);
}

describe('Bud JWS attacks', () => {
  it('a genuine detached signature is accepted (the baseline the attacks below depart from)', async () => {
    const { res, stored } = await postBud(detach(await signJws(privateKey, {})), 'bud-2026');
    expect(res.statusCode).toBe(200);
    expect(stored).toBe(1);
  });

  it('alg "none" (empty signature, detached or attached) is refused with 401 SIGNATURE_INVALID', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    expectRefused(await postBud(`${header}..`, 'bud-2026'), 401, 'SIGNATURE_INVALID');
    expectRefused(
      await postBud(`${header}.${budBody.toString('base64url')}.`, 'bud-2026'),
      401,
      'SIGNATURE_INVALID',
    );
    const noneLower = Buffer.from(JSON.stringify({ alg: 'None', kid: 'bud-2026' })).toString(
      'base64url',
    );
    expectRefused(await postBud(`${noneLower}..`, 'bud-2026'), 401, 'SIGNATURE_INVALID');
  });

  it('HS256 keyed with the public key (its JWK, its PEM, its modulus) is refused: key confusion', async () => {
    const secrets = [
      new TextEncoder().encode(JSON.stringify(publicJwk)),
      new TextEncoder().encode(spkiPem),
      createPublicKey(spkiPem).export({ type: 'spki', format: 'der' }),
      Buffer.from(publicJwk.n ?? '', 'base64url'),
    ];
    for (const secret of secrets) {
      for (const alg of ['HS256', 'HS384', 'HS512']) {
        const forged = await signJws(new Uint8Array(secret), { alg, kid: 'bud-2026' });
        expectRefused(await postBud(detach(forged), 'bud-2026'), 401, 'SIGNATURE_INVALID');
      }
    }
  });

  it('an unknown X-Signing-ID answers 503 UNAVAILABLE with Retry-After (by design: a key Bud has just rotated in), storing nothing', async () => {
    const result = await postBud(detach(await signJws(privateKey, {})), 'bud-2099');
    expectRefused(result, 503, 'UNAVAILABLE');
    expect(result.res.headers['retry-after']).toBe('7');
  });

  it('a wrong key id: a signature by one JWKS key presented under the other key id is refused with 401', async () => {
    expectRefused(
      await postBud(detach(await signJws(otherPrivate, { kid: 'bud-2025' })), 'bud-2026'),
      401,
      'SIGNATURE_INVALID',
    );
    // the kid inside the token is ignored: X-Signing-ID alone picks the key
    expectRefused(
      await postBud(detach(await signJws(privateKey, { kid: 'bud-2026' })), 'bud-2025'),
      401,
      'SIGNATURE_INVALID',
    );
  });

  it('a tampered body is refused: detached, attached with the old payload, or attached with a re-encoded payload', async () => {
    const tampered = Buffer.from(budBody.toString().replace('success', 'failure'));
    const jws = await signJws(privateKey, {});
    expectRefused(await postBud(detach(jws), 'bud-2026', tampered), 401, 'SIGNATURE_INVALID');
    expectRefused(await postBud(jws, 'bud-2026', tampered), 401, 'SIGNATURE_INVALID');
    const [h, , s] = jws.split('.');
    expectRefused(
      await postBud(`${h}.${tampered.toString('base64url')}.${s}`, 'bud-2026', tampered),
      401,
      'SIGNATURE_INVALID',
    );
    // detached, the signature covers the bytes themselves: whitespace counts (attached, the
    // payload is compared as JSON, so the same JSON reformatted is accepted)
    const spaced = Buffer.concat([budBody, Buffer.from('\n')]);
    expectRefused(await postBud(detach(jws), 'bud-2026', spaced), 401, 'SIGNATURE_INVALID');
  });

  it('a key repeated in the body next to a genuine attached payload is refused: readers disagree on which copy counts', async () => {
    const signed = { customer_id: 'cust-attack-marker', status: 'Completed' };
    const smuggled = Buffer.from(
      '{"customer_id":"cust-victim","customer_id":"cust-attack-marker","status":"Completed"}',
    );
    const jws = await signJws(privateKey, {}, Buffer.from(JSON.stringify(signed)));
    expectRefused(await postBud(jws, 'bud-2026', smuggled), 401, 'SIGNATURE_INVALID');
  });

  it('a claims payload stating the body digest is held to it and to its own exp, nbf and iat: another body, or claims stale or ahead by more than 5 minutes, are refused with 401', async () => {
    const digest = createHash('sha256').update(budBody).digest('hex');
    const claims = (extra: Record<string, unknown>) =>
      signJws(privateKey, {}, Buffer.from(JSON.stringify({ body_sha256: digest, ...extra })));
    const genuine = await claims({ iat: TS, exp: TS + 60 });
    const ok = await postBud(genuine, 'bud-2026');
    expect([ok.res.statusCode, ok.stored]).toEqual([200, 1]);
    const other = Buffer.from(budBody.toString().replace('success', 'failure'));
    expectRefused(await postBud(genuine, 'bud-2026', other), 401, 'SIGNATURE_INVALID');
    for (const extra of [{ exp: TS - 301 }, { nbf: TS + 301 }, { iat: TS + 301 }]) {
      expectRefused(await postBud(await claims(extra), 'bud-2026'), 401, 'SIGNATURE_INVALID');
    }
  });

  it('a signature with one bit flipped is refused', async () => {
    const jws = detach(await signJws(privateKey, {}));
    const [h, , s = ''] = jws.split('.');
    const sig = Buffer.from(s, 'base64url');
    sig[0] = (sig[0] ?? 0) ^ 0x01;
    expectRefused(
      await postBud(`${h}..${sig.toString('base64url')}`, 'bud-2026'),
      401,
      'SIGNATURE_INVALID',
    );
  });

  it('a critical header parameter the verifier does not know ("crit") is refused', async () => {
    // jose will not sign an unknown crit, so the token is made by hand
    const rs256 = (header: Record<string, unknown>) => {
      const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${budBody.toString('base64url')}`;
      return `${input}.${createSign('RSA-SHA256').update(input).sign(pkcs8Pem).toString('base64url')}`;
    };
    const plain = await postBud(detach(rs256({ alg: 'RS256' })), 'bud-2026');
    expect(plain.res.statusCode).toBe(200); // the hand-made token is sound…
    expectRefused(
      await postBud(detach(rs256({ alg: 'RS256', crit: ['exp'], exp: TS + 60 })), 'bud-2026'),
      401,
      'SIGNATURE_INVALID',
    ); // …until it names a critical extension
  });

  it('exp/nbf/iat in the protected header are not read (only a claims payload’s are), so an "expired" signature over the body itself still verifies and its replay maps to the same event ids (the normalizer dedupes)', async () => {
    const jws = await signJws(privateKey, { exp: TS - 86_400 * 365, nbf: TS + 86_400, iat: 0 });
    const first = await postBud(detach(jws), 'bud-2026');
    const again = await postBud(detach(jws), 'bud-2026');
    expect([first.res.statusCode, again.res.statusCode]).toEqual([200, 200]);
    const ids = target.published.slice(-2).map((record, i) => {
      const result = mapRawWebhook({
        source: 'bud',
        value: record.value,
        receivedAt: NOW + i * 1000,
        ingestId: String(record.headers[HEADER.ingestId]),
        topic: 'raw',
        partition: 0,
        offset: i,
      });
      if (!result.ok) throw new Error(result.code);
      return result.events.map((e) => e.event_id);
    });
    expect(ids[1]).toEqual(ids[0]);
  });
});

describe('a flood of unknown key ids', () => {
  it('refetches the JWKS at most once per cooldown, answering 503 to each', async () => {
    let fetches = 0;
    const jwksServer = http.createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const { port } = jwksServer.address() as AddressInfo;
    const app = await buildTestApp({
      auth: {
        bud: budJwsVerifier(
          remoteKeys({ jwksUrl: `http://127.0.0.1:${port}/jwks`, cooldownMs: 600_000 }),
        ),
      },
      now: NOW,
    });
    try {
      const jws = detach(await signJws(privateKey, {}));
      const statuses: number[] = [];
      for (let i = 0; i < 25; i++) {
        const res = await app.app.inject({
          method: 'POST',
          url: '/webhooks/bud',
          headers: { ...json, 'x-signature': jws, 'x-signing-id': `attacker-${i}` },
          payload: budBody,
        });
        statuses.push(res.statusCode);
      }
      expect(new Set(statuses)).toEqual(new Set([503]));
      expect(fetches).toBeGreaterThanOrEqual(1);
      expect(fetches).toBeLessThanOrEqual(2);
      expect(app.published).toHaveLength(0);
    } finally {
      await app.app.close();
      await new Promise((resolve) => jwksServer.close(resolve));
    }
  });
});

describe('Standard Webhooks attacks', () => {
  const headersFor = (body: Buffer, opts: { id?: string; ts?: number } = {}) => {
    const id = opts.id ?? 'msg_attack_1';
    const ts = opts.ts ?? TS;
    const signature = signStandardWebhook(SECRET, id, ts, body);
    needles.push(signature.slice(3));
    return {
      ...json,
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signature,
    };
  };
  const postYodlee = async (headers: Record<string, string | string[]>, body = yodleeBody) => {
    const before = target.published.length;
    const res = await target.app.inject({
      method: 'POST',
      url: '/webhooks/yodlee',
      headers,
      payload: body,
    });
    return { res, stored: target.published.length - before };
  };

  it('a tampered body is refused with 401 SIGNATURE_INVALID', async () => {
    const tampered = Buffer.from(yodleeBody.toString().replace('1001', '1002'));
    expectRefused(await postYodlee(headersFor(yodleeBody), tampered), 401, 'SIGNATURE_INVALID');
  });

  it('a timestamp just inside the 5-minute tolerance is accepted both ways; 301 s old or ahead is refused', async () => {
    for (const skew of [-299, 299]) {
      const { res, stored } = await postYodlee(headersFor(yodleeBody, { ts: TS + skew }));
      expect([res.statusCode, stored]).toEqual([200, 1]);
    }
    for (const skew of [-301, 301, -86_400, 86_400 * 365]) {
      expectRefused(
        await postYodlee(headersFor(yodleeBody, { ts: TS + skew })),
        401,
        'SIGNATURE_INVALID',
      );
    }
  });

  it('a timestamp in milliseconds, negative, fractional or padded is refused', async () => {
    for (const ts of [
      String(NOW),
      `-${TS}`,
      `${TS}.0`,
      ` ${TS}`,
      `+${TS}`,
      `0x${TS.toString(16)}`,
    ]) {
      const headers = headersFor(yodleeBody);
      expectRefused(
        await postYodlee({ ...headers, 'webhook-timestamp': ts }),
        401,
        'SIGNATURE_INVALID',
      );
    }
  });

  it('a replayed delivery (same webhook-id, inside the tolerance) is accepted again: the raw topic is at-least-once and both copies map to the same event ids, which the normalizer dedupes', async () => {
    const headers = headersFor(yodleeBody, { id: 'msg_replayed' });
    const first = await postYodlee(headers);
    const replay = await postYodlee(headers);
    expect([first.res.statusCode, replay.res.statusCode]).toEqual([200, 200]);
    const ids = target.published.slice(-2).map((record, i) => {
      const result = mapRawWebhook({
        source: 'yodlee',
        value: record.value,
        receivedAt: NOW + i,
        ingestId: String(record.headers[HEADER.ingestId]),
        topic: 'raw',
        partition: 0,
        offset: i,
      });
      if (!result.ok) throw new Error(result.code);
      return result.events.map((e) => e.event_id);
    });
    expect(ids[0]?.length).toBe(1);
    expect(ids[1]).toEqual(ids[0]);
  });

  it('a replay after the tolerance has passed is refused', async () => {
    const app = await buildTestApp({
      auth: { yodlee: standardWebhooksVerifier([SECRET]) },
      now: NOW + 10 * 60_000,
    });
    try {
      const res = await app.app.inject({
        method: 'POST',
        url: '/webhooks/yodlee',
        headers: headersFor(yodleeBody, { id: 'msg_replayed' }),
        payload: yodleeBody,
      });
      expect(res.statusCode).toBe(401);
      expect(app.published).toHaveLength(0);
    } finally {
      await app.app.close();
    }
  });

  it('a signature header repeated (inject) is refused, even when one copy is valid', async () => {
    const headers = headersFor(yodleeBody);
    expectRefused(
      await postYodlee({
        ...headers,
        'webhook-signature': ['v1,AAAA', headers['webhook-signature']],
      }),
      401,
      'SIGNATURE_INVALID',
    );
    expectRefused(
      await postYodlee({ ...headers, 'webhook-timestamp': [String(TS), String(TS)] }),
      401,
      'SIGNATURE_INVALID',
    );
  });
});

// ---- on the wire --------------------------------------------------------------------------

interface Exchange {
  /** Everything the server sent back. */
  readonly response: string;
}

/** Sends `chunks` on a raw socket, `gapMs` apart, until the server closes the connection. */
function exchange(
  port: number,
  chunks: readonly (string | Buffer)[],
  gapMs = 0,
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let response = '';
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (d: Buffer) => (response += d.toString('latin1')));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // the server may reset a connection it has answered and cut off
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
    });
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve({ response });
    });
    let i = 0;
    const next = () => {
      if (closed) return;
      const chunk = chunks[i++];
      if (chunk === undefined) return; // all sent: wait for the server to answer and close
      socket.write(chunk);
      timer = setTimeout(next, gapMs);
    };
    socket.on('connect', next);
  });
}

function parseResponse(raw: string) {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  return {
    status: Number(statusLine.split(' ')[1]),
    headers: Object.fromEntries(
      headerLines.map((line) => {
        const at = line.indexOf(':');
        return [line.slice(0, at).toLowerCase(), line.slice(at + 1).trim()];
      }),
    ),
    body,
  };
}

function request(headerLines: readonly string[], body: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(
      [
        'POST /webhooks/yodlee HTTP/1.1',
        'Host: 127.0.0.1',
        'Content-Type: application/json',
        `Content-Length: ${body.length}`,
        'Connection: close',
        ...headerLines,
        '',
        '',
      ].join('\r\n'),
    ),
    body,
  ]);
}

describe('on the wire (a listening server, raw sockets)', () => {
  let wire: TestApp;
  let port: number;
  beforeAll(async () => {
    wire = await buildTestApp({
      auth: { yodlee: standardWebhooksVerifier([SECRET]) },
      settings: { headersTimeoutMs: 500, requestTimeoutMs: 1000 },
      now: NOW,
    });
    await wire.app.listen({ host: '127.0.0.1', port: 0 });
    port = (wire.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await wire.app.close();
    for (const needle of needles) expect(wire.logs.text).not.toContain(needle);
  });
  const signed = (id = 'msg_wire') => {
    const signature = signStandardWebhook(SECRET, id, TS, yodleeBody);
    needles.push(signature.slice(3));
    return { id, signature };
  };

  it('header names are case-insensitive: Webhook-Id / WEBHOOK-TIMESTAMP / Webhook-Signature verify', async () => {
    const { id, signature } = signed();
    const before = wire.published.length;
    const { response } = await exchange(port, [
      request(
        [`Webhook-Id: ${id}`, `WEBHOOK-TIMESTAMP: ${TS}`, `Webhook-Signature: ${signature}`],
        yodleeBody,
      ),
    ]);
    expect(parseResponse(response).status).toBe(200);
    expect(wire.published.length - before).toBe(1);
  });

  it('a signature header sent twice on the wire (even as Webhook-Signature and webhook-signature, one copy valid) is refused with 401', async () => {
    const { id, signature } = signed();
    for (const names of [
      ['webhook-signature', 'webhook-signature'],
      ['Webhook-Signature', 'webhook-signature'],
    ]) {
      const before = wire.published.length;
      const { response } = await exchange(port, [
        request(
          [
            `webhook-id: ${id}`,
            `webhook-timestamp: ${TS}`,
            `${names[0]}: v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`,
            `${names[1]}: ${signature}`,
          ],
          yodleeBody,
        ),
      ]);
      const answer = parseResponse(response);
      expect(answer.status).toBe(401);
      expect((JSON.parse(answer.body) as ErrorBody).error.code).toBe('SIGNATURE_INVALID');
      expect(wire.published.length - before).toBe(0);
    }
  });

  it('a webhook-id sent twice on the wire is refused with 401', async () => {
    const { id, signature } = signed();
    const { response } = await exchange(port, [
      request(
        [
          `webhook-id: ${id}`,
          `webhook-id: ${id}`,
          `webhook-timestamp: ${TS}`,
          `webhook-signature: ${signature}`,
        ],
        yodleeBody,
      ),
    ]);
    expect(parseResponse(response).status).toBe(401);
  });

  it('oversized headers (64 KiB) answer 431 HEADERS_TOO_LARGE in the contract shape and close the connection', async () => {
    const { id, signature } = signed();
    const huge = 'h'.repeat(64 * 1024);
    needles.push(huge.slice(0, 64));
    const before = wire.published.length;
    const { response } = await exchange(port, [
      request(
        [
          `webhook-id: ${id}`,
          `webhook-timestamp: ${TS}`,
          `webhook-signature: ${signature}`,
          `x-padding: ${huge}`,
        ],
        yodleeBody,
      ),
    ]);
    const answer = parseResponse(response);
    expect(answer.status).toBe(431);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(JSON.parse(answer.body)).toEqual({
      error: {
        code: 'HEADERS_TOO_LARGE',
        message: 'the request headers are larger than the limit',
      },
    });
    expect(wire.published.length - before).toBe(0);
  });

  it('bytes that are not HTTP answer 400 INVALID_REQUEST in the contract shape', async () => {
    const { response } = await exchange(port, ['NOT HTTP AT ALL\r\n\r\n']);
    const answer = parseResponse(response);
    expect(answer.status).toBe(400);
    expect((JSON.parse(answer.body) as ErrorBody).error.code).toBe('INVALID_REQUEST');
  });

  it('a client trickling its headers is cut off with 408 REQUEST_TIMEOUT and the connection closed', async () => {
    const { id, signature } = signed('msg_slow_headers');
    const whole = request(
      [`webhook-id: ${id}`, `webhook-timestamp: ${TS}`, `webhook-signature: ${signature}`],
      yodleeBody,
    );
    // one byte every 50 ms: far slower than the 500 ms header deadline allows
    const before = wire.published.length;
    const { response } = await exchange(
      port,
      Array.from(whole, (b) => Buffer.from([b])),
      50,
    );
    const answer = parseResponse(response);
    expect(answer.status).toBe(408);
    expect(JSON.parse(answer.body)).toEqual({
      error: { code: 'REQUEST_TIMEOUT', message: 'the request was not received in time' },
    });
    expect(wire.published.length - before).toBe(0);
  }, 30_000);

  it('a client trickling its body after prompt headers is cut off with 408 and nothing is stored', async () => {
    const { id, signature } = signed('msg_slow_body');
    const whole = request(
      [`webhook-id: ${id}`, `webhook-timestamp: ${TS}`, `webhook-signature: ${signature}`],
      yodleeBody,
    );
    const headEnd = whole.indexOf('\r\n\r\n') + 4;
    const chunks = [
      whole.subarray(0, headEnd),
      ...[...whole.subarray(headEnd)].map((b) => Buffer.from([b])),
    ];
    const before = wire.published.length;
    const { response } = await exchange(port, chunks, 100);
    const answer = parseResponse(response);
    expect(answer.status).toBe(408);
    expect((JSON.parse(answer.body) as ErrorBody).error.code).toBe('REQUEST_TIMEOUT');
    expect(wire.published.length - before).toBe(0);
  }, 30_000);
});
