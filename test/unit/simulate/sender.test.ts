import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { plaidKeys, plaidVerifier } from '../../../src/ingest/auth/plaid.js';
import { standardWebhooksVerifier } from '../../../src/ingest/auth/standard-webhooks.js';
import { startPlaidSandbox } from '../../../src/tools/plaid/sandbox.js';
import { SimulateError, sendCalls, signersFromAuth } from '../../../src/tools/simulate/sender.js';
import type { Route, SimCall } from '../../../src/tools/simulate/types.js';

const SECRET = 'whsec_' + Buffer.from('a-test-secret-of-some-length').toString('base64');

describe('signing the way the ingest expects', () => {
  it('signs Standard Webhooks with the first secret, so the ingest’s verifier accepts', async () => {
    const auth = loadConfig({
      BUD_AUTH: 'hmac',
      BUD_WEBHOOK_SECRETS: `${SECRET},whsec_b2xkLXNlY3JldA==`,
    }).auth;
    const sign = signersFromAuth(auth, ['/webhooks/bud'])['/webhooks/bud'];
    const body = Buffer.from('{"data":{}}');
    const now = Date.now();
    const headers = await sign({ webhookId: 'msg_1', timestamp: Math.floor(now / 1000), body });
    const verdict = await standardWebhooksVerifier([SECRET])({
      headers,
      rawBody: body,
      remoteAddr: '127.0.0.1',
      now,
    });
    expect(verdict).toEqual({ ok: true, method: 'standard-webhooks' });
  });

  it('adds the shared-secret header, and nothing for an IP allowlist', () => {
    const auth = loadConfig({
      YODLEE_AUTH: 'ip,secret',
      YODLEE_ALLOWED_CIDRS: '127.0.0.1/32',
      YODLEE_SHARED_SECRET: 'a-shared-secret-long-enough',
      YODLEE_SHARED_SECRET_HEADER: 'x-yodlee-secret',
    }).auth;
    const sign = signersFromAuth(auth, ['/webhooks/yodlee'])['/webhooks/yodlee'];
    expect(sign({ webhookId: 'm', timestamp: 1, body: Buffer.alloc(0) })).toEqual({
      'x-yodlee-secret': 'a-shared-secret-long-enough',
    });
  });

  it('refuses a route that requires Bud’s JWS, saying what to run instead, and lists every problem', () => {
    const auth = loadConfig({ REFRESH_REQUESTS_AUTH: 'hmac' }).auth; // BUD_AUTH defaults to jwks
    const attempt = () => signersFromAuth(auth, ['/webhooks/bud', '/refresh-requests']);
    expect(attempt).toThrow(SimulateError);
    expect(attempt).toThrow(/BUD_AUTH includes jwks: .*Run the ingest with BUD_AUTH=hmac/);
    expect(attempt).toThrow(/REFRESH_REQUESTS_WEBHOOK_SECRETS: needed to sign \/refresh-requests/);
  });

  it('signs Plaid webhooks as Plaid does, with a sandbox’s key the ingest fetches, so its plaid check accepts', async () => {
    const sandbox = await startPlaidSandbox();
    try {
      const auth = loadConfig({ PLAID_AUTH: 'plaid' }).auth;
      const sign = signersFromAuth(auth, ['/webhooks/plaid'], { plaid: sandbox })[
        '/webhooks/plaid'
      ];
      const body = Buffer.from('{"webhook_type":"TRANSACTIONS"}');
      const headers = await sign({ webhookId: 'msg_1', timestamp: 1, body });
      expect(Object.keys(headers)).toEqual(['plaid-verification']);
      const verify = plaidVerifier(
        plaidKeys({ apiUrl: sandbox.url, clientId: sandbox.clientId, secret: sandbox.secret }),
      );
      const request = { headers, remoteAddr: '127.0.0.1', now: Date.now() };
      expect(await verify({ ...request, rawBody: body })).toMatchObject({ ok: true });
      expect(await verify({ ...request, rawBody: Buffer.from('{}') })).toMatchObject({ ok: false });
    } finally {
      await sandbox.close();
    }
  });

  it('refuses a Plaid route that requires plaid without a sandbox to sign with, saying what to run instead', () => {
    const auth = loadConfig({}).auth; // PLAID_AUTH defaults to plaid
    const attempt = () => signersFromAuth(auth, ['/webhooks/plaid']);
    expect(attempt).toThrow(SimulateError);
    expect(attempt).toThrow(/PLAID_AUTH includes plaid: .*Run the ingest with PLAID_AUTH=hmac/);
  });

  it('signs Plaid webhooks and Item registrations with their own HMAC secrets', async () => {
    const other = 'whsec_' + Buffer.from('another-secret-of-some-length').toString('base64');
    const auth = loadConfig({
      PLAID_AUTH: 'hmac',
      PLAID_WEBHOOK_SECRETS: SECRET,
      CONNECTIONS_WEBHOOK_SECRETS: other,
    }).auth;
    const signers = signersFromAuth(auth, ['/webhooks/plaid', '/connections/plaid']);
    const body = Buffer.from('{"customer_id":"c"}');
    const now = Date.now();
    for (const [route, secret] of [
      ['/webhooks/plaid', SECRET],
      ['/connections/plaid', other],
    ] as const) {
      const headers = await signers[route]({
        webhookId: 'm',
        timestamp: Math.floor(now / 1000),
        body,
      });
      const verdict = await standardWebhooksVerifier([secret])({
        headers,
        rawBody: body,
        remoteAddr: '127.0.0.1',
        now,
      });
      expect({ route, ok: verdict.ok }).toEqual({ route, ok: true });
    }
    expect(() => signersFromAuth(loadConfig({}).auth, ['/connections/plaid'])).toThrow(
      /CONNECTIONS_WEBHOOK_SECRETS: needed to sign \/connections\/plaid/,
    );
  });

  it('checks only the routes the day calls', () => {
    const auth = loadConfig({ YODLEE_AUTH: 'ip', YODLEE_ALLOWED_CIDRS: '127.0.0.1/32' }).auth;
    expect(() => signersFromAuth(auth, ['/webhooks/yodlee'])).not.toThrow();
  });
});

interface Seen {
  id: string | undefined;
  signature: string | undefined;
  customer: string;
  at: number;
  method: string | undefined;
  path: string | undefined;
}

/** A stand-in ingest: `answer` decides each response from what was received so far. */
async function fakeIngest(
  answer: (
    req: Seen,
    seen: Seen[],
  ) => { status: number; delayMs?: number; headers?: Record<string, string> },
) {
  const seen: Seen[] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { customer_id: string };
      const entry: Seen = {
        id: req.headers['webhook-id'] as string | undefined,
        signature: req.headers['webhook-signature'] as string | undefined,
        customer: body.customer_id,
        at: Date.now(),
        method: req.method,
        path: req.url,
      };
      seen.push(entry);
      const { status, delayMs = 0, headers = {} } = answer(entry, seen);
      setTimeout(() => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(
          JSON.stringify(
            status === 200
              ? { status: 'accepted', id: `ingest-${++n}` }
              : { error: { code: 'X', message: 'no' } },
          ),
        );
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise((r) => server.close(r)),
  };
}

const call = (
  customer: string,
  n: number,
  atMs = 0,
  route: Route = '/refresh-requests',
): SimCall => ({
  id: `${customer}#${n}`,
  atMs,
  route,
  body: JSON.stringify({ customer_id: customer }),
  scenario: 'bud-requested',
  customerId: customer,
  note: 'test',
});

const signers = signersFromAuth(loadConfig({ REFRESH_REQUESTS_WEBHOOK_SECRETS: SECRET }).auth, [
  '/refresh-requests',
]);

describe('sending', () => {
  let close: (() => Promise<unknown>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('retries a 503 with the same webhook-id and a fresh signature, and logs the 200 with its ingest id', async () => {
    const ingest = await fakeIngest((_req, seen) => ({
      status: seen.length === 1 ? 503 : 200,
      headers: seen.length === 1 ? { 'retry-after': '0' } : {},
    }));
    close = ingest.close;
    const progress: number[] = [];
    const { deliveries } = await sendCalls([call('a', 1)], {
      url: ingest.url,
      signers,
      backoffMs: 1100, // the signature's timestamp is in seconds: let it move on
      onProgress: (p) => progress.push(p.answered),
    });
    expect(ingest.seen.map((s) => s.id)).toEqual(['msg_a#1', 'msg_a#1']);
    expect(ingest.seen[0]?.signature).not.toBe(ingest.seen[1]?.signature);
    expect(deliveries).toMatchObject([
      { callId: 'a#1', webhookId: 'msg_a#1', status: 200, attempts: 2, ingestId: 'ingest-1' },
    ]);
    expect(deliveries[0]?.acknowledgedAt).toBeGreaterThanOrEqual(
      deliveries[0]?.firstSentAt ?? Infinity,
    );
    expect(progress).toEqual([1]);
  });

  it('never retries a 4xx, and gives up after the attempts it is given', async () => {
    const ingest = await fakeIngest((req) => ({ status: req.customer === 'bad' ? 401 : 500 }));
    close = ingest.close;
    const { deliveries, progress } = await sendCalls([call('bad', 1), call('down', 1)], {
      url: ingest.url,
      signers,
      attempts: 3,
      backoffMs: 5,
    });
    expect(deliveries.map((d) => [d.callId, d.status, d.attempts, d.ingestId])).toEqual([
      ['bad#1', 401, 1, null],
      ['down#1', 500, 3, null],
    ]);
    expect(deliveries[0]?.error).toContain('"code":"X"');
    expect(progress).toMatchObject({
      answered: 2,
      accepted: 0,
      retries: 2,
      statuses: { '401': 1, '500': 1 },
    });
  });

  it('sends a call that must follow another once that one is answered; the rest at their time', async () => {
    const ingest = await fakeIngest((req) => ({
      status: 200,
      delayMs: req.customer === 'a' ? 300 : 0,
    }));
    close = ingest.close;
    const calls = [call('a', 1), { ...call('a', 2), after: 'a#1' }, call('a', 3), call('b', 1)];
    const { deliveries } = await sendCalls(calls, { url: ingest.url, signers });
    const arrival = (id: string) => ingest.seen.find((s) => s.id === `msg_${id}`)?.at ?? NaN;
    const answered = (id: string) => deliveries.find((d) => d.callId === id)?.acknowledgedAt ?? NaN;
    expect(arrival('a#2')).toBeGreaterThanOrEqual(answered('a#1'));
    expect(arrival('a#3')).toBeLessThan(answered('a#1'));
    expect(arrival('b#1')).toBeLessThan(answered('a#1'));
  });

  it('when calls queue for a slot, serves the earliest planned first, not the first to queue', async () => {
    const ingest = await fakeIngest((req) => ({
      status: 200,
      delayMs: req.customer === 'c' ? 200 : 0,
    }));
    close = ingest.close;
    const calls = [
      call('c', 1, 0),
      { ...call('c', 2, 5), after: 'c#1' }, // ready only when c#1 is answered, long after d and e queued
      call('d', 1, 10),
      call('e', 1, 20),
    ];
    await sendCalls(calls, { url: ingest.url, signers, concurrency: 1 });
    expect(ingest.seen.map((s) => s.id)).toEqual(['msg_c#1', 'msg_d#1', 'msg_c#2', 'msg_e#1']);
  });

  it('registers a Plaid Item with a PUT to its path, and sends the Item’s webhook once it is answered', async () => {
    const ingest = await fakeIngest((req) => ({
      status: 200,
      delayMs: req.method === 'PUT' ? 200 : 0,
    }));
    close = ingest.close;
    const plaidSigners = signersFromAuth(
      loadConfig({
        PLAID_AUTH: 'hmac',
        PLAID_WEBHOOK_SECRETS: SECRET,
        CONNECTIONS_WEBHOOK_SECRETS: SECRET,
      }).auth,
      ['/connections/plaid', '/webhooks/plaid'],
    );
    const calls: SimCall[] = [
      { ...call('a', 1, 0, '/connections/plaid'), path: '/connections/plaid/a-item' },
      { ...call('a', 2, 10, '/webhooks/plaid'), after: 'a#1' },
    ];
    const { deliveries } = await sendCalls(calls, { url: ingest.url, signers: plaidSigners });
    expect(ingest.seen.map((s) => [s.method, s.path, s.id])).toEqual([
      ['PUT', '/connections/plaid/a-item', 'msg_a#1'],
      ['POST', '/webhooks/plaid', 'msg_a#2'],
    ]);
    expect(ingest.seen[1]?.at).toBeGreaterThanOrEqual(deliveries[0]?.acknowledgedAt ?? Infinity);
    expect(deliveries.map((d) => [d.route, d.status, d.ingestId])).toEqual([
      ['/connections/plaid', 200, 'ingest-1'],
      ['/webhooks/plaid', 200, 'ingest-2'],
    ]);
  });

  it('refuses a call that follows one not sent before it', async () => {
    await expect(
      sendCalls([{ ...call('a', 1), after: 'a#2' }, call('a', 2)], {
        url: 'http://127.0.0.1:9',
        signers,
      }),
    ).rejects.toThrow('call a#1 must follow a#2, which is not an earlier call');
  });

  it('logs a network error when nothing answers, and leaves calls unsent once stopped', async () => {
    const ingest = await fakeIngest(() => ({ status: 200 }));
    await ingest.close(); // nothing listens there any more
    const stop = new AbortController();
    const { deliveries } = await sendCalls([call('a', 1), call('b', 1, 60_000)], {
      url: ingest.url,
      signers,
      attempts: 2,
      backoffMs: 5,
      signal: stop.signal,
      onProgress: () => {
        stop.abort();
      },
    });
    expect(deliveries[0]).toMatchObject({ status: null, attempts: 2, ingestId: null });
    expect(deliveries[0]?.error).toMatch(/ECONNREFUSED/);
    expect(deliveries[1]).toMatchObject({ status: null, attempts: 0, firstSentAt: null });
  });
});
