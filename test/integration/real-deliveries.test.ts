import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import type {
  CustomerRefreshCompleted,
  NewTransactionsAvailable,
  ReconnectAlert,
} from '../../src/processors/types.js';
import type { RefreshEvent } from '../../src/normalize/types.js';
import { brokers, registryUrl, testBroker, testRegistry } from './support/kafka.js';
import { pipelineConfig, startPipeline } from './support/pipeline.js';
import { HEADER } from '../../src/contract/headers.js';

// Issue 15: Bud's own examples (reference/bud-api/webhooks.yaml) and the seeds' examples, verbatim,
// signed as Bud signs (JWS against a JWKS) and sent as Yodlee sends (allow-listed IP, shared
// secret), through `refreshbus all` on the real broker and registry; every output topic read
// read_committed, each expected record exactly once.

const broker = testBroker();
const { resources } = broker;

const fixtures = path.join(import.meta.dirname, '../fixtures/webhooks');
const fixture = (name: string): Buffer => {
  const f = JSON.parse(readFileSync(path.join(fixtures, `${name}.json`), 'utf8')) as {
    body: unknown;
  };
  return Buffer.from(JSON.stringify(f.body, null, 2));
};

const BUD_CUSTOMER = 'b6f898f8-99e8-4529-8e90-64d96fe05aa4';
const SEED_CUSTOMER = '82a90a04-4bdf-446a-932e-fb559ea99c29';
const YODLEE_USER = 'fri21';

/** In the order sent; each answered 200 before the next goes. */
const BUD_DELIVERIES = [
  'bud-api-event-subscription-example', // sync complete of a connect: no round, no alert
  'bud-api-connect-completed-success', // a connect: no round
  'bud-api-connect-completed-failure', // a failed connect: nothing
  'bud-api-refresh-completed-success', // opens the round (consent f43c…, new transactions)
  'bud-api-refresh-completed-failure', // the same task failing afterwards: stale, changes nothing
  'bud-api-refresh-v2completed-success', // Bank_Of_Bud (consent 2c7b…) joins the round
  'bud-api-refresh-v2completed-failure', // Bank_Of_Bud revoked: RAISED
  'bud-api-provider-refresh-completed-success', // Bank_Of_Bud works again: CLEARED
  'bud-api-provider-refresh-completed-failure', // stale failure of that task: nothing
  'bud-api-consent-revoked-example', // Monzo consent revoked: RAISED
  'bud-api-consent-reconfirmed-example', // reconfirmed: CLEARED
  'bud-api-fpiingest-succeeded-success', // the rest are genuine but unused: dead letters
  'bud-api-fpiingest-failed-success',
  'bud-api-transaction-book-completed-example',
  'bud-api-transaction-decline-completed-example',
  'bud-api-payment-event-example',
];
const SEED_DELIVERIES = [
  'bud-v1-seed-success-strings', // seed 000: Capital_One, new transactions
  'bud-v1-hosted-failure-reconnect', // seed 001's failure: no provider, no consent: customer-level alert
  'bud-v1-hosted-success-booleans', // seed 001's success (another task, naming nothing)
];
const YODLEE_DELIVERIES = [
  'yodlee-seed-login-success',
  'yodlee-seed-account-summary',
  'yodlee-seed-completed-success', // closes the process's round at once
  // the seed's failure example carries the same requestId: a failure reported for a request whose
  // success was already seen changes nothing (counted as set aside)
  'yodlee-seed-completed-failure-misspelt',
];

describe('real deliveries through the real pipeline', () => {
  it('turns Bud’s examples and the seeds into the expected events, completions, signals, alerts and dead letters, each once', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'bud-1', alg: 'ES256', use: 'sig' };
    const jwks = http.createServer((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ keys: [jwk] }));
    });
    jwks.listen(0, '127.0.0.1');
    await once(jwks, 'listening');
    resources.track(jwks, (s) => new Promise((r) => s.close(r)));

    const endpoints = { brokers: brokers(), registryUrl: registryUrl() };
    const config = pipelineConfig(endpoints, {
      BUD_AUTH: 'jwks',
      BUD_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/bud-callback.jwks`,
      ROUND_SETTLE_MS: '3000',
    });
    const pipeline = resources.track(await startPipeline(config, endpoints), (p) => p.close());
    const url = pipeline.ingest.url;

    const post = async (route: string, body: Buffer, headers: Record<string, string>) => {
      const res = await fetch(`${url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      expect({ route, status: res.status }).toEqual({ route, status: 200 });
    };
    const budSigned = async (body: Buffer) => {
      // a detached JWS over the body bytes, as Bud's X-Signature carries it
      const [h, , s] = (
        await new CompactSign(body).setProtectedHeader({ alg: 'ES256' }).sign(pair.privateKey)
      ).split('.');
      return { 'x-signature': `${h ?? ''}..${s ?? ''}`, 'x-signing-id': 'bud-1' };
    };
    for (const name of [...BUD_DELIVERIES, ...SEED_DELIVERIES]) {
      const body = fixture(name);
      await post('/webhooks/bud', body, await budSigned(body));
    }
    for (const name of YODLEE_DELIVERIES)
      await post('/webhooks/yodlee', fixture(name), {
        'x-webhook-secret': 'a-shared-secret-for-yodlee',
      });

    const registry = testRegistry();
    const decoded = async <T>(topic: string, count: number) =>
      Promise.all(
        (await broker.readAll(topic, { readCommitted: true, count, maxWaitMs: 90_000 })).map(
          async (r) => (await registry.decode(r.value ?? Buffer.alloc(0))) as T,
        ),
      );

    const events = await decoded<RefreshEvent>(config.TOPIC_REFRESH_EVENTS, 18);
    expect(events).toHaveLength(18);
    expect(new Set(events.map((e) => e.event_id)).size).toBe(18);
    const bud = events.filter((e) => e.customer_id === BUD_CUSTOMER);
    expect(bud.map((e) => [e.source_event, e.outcome, e.action_required])).toEqual([
      ['bud.v1.connect', 'SUCCESS', 'NONE'],
      ['bud.v1.connect', 'SUCCESS', 'NONE'],
      ['bud.v1.connect', 'FAILED', 'RETRY_LATER'],
      ['bud.v1.refresh', 'SUCCESS', 'NONE'],
      ['bud.v1.refresh', 'FAILED', 'RECONNECT'],
      ['bud.v2.refresh.completed', 'SUCCESS', 'NONE'],
      ['bud.v2.refresh.completed', 'FAILED', 'RECONNECT'],
      ['bud.v2.refresh.provider.completed', 'SUCCESS', 'NONE'],
      ['bud.v2.refresh.provider.completed', 'FAILED', 'RECONNECT'],
      ['bud.consent.revoked', 'FAILED', 'RECONNECT'],
      ['bud.consent.reconfirmed', 'SUCCESS', 'NONE'],
    ]);

    const dlq = await broker.readAll(config.TOPIC_REFRESH_DLQ, { readCommitted: true, count: 5 });
    expect(dlq.map((r) => r.headers?.[HEADER.errorCode]?.toString())).toEqual(
      Array.from({ length: 5 }, () => 'UNUSED_EVENT'),
    );

    const completed = await decoded<CustomerRefreshCompleted>(config.TOPIC_CUSTOMER_COMPLETED, 3);
    const byCustomer = (id: string) => completed.filter((c) => c.customer_id === id);
    expect(completed).toHaveLength(3);
    expect(byCustomer(BUD_CUSTOMER)).toMatchObject([
      {
        close_reason: 'ALL_REPORTED',
        all_succeeded: true,
        any_new_transactions: true,
        missing: [],
      },
    ]);
    expect(
      byCustomer(BUD_CUSTOMER)[0]?.connections.map((c) => [c.provider, c.connection_id, c.outcome]),
    ).toEqual([
      [null, 'f43c4fc9-26f6-4107-a631-4f323f06e5c9', 'SUCCESS'],
      ['Bank_Of_Bud', '2c7b5faf-2d11-47b1-b9e6-ce95f195259b', 'SUCCESS'],
    ]);
    expect(byCustomer(SEED_CUSTOMER)).toMatchObject([
      {
        close_reason: 'ALL_REPORTED',
        all_succeeded: false,
        any_new_transactions: true,
        missing: [],
      },
    ]);
    expect(
      byCustomer(YODLEE_USER).map((c) => [c.close_reason, c.connections.map((x) => x.outcome)]),
    ).toEqual([['ALL_REPORTED', ['SUCCESS']]]);

    const signals = await decoded<NewTransactionsAvailable>(
      config.TOPIC_CUSTOMER_NEW_TRANSACTIONS,
      3,
    );
    expect(signals.map((s) => [s.customer_id, s.providers]).sort()).toEqual([
      [SEED_CUSTOMER, ['Capital_One']],
      [BUD_CUSTOMER, ['Bank_Of_Bud']],
      [YODLEE_USER, ['16441']],
    ]);

    const alerts = await decoded<ReconnectAlert>(config.TOPIC_CUSTOMER_ALERTS, 5);
    const alertsOf = (id: string) =>
      alerts
        .filter((a) => a.customer_id === id)
        .map((a) => [a.status, a.provider, a.action_required, a.result_code]);
    expect(alertsOf(BUD_CUSTOMER)).toEqual([
      ['RAISED', 'Bank_Of_Bud', 'RECONNECT', 'connection_revoked'],
      ['CLEARED', 'Bank_Of_Bud', 'NONE', 'success'],
      ['RAISED', 'Monzo', 'RECONNECT', 'consent_revoked'],
      ['CLEARED', 'Monzo', 'NONE', 'consent_reconfirmed'],
    ]);
    // seed 001's failure names no connection: the customer's own alert; the success that follows
    // moments later is another task's (another bank's, for all one can tell): it stays RAISED
    expect(alertsOf(SEED_CUSTOMER)).toEqual([['RAISED', null, 'RECONNECT', 'provider_failure']]);
    expect(alerts).toHaveLength(5);

    // the three stale failures (Bud V1, Bud V2 provider, Yodlee), set aside by both processors
    const metrics = await (await fetch(`${url}/metrics`)).text();
    for (const processor of ['rounds', 'alerts'])
      expect(metrics).toContain(
        `refreshbus_processor_inputs_set_aside_total{processor="${processor}",note="stale-failure-after-success"} 3`,
      );
  }, 240_000);
});
