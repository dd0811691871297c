import { CompactSign, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KeySourceUnavailableError, budJwsVerifier } from '../../../src/ingest/auth/bud-jws.js';
import type { KeyResolver } from '../../../src/ingest/auth/bud-jws.js';
import { authenticatorFromSettings } from '../../../src/ingest/auth/from-settings.js';
import { ipAllowlist } from '../../../src/ingest/auth/ip-allowlist.js';
import { sharedSecret } from '../../../src/ingest/auth/shared-secret.js';
import {
  signStandardWebhook,
  standardWebhooksVerifier,
} from '../../../src/ingest/auth/standard-webhooks.js';
import type { AuthRequest } from '../../../src/ingest/auth/types.js';
import { allOf } from '../../../src/ingest/auth/types.js';
import { buildTestApp } from '../../support/ingest-app.js';
import type { TestApp } from '../../support/ingest-app.js';

const NOW = Date.parse('2026-11-23T10:00:00Z');
const body = Buffer.from('{"data":{"customer_id":"c-1","status":"Completed"}}');
const request = (headers: AuthRequest['headers'], raw = body, now = NOW): AuthRequest => ({
  headers,
  rawBody: raw,
  remoteAddr: '127.0.0.1',
  now,
});

describe('Standard Webhooks HMAC', () => {
  const current = 'whsec_' + Buffer.from('current-secret-0123456789').toString('base64');
  const previous = 'whsec_' + Buffer.from('previous-secret-0123456789').toString('base64');
  const verify = standardWebhooksVerifier([current, previous]);
  const ts = Math.floor(NOW / 1000);
  const headers = (secret: string, opts: { id?: string; ts?: number; raw?: Buffer } = {}) => ({
    'webhook-id': opts.id ?? 'msg_1',
    'webhook-timestamp': String(opts.ts ?? ts),
    'webhook-signature': signStandardWebhook(
      secret,
      opts.id ?? 'msg_1',
      opts.ts ?? ts,
      opts.raw ?? body,
    ),
  });

  it('accepts a body signed with any configured secret (rotation)', async () => {
    expect(await verify(request(headers(current)))).toEqual({
      ok: true,
      method: 'standard-webhooks',
    });
    expect((await verify(request(headers(previous)))).ok).toBe(true);
  });

  it('accepts when one of several offered signatures matches', async () => {
    const h = headers(current);
    const other = signStandardWebhook(
      'whsec_' + Buffer.from('unknown').toString('base64'),
      'msg_1',
      ts,
      body,
    );
    expect(
      (await verify(request({ ...h, 'webhook-signature': `${other} ${h['webhook-signature']}` })))
        .ok,
    ).toBe(true);
  });

  it.each([
    [
      'a tampered body',
      () => request(headers(current), Buffer.from(body.toString().replace('c-1', 'c-2'))),
    ],
    [
      'an unknown secret',
      () => request(headers('whsec_' + Buffer.from('nope').toString('base64'))),
    ],
    ['a timestamp 6 minutes old', () => request(headers(current, { ts: ts - 360 }))],
    ['a timestamp 6 minutes ahead', () => request(headers(current, { ts: ts + 360 }))],
    ['a signed id that differs', () => request({ ...headers(current), 'webhook-id': 'msg_2' })],
    ['a non-numeric timestamp', () => request({ ...headers(current), 'webhook-timestamp': '1e9' })],
    [
      'a repeated signature header',
      () => request({ ...headers(current), 'webhook-signature': ['v1,a', 'v1,b'] }),
    ],
  ])('refuses %s with SIGNATURE_INVALID', async (_what, make) => {
    const result = await verify(make());
    expect(result.ok).toBe(false);
    expect(!result.ok && result.code).toBe('SIGNATURE_INVALID');
  });

  it('says SIGNATURE_MISSING when the headers are absent', async () => {
    const result = await verify(request({}));
    expect(!result.ok && result.code).toBe('SIGNATURE_MISSING');
  });
});

describe('Bud JWS in X-Signature', () => {
  let keys: KeyResolver;
  let privateKey: CryptoKey;
  let otherPrivate: CryptoKey;
  let publicJwk: JWK;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    privateKey = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'bud-2026', alg: 'RS256', use: 'sig' };
    otherPrivate = (await generateKeyPair('RS256')).privateKey;
    keys = createLocalJWKSet({ keys: [publicJwk] });
  });

  const sign = async (key: CryptoKey, raw = body, alg = 'RS256') =>
    new CompactSign(raw).setProtectedHeader({ alg, kid: 'ignored-header-kid' }).sign(key);
  const detached = (jws: string) => {
    const [h, , s] = jws.split('.');
    return `${h}..${s}`;
  };

  it('accepts a detached JWS over the exact body, key chosen by X-Signing-ID', async () => {
    const verify = budJwsVerifier(keys);
    const jws = detached(await sign(privateKey));
    expect(await verify(request({ 'x-signature': jws, 'x-signing-id': 'bud-2026' }))).toEqual({
      ok: true,
      method: 'bud-jws',
      detail: { 'bud-jws': 'exact' },
    });
  });

  it('accepts a JWS with the body attached', async () => {
    const verify = budJwsVerifier(keys);
    expect(
      (await verify(request({ 'x-signature': await sign(privateKey), 'x-signing-id': 'bud-2026' })))
        .ok,
    ).toBe(true);
  });

  it('refuses a body changed after signing', async () => {
    const verify = budJwsVerifier(keys);
    const jws = detached(await sign(privateKey));
    const tampered = Buffer.from(body.toString().replace('Completed', 'Failed'));
    const result = await verify(
      request({ 'x-signature': jws, 'x-signing-id': 'bud-2026' }, tampered),
    );
    expect(!result.ok && result.code).toBe('SIGNATURE_INVALID');
    const attached = await verify(
      request({ 'x-signature': await sign(privateKey), 'x-signing-id': 'bud-2026' }, tampered),
    );
    expect(!attached.ok && attached.code).toBe('SIGNATURE_INVALID');
  });

  it('refuses a signature by a key that is not the named one', async () => {
    const verify = budJwsVerifier(keys);
    const result = await verify(
      request({ 'x-signature': detached(await sign(otherPrivate)), 'x-signing-id': 'bud-2026' }),
    );
    expect(!result.ok && result.code).toBe('SIGNATURE_INVALID');
  });

  it('asks for a retry (never a 401 Bud would not retry) on an X-Signing-ID not in the JWKS yet', async () => {
    const verify = budJwsVerifier(keys);
    await expect(
      verify(
        request({ 'x-signature': detached(await sign(privateKey)), 'x-signing-id': 'nobody' }),
      ),
    ).rejects.toBeInstanceOf(KeySourceUnavailableError);
  });

  it('refuses alg none', async () => {
    const verify = budJwsVerifier(keys);
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const result = await verify(
      request({ 'x-signature': `${header}..`, 'x-signing-id': 'bud-2026' }),
    );
    expect(!result.ok && result.code).toBe('SIGNATURE_INVALID');
  });

  it('refuses an HMAC made with the public key as its secret (algorithm confusion)', async () => {
    const verify = budJwsVerifier(keys);
    const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
    const forged = await new CompactSign(body).setProtectedHeader({ alg: 'HS256' }).sign(secret);
    const result = await verify(
      request({ 'x-signature': detached(forged), 'x-signing-id': 'bud-2026' }),
    );
    expect(!result.ok && result.code).toBe('SIGNATURE_INVALID');
  });

  it('says SIGNATURE_MISSING without X-Signature or X-Signing-ID', async () => {
    const verify = budJwsVerifier(keys);
    const jws = detached(await sign(privateKey));
    expect(await verify(request({ 'x-signing-id': 'bud-2026' }))).toMatchObject({
      ok: false,
      code: 'SIGNATURE_MISSING',
    });
    expect(await verify(request({ 'x-signature': jws }))).toMatchObject({
      ok: false,
      code: 'SIGNATURE_MISSING',
    });
  });

  it('refuses something that is not a compact JWS', async () => {
    const verify = budJwsVerifier(keys);
    expect(
      await verify(request({ 'x-signature': 'abc', 'x-signing-id': 'bud-2026' })),
    ).toMatchObject({
      ok: false,
      code: 'SIGNATURE_INVALID',
    });
  });
});

describe('shared secret and combinations', () => {
  const secretCheck = sharedSecret('x-webhook-secret', 'correct-horse-battery-staple');

  it('accepts the right secret and refuses a wrong or missing one', async () => {
    expect(
      (await secretCheck(request({ 'x-webhook-secret': 'correct-horse-battery-staple' }))).ok,
    ).toBe(true);
    expect(await secretCheck(request({ 'x-webhook-secret': 'correct-horse' }))).toMatchObject({
      code: 'SIGNATURE_INVALID',
    });
    expect(await secretCheck(request({}))).toMatchObject({ code: 'SIGNATURE_MISSING' });
  });

  it('requires every check of a combination', async () => {
    const both = allOf([ipAllowlist(['127.0.0.0/8']), secretCheck]);
    expect(await both(request({ 'x-webhook-secret': 'correct-horse-battery-staple' }))).toEqual({
      ok: true,
      method: 'ip-allowlist+shared-secret',
    });
    expect(
      await both({
        ...request({ 'x-webhook-secret': 'correct-horse-battery-staple' }),
        remoteAddr: '8.8.8.8',
      }),
    ).toMatchObject({
      code: 'SOURCE_NOT_ALLOWED',
    });
  });

  it('lists every missing setting for the chosen checks', () => {
    const result = authenticatorFromSettings('YODLEE', {
      modes: ['ip', 'secret', 'hmac', 'jwks'],
      sharedSecretHeader: 'x-webhook-secret',
    });
    expect(result.authenticator).toBeUndefined();
    expect(result.problems).toEqual([
      'YODLEE_ALLOWED_CIDRS: required when YODLEE_AUTH includes ip',
      'YODLEE_SHARED_SECRET: required when YODLEE_AUTH includes secret',
      'YODLEE_WEBHOOK_SECRETS: required when YODLEE_AUTH includes hmac',
      'YODLEE_JWKS_URL: required when YODLEE_AUTH includes jwks',
    ]);
  });

  it('names the Plaid credentials the plaid check needs, and refuses plain http to Plaid', () => {
    const plaid = { modes: ['plaid' as const], sharedSecretHeader: 'x' };
    expect(
      authenticatorFromSettings('PLAID', plaid, { plaid: { apiUrl: 'https://sandbox.plaid.com' } })
        .problems,
    ).toEqual([
      'PLAID_CLIENT_ID: required when PLAID_AUTH includes plaid',
      'PLAID_SECRET: required when PLAID_AUTH includes plaid',
    ]);
    const overHttp = authenticatorFromSettings('PLAID', plaid, {
      plaid: { apiUrl: 'http://sandbox.plaid.com', clientId: 'c', secret: 's' },
    });
    expect(overHttp.problems).toEqual([expect.stringMatching(/^PLAID_API_URL: .*https/)]);
    const ready = authenticatorFromSettings('PLAID', plaid, {
      plaid: { apiUrl: 'https://sandbox.plaid.com', clientId: 'c', secret: 's' },
    });
    expect(ready.problems).toEqual([]);
    expect(ready.authenticator).toBeTypeOf('function');
  });

  it('refuses a malformed CIDR at start', () => {
    const result = authenticatorFromSettings('YODLEE', {
      modes: ['ip'],
      allowedCidrs: ['10.0.0.0/8', '300.1.1.1/33'],
      sharedSecretHeader: 'x',
    });
    expect(result.problems).toEqual([
      'YODLEE_ALLOWED_CIDRS: not an IP address or CIDR: "300.1.1.1/33"',
    ]);
  });
});

describe('Yodlee IP allowlist through the app, with trusted proxies', () => {
  let current: TestApp | undefined;
  afterEach(async () => {
    await current?.app.close();
    current = undefined;
  });
  const post = async (remoteAddress: string, forwardedFor?: string) => {
    current ??= await buildTestApp({
      auth: { yodlee: ipAllowlist(['203.0.113.0/24', '2001:db8::/32']) },
      settings: { trustedProxies: ['10.0.0.1'] },
    });
    const res = await current.app.inject({
      method: 'POST',
      url: '/webhooks/yodlee',
      remoteAddress,
      headers: {
        'content-type': 'application/json',
        ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
      },
      payload: { event: { loginName: 'u' } },
    });
    return res.statusCode;
  };

  it.each([
    { what: 'an allowed peer', peer: '203.0.113.5', xff: undefined, status: 200 },
    { what: 'an allowed IPv6 peer', peer: '2001:db8::5', xff: undefined, status: 200 },
    {
      what: 'an allowed IPv4-mapped IPv6 peer',
      peer: '::ffff:203.0.113.5',
      xff: undefined,
      status: 200,
    },
    { what: 'a peer outside the list', peer: '198.51.100.1', xff: undefined, status: 403 },
    {
      what: 'X-Forwarded-For from an untrusted peer (ignored)',
      peer: '198.51.100.1',
      xff: '203.0.113.5',
      status: 403,
    },
    {
      what: 'X-Forwarded-For from a trusted proxy',
      peer: '10.0.0.1',
      xff: '203.0.113.5',
      status: 200,
    },
    {
      what: 'a spoofed first hop behind a trusted proxy',
      peer: '10.0.0.1',
      xff: '203.0.113.5, 198.51.100.1',
      status: 403,
    },
  ])('$what → $status', async ({ peer, xff, status }) => {
    expect(await post(peer, xff)).toBe(status);
  });
});
