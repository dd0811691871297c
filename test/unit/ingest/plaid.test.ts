/**
 * Plaid webhook verification (issue 19, item 1): `Plaid-Verification` is an ES256 JWT with `iat`
 * and `request_body_sha256`; its key comes from `/webhook_verification_key/get`, here a local
 * HTTP server that behaves as Plaid's does. Real keys, real signatures, real HTTP.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompactSign, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KeySourceUnavailableError } from '../../../src/ingest/auth/bud-jws.js';
import {
  PLAID_UNKNOWN_KEY_ERROR,
  plaidKeys,
  plaidVerifier,
} from '../../../src/ingest/auth/plaid.js';
import type { PlaidKeys, PlaidKeysOptions } from '../../../src/ingest/auth/plaid.js';
import type { AuthRequest, AuthResult } from '../../../src/ingest/auth/types.js';

const NOW = Date.parse('2026-11-23T10:00:00Z');
const IAT = NOW / 1000;
const CLIENT_ID = 'test-client-id-5f1d';
const SECRET = 'test-secret-never-to-be-seen-9a7c';
/** The key id of the example in Plaid's OpenAPI (`WebhookVerificationKeyGetResponse`). */
const KID = 'bfbd5111-8e33-4643-8ced-b2e642a72f3c';
const ROTATED_KID = '6c5516e1-92dc-479e-a8ff-5a51992e0001';

// bodies: the x-examples of Plaid's OpenAPI (reference/plaid/webhooks.yaml); Plaid sends them
// indented, and the digest is over exactly those bytes
const syncUpdatesAvailable = {
  webhook_type: 'TRANSACTIONS',
  webhook_code: 'SYNC_UPDATES_AVAILABLE',
  item_id: 'wz666MBjYWTp2PDzzggYhM6oWWmBb',
  user_id: 'usr_9nSp2KuZ2x4JDw',
  initial_update_complete: true,
  historical_update_complete: false,
  environment: 'production',
};
const itemError = {
  webhook_type: 'ITEM',
  webhook_code: 'ERROR',
  item_id: 'wz666MBjYWTp2PDzzggYhM6oWWmBb',
  user_id: 'usr_9nSp2KuZ2x4JDw',
  error: {
    display_message: "The user's OAuth connection to this institution has been invalidated.",
    error_code: 'ITEM_LOGIN_REQUIRED',
    error_code_reason: 'OAUTH_INVALID_TOKEN',
    error_message:
      "the login details of this item have changed (credentials, MFA, or required user action) and a user login is required to update this information. use Link's update mode to restore the item to a good state",
    error_type: 'ITEM_ERROR',
    status: 400,
  },
  environment: 'production',
};
const body = Buffer.from(JSON.stringify(syncUpdatesAvailable, null, 2));
const sha256Hex = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

// --- a local Plaid `/webhook_verification_key/get` ---------------------------------------------

interface ServedKey {
  readonly jwk: JWK;
  created_at: number;
  expired_at: number | null;
}

const plaid = {
  keys: new Map<string, ServedKey>(),
  mode: 'ok' as 'ok' | 'error' | 'slow',
  /** The JSON bodies of the requests received, in order. */
  requests: [] as Record<string, unknown>[],
  timers: new Set<NodeJS.Timeout>(),
  fetchesOf: (kid: string) => plaid.requests.filter((r) => r.key_id === kid).length,
};

const plaidError = (errorType: string, errorCode: string, message: string) => ({
  error_type: errorType,
  error_code: errorCode,
  error_message: message,
  display_message: null,
  request_id: 'HNTDNrA8F1shFEW',
});

function answer(res: ServerResponse, status: number, json: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
}

function handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
  if (req.method !== 'POST' || req.url !== '/webhook_verification_key/get') {
    answer(res, 404, plaidError('INVALID_REQUEST', 'UNKNOWN_ROUTE', 'no such route'));
    return;
  }
  const request = JSON.parse(raw) as Record<string, unknown>;
  plaid.requests.push(request);
  if (plaid.mode === 'error') {
    answer(res, 500, plaidError('API_ERROR', 'INTERNAL_SERVER_ERROR', 'an unexpected error'));
    return;
  }
  if (plaid.mode === 'slow') {
    const timer = setTimeout(() => {
      plaid.timers.delete(timer);
      answer(res, 500, plaidError('API_ERROR', 'INTERNAL_SERVER_ERROR', 'too late'));
    }, 2000);
    plaid.timers.add(timer);
    return;
  }
  if (request.client_id !== CLIENT_ID || request.secret !== SECRET) {
    const message = 'invalid client_id or secret provided';
    answer(res, 400, plaidError('INVALID_INPUT', 'INVALID_API_KEYS', message));
    return;
  }
  const served = typeof request.key_id === 'string' ? plaid.keys.get(request.key_id) : undefined;
  if (!served) {
    const message = 'invalid key_id provided';
    answer(res, 400, plaidError('INVALID_INPUT', PLAID_UNKNOWN_KEY_ERROR, message));
    return;
  }
  const { jwk, created_at, expired_at } = served;
  const key = { alg: 'ES256', created_at, crv: jwk.crv, expired_at, kid: request.key_id };
  answer(res, 200, {
    key: { ...key, kty: jwk.kty, use: 'sig', x: jwk.x, y: jwk.y },
    request_id: 'RZ6Omi1bzzwDaLo',
  });
}

let server: Server;
let apiUrl: string;
let plaidKey: CryptoKey;
let plaidPublicKey: CryptoKey;
let plaidJwk: JWK;
let rotatedKey: CryptoKey;
let rotatedJwk: JWK;
let impostorKey: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  plaidKey = pair.privateKey;
  plaidPublicKey = pair.publicKey;
  plaidJwk = await exportJWK(pair.publicKey);
  const rotated = await generateKeyPair('ES256');
  rotatedKey = rotated.privateKey;
  rotatedJwk = await exportJWK(rotated.publicKey);
  impostorKey = (await generateKeyPair('ES256')).privateKey;
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const timer of plaid.timers) clearTimeout(timer);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

let keys: PlaidKeys;

const keysFor = (options: Partial<PlaidKeysOptions> = {}) =>
  plaidKeys({ apiUrl, clientId: CLIENT_ID, secret: SECRET, ...options });

beforeEach(() => {
  plaid.keys.clear();
  plaid.keys.set(KID, { jwk: plaidJwk, created_at: 1560466150, expired_at: null });
  plaid.mode = 'ok';
  plaid.requests = [];
  keys = keysFor();
});

// --- signing and verifying ---------------------------------------------------------------------

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

interface SignOptions {
  readonly raw?: Buffer;
  /** `null` leaves the claim out. */
  readonly iat?: unknown;
  readonly digest?: unknown;
  readonly kid?: string | null;
  readonly alg?: string;
  readonly key?: CryptoKey | Uint8Array;
}

/** A Plaid-Verification JWT as Plaid makes one: `{alg, kid, typ}` over `{iat, request_body_sha256}`. */
function sign(opts: SignOptions = {}): Promise<string> {
  const claims: Record<string, unknown> = {};
  if (opts.iat !== null) claims.iat = opts.iat ?? IAT;
  if (opts.digest !== null) claims.request_body_sha256 = opts.digest ?? sha256Hex(opts.raw ?? body);
  const header = {
    alg: opts.alg ?? 'ES256',
    typ: 'JWT',
    ...(opts.kid === null ? {} : { kid: opts.kid ?? KID }),
  };
  return new CompactSign(Buffer.from(JSON.stringify(claims)))
    .setProtectedHeader(header)
    .sign(opts.key ?? plaidKey);
}

function verify(
  header: string | string[] | undefined,
  opts: { raw?: Buffer; now?: number; using?: PlaidKeys } = {},
): Promise<AuthResult> {
  const request: AuthRequest = {
    headers: header === undefined ? {} : { 'plaid-verification': header },
    rawBody: opts.raw ?? body,
    remoteAddr: '127.0.0.1',
    now: opts.now ?? NOW,
  };
  return plaidVerifier(opts.using ?? keys)(request);
}

const accepted: AuthResult = { ok: true, method: 'plaid-jwt' };
const refused = (reason: RegExp) => ({
  ok: false,
  code: 'SIGNATURE_INVALID',
  message: expect.stringMatching(reason) as unknown,
});

/** Every name, message and stack along an error's cause chain: where a secret could leak. */
function errorText(err: unknown): string {
  const parts: string[] = [];
  for (let e = err; e instanceof Error; e = e.cause) parts.push(e.name, e.message, e.stack ?? '');
  return parts.join('\n');
}

async function unavailable(result: Promise<AuthResult>): Promise<KeySourceUnavailableError> {
  const err = await result.then(
    (value) => new Error(`expected a KeySourceUnavailableError, got ${JSON.stringify(value)}`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KeySourceUnavailableError);
  expect(errorText(err)).not.toContain(SECRET);
  expect(errorText(err)).not.toContain(CLIENT_ID);
  return err as KeySourceUnavailableError;
}

// --- tests -------------------------------------------------------------------------------------

describe('plaidVerifier: a genuine webhook', () => {
  it('accepts it, fetching the key with the client credentials', async () => {
    expect(await verify(await sign())).toEqual(accepted);
    expect(plaid.requests).toEqual([{ client_id: CLIENT_ID, secret: SECRET, key_id: KID }]);
  });

  it('keeps the key: a second webhook fetches nothing', async () => {
    expect(await verify(await sign())).toEqual(accepted);
    const raw = Buffer.from(JSON.stringify(itemError));
    expect(await verify(await sign({ raw }), { raw, now: NOW + 60_000 })).toEqual(accepted);
    expect(plaid.requests).toHaveLength(1);
  });

  it('verifies UTF-8 bodies over their exact bytes', async () => {
    const text = JSON.stringify({
      ...itemError,
      error: {
        ...itemError.error,
        display_message: 'Connexion à la Société Générale — réessayez ✓ 日本',
      },
    });
    const raw = Buffer.from(text, 'utf8');
    const token = await sign({ raw });
    expect(await verify(token, { raw })).toEqual(accepted);
    // the same text, other bytes: decomposed accents, or the bytes read as Latin-1 and re-encoded
    const nfd = Buffer.from(text.normalize('NFD'), 'utf8');
    expect(nfd.equals(raw)).toBe(false);
    expect(await verify(token, { raw: nfd })).toEqual(refused(/does not match this body/));
    const mangled = Buffer.from(raw.toString('latin1'), 'utf8');
    expect(await verify(token, { raw: mangled })).toEqual(refused(/does not match this body/));
  });

  it('judges iat and expired_at by request.now, not the wall clock', async () => {
    const then = Date.parse('2021-03-01T12:00:00Z');
    plaid.keys.set(KID, { jwk: plaidJwk, created_at: 1560466150, expired_at: then / 1000 + 60 });
    expect(await verify(await sign({ iat: then / 1000 }), { now: then })).toEqual(accepted);
  });

  it('accepts an upper-case hex digest (the same digest)', async () => {
    const token = await sign({ digest: sha256Hex(body).toUpperCase() });
    expect(await verify(token)).toEqual(accepted);
  });
});

describe('plaidVerifier: the header', () => {
  it('is required', async () => {
    const missing = {
      ok: false,
      code: 'SIGNATURE_MISSING',
      message: expect.any(String) as unknown,
    };
    expect(await verify(undefined)).toEqual(missing);
    expect(await verify('')).toEqual(missing);
  });

  it('must not repeat', async () => {
    const token = await sign();
    expect(await verify([token, token])).toEqual(refused(/must not repeat/));
    expect(plaid.requests).toHaveLength(0);
  });

  it.each([
    ['a word', 'not-a-jwt'],
    ['two segments', 'eyJhbGciOiJFUzI1NiJ9.e30'],
    ['four segments', 'a.b.c.d'],
    ['a header that is not JSON', `${Buffer.from('{alg').toString('base64url')}.e30.c2ln`],
    ['a header that is not an object', `${b64url(['ES256'])}.e30.c2ln`],
    ['characters outside base64url', 'eyJhbGciOiJFUzI1NiJ9.e3+0.c2ln'],
    [
      'the JWS JSON serialization',
      JSON.stringify({ protected: 'e30', payload: 'e30', signature: 'c2ln' }),
    ],
  ])('must be a compact JWS, not %s', async (_, header) => {
    expect(await verify(header)).toEqual(refused(/not a compact JWS/));
    expect(plaid.requests).toHaveLength(0);
  });
});

describe('plaidVerifier: the algorithm is ES256, checked before any key lookup', () => {
  const claims = () => ({ iat: IAT, request_body_sha256: sha256Hex(body) });

  it('refuses alg none', async () => {
    const token = `${b64url({ alg: 'none', kid: KID, typ: 'JWT' })}.${b64url(claims())}.`;
    expect(await verify(token)).toEqual(refused(/algorithm "none" not allowed/));
    expect(plaid.requests).toHaveLength(0);
  });

  it('refuses HS256 keyed with the public key (SPKI PEM or JWK bytes)', async () => {
    for (const secret of [
      Buffer.from(await exportSPKI(plaidPublicKey)),
      Buffer.from(JSON.stringify(plaidJwk)),
    ]) {
      const token = await sign({ alg: 'HS256', key: secret });
      expect(await verify(token)).toEqual(refused(/algorithm "HS256" not allowed/));
    }
    expect(plaid.requests).toHaveLength(0);
  });

  it.each(['RS256', 'PS256', 'ES384', 'ES512', 'EdDSA'])('refuses %s', async (alg) => {
    const { privateKey } = await generateKeyPair(alg);
    const token = await sign({ alg, key: privateKey });
    expect(await verify(token)).toEqual(refused(new RegExp(`algorithm "${alg}" not allowed`)));
    expect(plaid.requests).toHaveLength(0);
  });

  it('refuses a header without alg', async () => {
    const token = `${b64url({ kid: KID })}.${b64url(claims())}.c2ln`;
    expect(await verify(token)).toEqual(refused(/algorithm null not allowed/));
  });
});

describe('plaidVerifier: the key', () => {
  it('refuses a token without kid, fetching nothing', async () => {
    expect(await verify(await sign({ kid: null }))).toEqual(refused(/no kid/));
    expect(await verify(await sign({ kid: '' }))).toEqual(refused(/no kid/));
    expect(plaid.requests).toHaveLength(0);
  });

  it('refuses a signature by another key under the same kid', async () => {
    expect(await verify(await sign({ key: impostorKey }))).toEqual(
      refused(/signature does not verify/),
    );
  });

  it('refuses a kid Plaid does not know (401), asking Plaid once per cooldown', async () => {
    const token = await sign({ kid: 'made-up-kid', key: impostorKey });
    expect(await verify(token)).toEqual(refused(/key id "made-up-kid" unknown to Plaid/));
    expect(await verify(token, { now: NOW + 29_000 })).toEqual(refused(/unknown to Plaid/));
    expect(plaid.fetchesOf('made-up-kid')).toBe(1);
    // after the cooldown Plaid is asked again
    expect(await verify(token, { now: NOW + 30_000 })).toEqual(refused(/unknown to Plaid/));
    expect(plaid.fetchesOf('made-up-kid')).toBe(2);
  });

  it('fetches a rotated-in kid it has not seen', async () => {
    expect(await verify(await sign())).toEqual(accepted);
    plaid.keys.set(ROTATED_KID, { jwk: rotatedJwk, created_at: IAT - 10, expired_at: null });
    const token = await sign({ kid: ROTATED_KID, key: rotatedKey });
    expect(await verify(token, { now: NOW + 1000 })).toEqual(accepted);
    expect(plaid.requests.map((r) => r.key_id)).toEqual([KID, ROTATED_KID]);
  });

  it('refuses a key Plaid has expired', async () => {
    plaid.keys.set(KID, { jwk: plaidJwk, created_at: 1560466150, expired_at: IAT - 1 });
    expect(await verify(await sign())).toEqual(refused(new RegExp(`key "${KID}" expired`)));
  });

  it('re-checks expired_at of a cached key on each use', async () => {
    plaid.keys.set(KID, { jwk: plaidJwk, created_at: 1560466150, expired_at: IAT + 120 });
    expect(await verify(await sign())).toEqual(accepted);
    const later = NOW + 120_000;
    expect(await verify(await sign({ iat: later / 1000 }), { now: later })).toEqual(
      refused(/expired/),
    );
    expect(plaid.requests).toHaveLength(1);
  });

  it('refetches a cached key after cacheMaxAgeMs and so sees it expired', async () => {
    keys = keysFor({ cacheMaxAgeMs: 600_000 });
    expect(await verify(await sign())).toEqual(accepted);
    plaid.keys.set(KID, { jwk: plaidJwk, created_at: 1560466150, expired_at: IAT + 60 });
    const at = (ms: number) =>
      sign({ iat: (NOW + ms) / 1000 }).then((t) => verify(t, { now: NOW + ms }));
    expect(await at(599_000)).toEqual(accepted); // cached, not yet refetched
    expect(plaid.requests).toHaveLength(1);
    expect(await at(600_000)).toEqual(refused(/expired/));
    expect(plaid.requests).toHaveLength(2);
  });

  it('does not use a stale key it could not refetch (503), nor refetch within the cooldown', async () => {
    keys = keysFor({ cacheMaxAgeMs: 60_000, cooldownMs: 30_000 });
    expect(await verify(await sign())).toEqual(accepted);
    plaid.mode = 'error';
    const at = (ms: number) =>
      sign({ iat: (NOW + ms) / 1000 }).then((t) => verify(t, { now: NOW + ms }));
    await unavailable(at(60_000));
    await unavailable(at(70_000));
    expect(plaid.requests).toHaveLength(2);
    plaid.mode = 'ok';
    expect(await at(90_000)).toEqual(accepted);
    expect(plaid.requests).toHaveLength(3);
  });
});

describe('plaidVerifier: the claims', () => {
  it.each([
    ['exactly 5 minutes old', IAT - 300],
    ['5 minutes ahead (clock skew)', IAT + 300],
    ['a fraction of a second', IAT - 0.5],
  ])('accepts iat %s', async (_, iat) => {
    expect(await verify(await sign({ iat }))).toEqual(accepted);
  });

  it('refuses iat older than 5 minutes', async () => {
    expect(await verify(await sign({ iat: IAT - 301 }))).toEqual(refused(/too old/));
  });

  it('refuses iat more than 5 minutes in the future', async () => {
    expect(await verify(await sign({ iat: IAT + 301 }))).toEqual(refused(/in the future/));
  });

  it.each([
    ['missing', null],
    ['a string', String(IAT)],
    ['an ISO date', new Date(NOW).toISOString()],
  ])('refuses iat %s', async (_, iat) => {
    expect(await verify(await sign({ iat }))).toEqual(refused(/iat is missing or not a number/));
  });

  it('refuses a body changed by one byte', async () => {
    const token = await sign();
    const changed = Buffer.from(body);
    const at = changed.length - 2;
    changed.writeUInt8(changed.readUInt8(at) ^ 1, at);
    expect(await verify(token, { raw: changed })).toEqual(
      refused(/request_body_sha256 does not match this body/),
    );
  });

  it.each([
    ['missing', null, /request_body_sha256 is missing/],
    ['a number', 42, /request_body_sha256 is missing/],
    ['the digest of another body', sha256Hex(Buffer.from('{}')), /does not match/],
    [
      'base64 rather than hex',
      createHash('sha256').update(body).digest('base64'),
      /does not match/,
    ],
    ['empty', '', /does not match/],
  ])('refuses request_body_sha256 %s', async (_, digest, reason) => {
    expect(await verify(await sign({ digest }))).toEqual(refused(reason));
  });

  it('never puts the body in a message', async () => {
    const raw = Buffer.from(JSON.stringify({ ...itemError, item_id: 'secret-item-id-77' }));
    const result = await verify(await sign(), { raw });
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('secret-item-id-77');
  });
});

describe('plaidKeys: when the key cannot be had (503, Plaid retries)', () => {
  it('throws when the key server refuses connections', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const using = keysFor({ apiUrl: `http://127.0.0.1:${port}` });
    const err = await unavailable(verify(await sign(), { using }));
    expect(errorText(err)).toMatch(/request failed/);
  });

  it('throws on a 500, and does not ask again within the cooldown', async () => {
    plaid.mode = 'error';
    const err = await unavailable(verify(await sign()));
    expect(errorText(err)).toMatch(/HTTP 500 API_ERROR INTERNAL_SERVER_ERROR/);
    await unavailable(verify(await sign(), { now: NOW + 29_000 }));
    expect(plaid.requests).toHaveLength(1);
    plaid.mode = 'ok';
    const later = NOW + 30_000;
    expect(await verify(await sign({ iat: later / 1000 }), { now: later })).toEqual(accepted);
    expect(plaid.requests).toHaveLength(2);
  });

  it('throws when the key server is too slow', async () => {
    plaid.mode = 'slow';
    const started = performance.now();
    const err = await unavailable(verify(await sign(), { using: keysFor({ timeoutMs: 150 }) }));
    expect(performance.now() - started).toBeLessThan(1500);
    expect(errorText(err)).toMatch(/timed out/);
  });

  it('throws when Plaid refuses our credentials (a misconfiguration, not a forgery)', async () => {
    const using = keysFor({ secret: 'wrong-secret-also-never-shown' });
    const err = await unavailable(verify(await sign(), { using }));
    expect(errorText(err)).toMatch(/HTTP 400 INVALID_INPUT INVALID_API_KEYS/);
    expect(errorText(err)).not.toContain('wrong-secret-also-never-shown');
  });

  it.each([
    ['another kid', { kid: 'other' }, /a key with another id/],
    ['an RSA key', { kty: 'RSA' }, /not an ES256 \(P-256\) signing key/],
    ['another curve', { crv: 'P-384' }, /not an ES256 \(P-256\) signing key/],
    ['another algorithm', { alg: 'ES384' }, /not an ES256 \(P-256\) signing key/],
    ['an encryption key', { use: 'enc' }, /not an ES256 \(P-256\) signing key/],
    ['no created_at', { created_at: undefined }, /no created_at/],
    ['a bad expired_at', { expired_at: '2026-01-01' }, /invalid expired_at/],
    ['a point off the curve', { x: Buffer.alloc(32, 1).toString('base64url') }, /not be imported/],
  ])('throws when Plaid answers %s', async (_, change, reason) => {
    const fetch: typeof globalThis.fetch = () =>
      Promise.resolve(
        Response.json({
          key: {
            ...plaidJwk,
            alg: 'ES256',
            kid: KID,
            use: 'sig',
            created_at: 1,
            expired_at: null,
            ...change,
          },
          request_id: 'r',
        }),
      );
    const err = await unavailable(verify(await sign(), { using: keysFor({ fetch }) }));
    expect(errorText(err)).toMatch(reason);
  });

  it('throws on an answer that is not JSON', async () => {
    const fetch: typeof globalThis.fetch = () =>
      Promise.resolve(new Response('<html>bad gateway</html>', { status: 502 }));
    const err = await unavailable(verify(await sign(), { using: keysFor({ fetch }) }));
    expect(errorText(err)).toMatch(/HTTP 502, the answer is not JSON/);
  });
});

describe('plaidKeys: bounds on fetching', () => {
  it('shares one fetch between concurrent requests for a kid', async () => {
    const token = await sign();
    const results = await Promise.all([verify(token), verify(token), verify(token)]);
    expect(results).toEqual([accepted, accepted, accepted]);
    expect(plaid.requests).toHaveLength(1);
  });

  it('fetches at most maxFetchesPerCooldown made-up kids per cooldown', async () => {
    keys = keysFor({ maxFetchesPerCooldown: 3, cooldownMs: 30_000 });
    expect(await verify(await sign())).toEqual(accepted);
    for (const kid of ['x1', 'x2']) {
      expect(await verify(await sign({ kid }))).toEqual(refused(/unknown to Plaid/));
    }
    await unavailable(verify(await sign({ kid: 'x3' }), { now: NOW + 1000 }));
    expect(plaid.requests).toHaveLength(3);
    // a cached key is unaffected
    expect(await verify(await sign(), { now: NOW + 1000 })).toEqual(accepted);
    const later = NOW + 30_000;
    expect(await verify(await sign({ kid: 'x3', iat: later / 1000 }), { now: later })).toEqual(
      refused(/unknown to Plaid/),
    );
    expect(plaid.requests).toHaveLength(4);
  });

  it('posts to the endpoint under apiUrl, keeping a path prefix, and follows no redirect', async () => {
    const seen: { url: string; init: RequestInit | undefined }[] = [];
    const fetch: typeof globalThis.fetch = (url, init) => {
      seen.push({ url: url instanceof Request ? url.url : url.toString(), init });
      return Promise.resolve(
        Response.json({
          key: { ...plaidJwk, alg: 'ES256', kid: KID, use: 'sig', created_at: 1, expired_at: null },
          request_id: 'r',
        }),
      );
    };
    const using = keysFor({ apiUrl: 'https://proxy.example/plaid/', fetch });
    expect(await verify(await sign(), { using })).toEqual(accepted);
    expect(seen.map((s) => s.url)).toEqual([
      'https://proxy.example/plaid/webhook_verification_key/get',
    ]);
    expect(seen[0]?.init?.method).toBe('POST');
    expect(seen[0]?.init?.redirect).toBe('error');
  });

  it('refuses bad options without echoing the credentials', () => {
    expect(() => keysFor({ apiUrl: 'production.plaid.com' })).toThrow(RangeError);
    expect(() => keysFor({ apiUrl: 'ftp://production.plaid.com' })).toThrow(RangeError);
    // the secret goes with every key request: plain http only to a loopback stand-in
    expect(() => keysFor({ apiUrl: 'http://production.plaid.com' })).toThrow(/https/);
    expect(() => keysFor({ apiUrl: 'http://127.0.0.1:8999' })).not.toThrow();
    expect(() => keysFor({ secret: '' })).toThrow(/secret is required/);
    expect(() => keysFor({ clientId: '' })).toThrow(/clientId is required/);
    expect(() => keysFor({ cooldownMs: 0 })).toThrow(RangeError);
    expect(() => keysFor({ timeoutMs: Number.NaN })).toThrow(RangeError);
  });
});
