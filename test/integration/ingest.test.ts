import { generateKeyPair, exportJWK, CompactSign } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { signStandardWebhook } from '../../src/ingest/auth/standard-webhooks.js';
import { testBroker, testRegistry, uniqueName } from './support/kafka.js';
import { HMAC_SECRET, ingestConfig, post, runIngest } from './support/ingest.js';
import { HEADER } from '../../src/contract/headers.js';

const broker = testBroker();
const { resources } = broker;

function hmacHeaders(body: Buffer, id = `msg_${Math.random()}`) {
  const ts = Math.floor(Date.now() / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': signStandardWebhook(HMAC_SECRET, id, ts, body),
  };
}

async function topics() {
  const raw = uniqueName('raw');
  const requests = uniqueName('requests');
  await broker.createTopics([raw, requests], 3);
  return { raw, requests };
}

describe('ingest against the real broker', () => {
  it('stores each webhook byte for byte with the contract headers, keyed by customer', async () => {
    const { raw, requests } = await topics();
    const ingest = resources.track(
      await runIngest(ingestConfig({ TOPIC_WEBHOOKS_RAW: raw, TOPIC_REFRESH_REQUESTS: requests })),
      (i) => i.close(),
    );
    const bud = Buffer.from(
      '{"data": {"customer_id": "cust-42", "task_id": "t-1", "status": "Completed",\n "has_new_transactions": "true"}}  ',
    );
    const budRes = await post(`${ingest.url}/webhooks/bud`, bud, hmacHeaders(bud));
    expect(budRes.status).toBe(200);
    const yodlee = Buffer.from(
      JSON.stringify({
        event: {
          info: 'REFRESH.PROCESS_COMPLETED',
          loginName: 'user-7',
          data: { providerAccount: [] },
        },
      }),
    );
    const yodleeRes = await post(`${ingest.url}/webhooks/yodlee`, yodlee);
    expect(yodleeRes.status).toBe(200);

    const stored = await broker.readAll(raw, { readCommitted: true, count: 2 });
    expect(stored).toHaveLength(2);
    const byKey = new Map(stored.map((m) => [m.key?.toString(), m]));
    const budRecord = byKey.get('cust-42');
    expect(budRecord?.value?.equals(bud)).toBe(true);
    const headers = Object.fromEntries(
      Object.entries(budRecord?.headers ?? {}).map(([k, v]) => [k, v?.toString()]),
    );
    expect(headers).toMatchObject({
      [HEADER.source]: 'bud',
      [HEADER.ingestId]: budRes.json.id,
      'content-type': 'application/json',
      [HEADER.auth]: 'standard-webhooks',
    });
    expect(headers[HEADER.receivedAt]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(headers[HEADER.remoteAddr]).toMatch(/127\.0\.0\.1|::1/);
    expect(byKey.get('user-7')?.value?.equals(yodlee)).toBe(true);
    expect(byKey.get('user-7')?.headers?.[HEADER.auth]?.toString()).toBe('ip-allowlist');
  });

  it('publishes POST /refresh-requests as Avro RefreshRequested, decoded by schema id', async () => {
    const { raw, requests } = await topics();
    const ingest = resources.track(
      await runIngest(ingestConfig({ TOPIC_WEBHOOKS_RAW: raw, TOPIC_REFRESH_REQUESTS: requests })),
      (i) => i.close(),
    );
    const res = await post(
      `${ingest.url}/refresh-requests`,
      JSON.stringify({ customer_id: 'cust-9', providers: ['Bank_A'] }),
    );
    expect(res.status).toBe(200);
    const [record] = await broker.readAll(requests, { readCommitted: true, count: 1 });
    expect(record?.key?.toString()).toBe('cust-9');
    const value: unknown = await testRegistry().decode(record?.value ?? Buffer.alloc(0));
    expect(value).toMatchObject({
      request_id: res.json.id,
      customer_id: 'cust-9',
      providers: ['Bank_A'],
      task_ids: [],
    });
  });

  it('verifies Bud JWS against a locally served JWKS and follows a key rotation', async () => {
    const { raw, requests } = await topics();
    const makeKey = async (kid: string) => {
      const pair = await generateKeyPair('ES256', { extractable: true });
      return {
        kid,
        privateKey: pair.privateKey,
        jwk: { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' },
      };
    };
    const first = await makeKey('bud-key-1');
    const second = await makeKey('bud-key-2');
    let published: JWK[] = [first.jwk];
    let fetches = 0;
    const server = http.createServer((_req, res) => {
      fetches += 1;
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ keys: published }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    resources.track(server, (s) => new Promise((r) => s.close(r)));
    const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;

    const ingest = resources.track(
      await runIngest(
        ingestConfig({
          TOPIC_WEBHOOKS_RAW: raw,
          TOPIC_REFRESH_REQUESTS: requests,
          BUD_AUTH: 'jwks',
          BUD_JWKS_URL: jwksUrl,
          JWKS_COOLDOWN_MS: '0',
        }),
      ),
      (i) => i.close(),
    );
    const signed = async (key: { kid: string; privateKey: CryptoKey }, body: Buffer) => {
      const jws = await new CompactSign(body)
        .setProtectedHeader({ alg: 'ES256' })
        .sign(key.privateKey);
      const [h, , s] = jws.split('.');
      return { 'x-signature': `${h}..${s}`, 'x-signing-id': key.kid };
    };
    const body = Buffer.from(
      JSON.stringify({ event: 'open_banking.v2.refresh.provider.completed', customer_id: 'c-1' }),
    );

    const firstRes = await post(`${ingest.url}/webhooks/bud`, body, await signed(first, body));
    expect(firstRes.json).toEqual({ status: 'accepted', id: expect.any(String) as unknown });
    // a key id Bud has not published yet: retry later, never a 401 that would lose the event
    const early = await post(`${ingest.url}/webhooks/bud`, body, await signed(second, body));
    expect(early.status).toBe(503);
    expect(early.headers.get('retry-after')).not.toBeNull();
    published = [second.jwk]; // Bud rotates its key
    const rotated = await post(`${ingest.url}/webhooks/bud`, body, await signed(second, body));
    expect(rotated.json).toEqual({ status: 'accepted', id: expect.any(String) as unknown });
    expect(fetches).toBeGreaterThanOrEqual(2);
    const tampered = Buffer.from(body.toString().replace('c-1', 'c-2'));
    const bad = await post(`${ingest.url}/webhooks/bud`, tampered, await signed(second, body));
    expect(bad.status).toBe(401);
    expect(bad.json).toEqual({
      error: { code: 'SIGNATURE_INVALID', message: expect.any(String) as unknown },
    });
    const stored = await broker.readAll(raw, { readCommitted: true, count: 2 });
    expect(stored).toHaveLength(2);
  });
});
