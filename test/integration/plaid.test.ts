/**
 * Plaid through the real pipeline (`refreshbus all` on a real broker and registry): webhooks
 * signed as Plaid signs them (ES256 JWT over the body's SHA-256, keys from a local stand-in of
 * Plaid's /webhook_verification_key/get), Items registered to customers through the connections
 * route, an unregistered Item dead-lettered and replayed once registered — every output exactly
 * once.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/config/config.js';
import type { Config } from '../../src/config/config.js';
import { signStandardWebhook } from '../../src/ingest/auth/standard-webhooks.js';
import { headerText } from '../../src/normalize/dlq.js';
import { replayDlq } from '../../src/normalize/replay.js';
import type { PlaidSandbox } from '../../src/tools/plaid/sandbox.js';
import { startPlaidSandbox } from '../../src/tools/plaid/sandbox.js';
import { brokers, registryUrl, testBroker, testRegistry, uniqueName } from './support/kafka.js';
import type { RunningPipeline } from './support/pipeline.js';
import { pipelineConfig, startPipeline } from './support/pipeline.js';
import { HEADER } from '../../src/contract/headers.js';

const SECRET = 'whsec_' + Buffer.from('plaid-connections-secret').toString('base64');

/** A Plaid example body from the fixtures (Plaid's own examples), for `item`. */
function plaidBody(example: string, item: string): string {
  const file = path.join(packageRoot, 'test/fixtures/webhooks/plaid', `${example}.json`);
  const { body } = JSON.parse(readFileSync(file, 'utf8')) as { body: Record<string, unknown> };
  // indented, as Plaid sends it: the digest is over these exact bytes
  return JSON.stringify({ ...body, item_id: item }, null, 2);
}

describe('Plaid through the real pipeline', () => {
  let sandbox: PlaidSandbox;
  let config: Config;
  let pipeline: RunningPipeline;
  const broker = testBroker();
  const registry = testRegistry();
  const itemA = uniqueName('item-a');
  const itemB = uniqueName('item-b');
  const customerA = uniqueName('customer-a');
  const customerB = uniqueName('customer-b');

  const post = async (
    route: string,
    body: string,
    headers: Record<string, string>,
    method = 'POST',
  ) =>
    fetch(`${pipeline.ingest.url}${route}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
  const webhook = async (example: string, item: string) => {
    const body = plaidBody(example, item);
    return post('/webhooks/plaid', body, { 'plaid-verification': await sandbox.sign(body) });
  };
  const register = (item: string, customer: string) => {
    const body = JSON.stringify({ connection_id: item, customer_id: customer });
    const id = uniqueName('msg');
    const at = Math.floor(Date.now() / 1000);
    return post(
      `/connections/plaid/${item}`,
      body,
      {
        'webhook-id': id,
        'webhook-timestamp': String(at),
        'webhook-signature': signStandardWebhook(SECRET, id, at, Buffer.from(body)),
      },
      'PUT',
    );
  };
  const decoded = async (topic: string, count: number) => {
    const records = await broker.readAll(topic, { readCommitted: true, count, maxWaitMs: 60_000 });
    return Promise.all(
      records.map(
        async (r) => (await registry.decode(r.value as Buffer)) as Record<string, unknown>,
      ),
    );
  };

  beforeAll(async () => {
    sandbox = await startPlaidSandbox();
    const endpoints = { brokers: brokers(), registryUrl: registryUrl() };
    config = pipelineConfig(endpoints, {
      PLAID_AUTH: 'plaid',
      PLAID_API_URL: sandbox.url,
      PLAID_CLIENT_ID: sandbox.clientId,
      PLAID_SECRET: sandbox.secret,
      CONNECTIONS_AUTH: 'hmac',
      CONNECTIONS_WEBHOOK_SECRETS: SECRET,
      ROUND_SETTLE_MS: '2000',
    });
    pipeline = await startPipeline(config, endpoints, process.env.PLAID_TEST_LOG);
  }, 120_000);

  afterAll(async () => {
    await pipeline.close();
    await sandbox.close();
  });

  it('verifies, attributes and processes each webhook exactly once; an unregistered Item waits in the DLQ until registered', async () => {
    expect((await register(itemA, customerA)).status).toBe(200);

    // a forged and a stale signature are refused, and nothing is stored for them
    const forged = plaidBody('plaid-api-sync-updates-available-example', itemA);
    const tampered = await post('/webhooks/plaid', forged.replace('true', 'false'), {
      'plaid-verification': await sandbox.sign(forged),
    });
    expect(tampered.status).toBe(401);
    const stale = await post('/webhooks/plaid', forged, {
      'plaid-verification': await sandbox.sign(forged, Math.floor(Date.now() / 1000) - 600),
    });
    expect(stale.status).toBe(401);

    for (const example of [
      'plaid-api-sync-updates-available-example',
      'plaid-api-item-error-example',
      'plaid-api-login-repaired-example',
      'plaid-api-pending-expiration-example',
    ]) {
      expect((await webhook(example, itemA)).status, example).toBe(200);
    }
    expect((await webhook('plaid-api-sync-updates-available-example', itemB)).status).toBe(200);

    // A's four webhooks are A's customer's events; B's waits in the DLQ, attributed to no one
    const events = await decoded(config.TOPIC_REFRESH_EVENTS, 4);
    expect(events.map((e) => [e.customer_id, e.connection_id, e.source_event])).toEqual([
      [customerA, itemA, 'plaid.transactions.sync_updates_available'],
      [customerA, itemA, 'plaid.item.error'],
      [customerA, itemA, 'plaid.item.login_repaired'],
      [customerA, itemA, 'plaid.item.pending_expiration'],
    ]);
    const dead = await broker.readAll(config.TOPIC_REFRESH_DLQ, { readCommitted: true, count: 1 });
    expect(dead.map((d) => headerText(d.headers, HEADER.errorCode))).toEqual([
      'UNREGISTERED_CONNECTION',
    ]);

    // the sync completes A's round at once; the Item webhooks are alerts only
    const alerts = await decoded(config.TOPIC_CUSTOMER_ALERTS, 3);
    expect(
      alerts.map((a) => [a.customer_id, a.connection_id, a.status, a.action_required]),
    ).toEqual([
      [customerA, itemA, 'RAISED', 'RECONNECT'],
      [customerA, itemA, 'CLEARED', 'NONE'],
      [customerA, itemA, 'WARNING', 'RECONNECT_SOON'],
    ]);
    expect(alerts[2]?.expires_at).toEqual(expect.any(Number));

    // registered, then replayed: B's webhook is processed once, as B's customer's
    expect((await register(itemB, customerB)).status).toBe(200);
    const replay = await replayDlq(broker.kafka, {
      dlqTopic: config.TOPIC_REFRESH_DLQ,
      groupId: uniqueName('replay'),
      filter: { codes: ['UNREGISTERED_CONNECTION'] },
    });
    expect(replay.replayed).toBe(1);
    const completed = await decoded(config.TOPIC_CUSTOMER_COMPLETED, 2);
    const rows = completed.map((c) => [c.customer_id, c.close_reason, c.any_new_transactions]);
    expect(rows.sort((a, b) => String(a[0]).localeCompare(String(b[0])))).toEqual([
      [customerA, 'ALL_REPORTED', true],
      [customerB, 'ALL_REPORTED', true],
    ]);
    const signals = await decoded(config.TOPIC_CUSTOMER_NEW_TRANSACTIONS, 2);
    expect(signals.map((s) => s.customer_id).sort()).toEqual([customerA, customerB].sort());
    expect(sandbox.served.keys).toBe(1); // one key fetch, cached after
  }, 180_000);
});
