/**
 * `PUT`/`DELETE /connections/{source}/{connection_id}` (issue 19): a registration stored as the
 * connections topic's record, a deletion as its tombstone — and bodies bound to the path's
 * connection, so a signed request cannot be replayed against another Item nor turned into a
 * deletion (signatures cover the body, not the path).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  signStandardWebhook,
  standardWebhooksVerifier,
} from '../../../src/ingest/auth/standard-webhooks.js';
import { buildTestApp } from '../../support/ingest-app.js';
import type { TestApp } from '../../support/ingest-app.js';

const SECRET = 'whsec_' + Buffer.from('connections-unit-secret').toString('base64');
const NOW = Date.parse('2026-11-23T10:00:00.000Z');

let current: TestApp | undefined;
afterEach(async () => {
  await current?.app.close();
  current = undefined;
});

async function app() {
  current = await buildTestApp({
    auth: { connections: standardWebhooksVerifier([SECRET]) },
    now: NOW,
  });
  return current;
}

/** A request signed as a client signs it (Standard Webhooks over the body). */
function signed(method: 'PUT' | 'DELETE', url: string, body: unknown, id = 'msg-1') {
  const payload = JSON.stringify(body);
  const at = Math.floor(NOW / 1000);
  return {
    method,
    url,
    payload,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(at),
      'webhook-signature': signStandardWebhook(SECRET, id, at, Buffer.from(payload)),
    },
  };
}

const ITEM = 'eVBnVMp7zdTJLkRNr33Rs6zr7KNJqBFL9DrE6';

describe('PUT /connections/plaid/{item_id}', () => {
  it('stores the registration keyed plaid:<item_id> and answers 200 once stored', async () => {
    const { app: a, published } = await app();
    const res = await a.inject(
      signed('PUT', `/connections/plaid/${ITEM}`, { connection_id: ITEM, customer_id: 'cust-1' }),
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ status: 'registered', id: expect.any(String) as string });
    expect(published).toHaveLength(1);
    expect(published[0]?.topic).toBe('connections');
    expect(published[0]?.key).toBe(`plaid:${ITEM}`);
    expect(JSON.parse(published[0]?.value.toString() ?? 'null')).toMatchObject({
      source: 'plaid',
      connection_id: ITEM,
      customer_id: 'cust-1',
      registered_at: NOW,
    });
  });

  it('refuses a body naming another connection: a signed registration cannot be replayed against another Item', async () => {
    const { app: a, published } = await app();
    const res = await a.inject(
      signed('PUT', '/connections/plaid/other-item', {
        connection_id: ITEM,
        customer_id: 'cust-1',
      }),
    );
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: { code: string; message: string } }>().error).toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringContaining('connection_id') as string,
    });
    expect(published).toEqual([]);
  });

  it.each([
    ['no customer_id', { connection_id: ITEM }],
    ['an empty customer_id', { connection_id: ITEM, customer_id: '' }],
    ['a customer_id over 256 characters', { connection_id: ITEM, customer_id: 'c'.repeat(257) }],
    ['an unknown field', { connection_id: ITEM, customer_id: 'c', extra: 1 }],
    ['an array', [ITEM]],
  ])('answers 400 for %s, storing nothing', async (_what, body) => {
    const { app: a, published } = await app();
    const res = await a.inject(signed('PUT', `/connections/plaid/${ITEM}`, body));
    expect(res.statusCode).toBe(400);
    expect(published).toEqual([]);
  });

  it('answers 404 for a source whose connections are not registered, 401 unsigned', async () => {
    const { app: a } = await app();
    const bud = await a.inject(
      signed('PUT', '/connections/bud/x', { connection_id: 'x', customer_id: 'cust-1' }),
    );
    expect(bud.statusCode).toBe(404);
    const unsigned = await a.inject({
      method: 'PUT',
      url: `/connections/plaid/${ITEM}`,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ connection_id: ITEM, customer_id: 'cust-1' }),
    });
    expect(unsigned.statusCode).toBe(401);
  });
});

describe('DELETE /connections/plaid/{item_id}', () => {
  it('writes the tombstone of the registration', async () => {
    const { app: a, removed, published } = await app();
    const res = await a.inject(
      signed('DELETE', `/connections/plaid/${ITEM}`, { connection_id: ITEM }),
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ status: 'deleted', id: expect.any(String) as string });
    expect(removed.map((t) => [t.topic, t.key, t.value])).toEqual([
      ['connections', `plaid:${ITEM}`, null],
    ]);
    expect(published).toEqual([]);
  });

  it('refuses a registration replayed as a deletion, and another Item’s deletion', async () => {
    const { app: a, removed } = await app();
    const replayed = await a.inject(
      signed('DELETE', `/connections/plaid/${ITEM}`, {
        connection_id: ITEM,
        customer_id: 'cust-1',
      }),
    );
    expect(replayed.statusCode).toBe(400);
    const other = await a.inject(
      signed('DELETE', '/connections/plaid/other', { connection_id: ITEM }),
    );
    expect(other.statusCode).toBe(400);
    expect(removed).toEqual([]);
  });
});
