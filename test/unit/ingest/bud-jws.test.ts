/**
 * What Bud's `X-Signature` may have signed (issue 15, item 8): the body's exact bytes, the same
 * JSON, or claims stating the body's SHA-256. Bud never retries a 4xx, so a genuine event refused
 * is lost; anything that does not bind this body is still refused.
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { CompactSign, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { BODY_DIGEST_CLAIMS, budJwsVerifier } from '../../../src/ingest/auth/bud-jws.js';
import type { BudJwsVerifyOptions, KeyResolver } from '../../../src/ingest/auth/bud-jws.js';
import { ipAllowlist } from '../../../src/ingest/auth/ip-allowlist.js';
import { jsonEqual, parseStrictJson } from '../../../src/ingest/auth/strict-json.js';
import type { JsonValue } from '../../../src/ingest/auth/strict-json.js';
import type { AuthRequest, AuthResult } from '../../../src/ingest/auth/types.js';
import { allOf } from '../../../src/ingest/auth/types.js';
import { buildTestApp } from '../../support/ingest-app.js';

const NOW = Date.parse('2026-11-23T10:00:00Z');
const TS = NOW / 1000;
/** A V2 completion as Bud's API reference shows it (bud-api/webhooks.yaml), compact. */
const body = Buffer.from(
  JSON.stringify({
    event: 'open_banking.v2.refresh.completed',
    customer_id: 'c-1',
    task_id: 't-1',
    status: 'Completed',
    result: 'success',
    has_new_transactions: true,
    sub_tasks: [{ task_id: 's-1', provider: 'Bank_Of_Bud', status: 'Completed', retries: 0 }],
  }),
);
const sha256 = createHash('sha256').update(body).digest();

let keys: KeyResolver;
let budKey: CryptoKey;
let otherKey: CryptoKey;
let publicJwk: JWK;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  budKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'bud-es', alg: 'ES256', use: 'sig' };
  otherKey = (await generateKeyPair('ES256')).privateKey;
  const rsa = await generateKeyPair('RS256', { extractable: true });
  keys = createLocalJWKSet({
    keys: [publicJwk, { ...(await exportJWK(rsa.publicKey)), kid: 'bud-rs', alg: 'RS256' }],
  });
});

const sign = (
  payload: string | Buffer | Record<string, unknown>,
  opts: { key?: CryptoKey | Uint8Array; alg?: string } = {},
) =>
  new CompactSign(
    Buffer.isBuffer(payload)
      ? payload
      : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
  )
    .setProtectedHeader({ alg: opts.alg ?? 'ES256' })
    .sign(opts.key ?? budKey);

const detach = (jws: string) => jws.replace(/\.[^.]*\./, '..');

const verify = (
  signature: string,
  opts: { raw?: Buffer; now?: number; signingId?: string; options?: BudJwsVerifyOptions } = {},
): Promise<AuthResult> => {
  const request: AuthRequest = {
    headers: { 'x-signature': signature, 'x-signing-id': opts.signingId ?? 'bud-es' },
    rawBody: opts.raw ?? body,
    remoteAddr: '127.0.0.1',
    now: opts.now ?? NOW,
  };
  return budJwsVerifier(keys, opts.options)(request);
};

const accepted = (path: string) => ({ ok: true, method: 'bud-jws', detail: { 'bud-jws': path } });
const refused = (message: string | RegExp) => ({
  ok: false,
  code: 'SIGNATURE_INVALID',
  message: typeof message === 'string' ? message : (expect.stringMatching(message) as unknown),
});
const NOT_COVERED = /^X-Signature does not cover this body$/;

describe('a payload that is the body', () => {
  it('accepts a detached JWS, whose payload is the raw body bytes, as the exact path', async () => {
    expect(await verify(detach(await sign(body)))).toEqual(accepted('exact'));
  });

  it('accepts an attached JWS carrying the exact body bytes as the exact path', async () => {
    expect(await verify(await sign(body))).toEqual(accepted('exact'));
  });

  it('accepts an attached payload that is the same JSON reformatted: keys reordered, whitespace added, strings escaped and numbers spelled differently', async () => {
    const reformatted = `{
      "sub_tasks": [ { "retries": 0.0e5, "status": "Completed", "provider": "Bank_Of_Bud", "task_id": "s-1" } ],
      "has_new_transactions": true, "result": "succ\\u0065ss", "status": "Completed",
      "task_id": "t-1", "customer_id": "c-1", "event": "open_banking.v2.refresh.completed"
    }`;
    expect(await verify(await sign(reformatted))).toEqual(accepted('json'));
    // and the other way round: Bud signed the compact form, the body arrives pretty-printed
    const pretty = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 2));
    expect(await verify(await sign(body), { raw: pretty })).toEqual(accepted('json'));
  });

  it('refuses a payload whose JSON differs from the body in one value, a missing key or the order of an array', async () => {
    const value = JSON.parse(body.toString()) as Record<string, unknown>;
    for (const other of [
      { ...value, status: 'Failed' },
      { ...value, has_new_transactions: 'true' },
      { ...value, retries: 1 },
      Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'result')),
      { ...value, sub_tasks: [...(value.sub_tasks as unknown[]), {}] },
    ]) {
      expect(await verify(await sign(other))).toEqual(refused(NOT_COVERED));
    }
    const list = Buffer.from('[1,2]');
    expect(await verify(await sign('[2,1]'), { raw: list })).toEqual(refused(NOT_COVERED));
  });

  it('refuses a body that repeats a key, even when its last copy (what JSON.parse keeps) matches the signed payload', async () => {
    const signed = await sign({ customer_id: 'c-1', status: 'Completed' });
    const smuggled = Buffer.from('{"customer_id":"c-2","customer_id":"c-1","status":"Completed"}');
    expect(await verify(signed, { raw: smuggled })).toEqual(refused(NOT_COVERED));
  });

  it('compares a "__proto__" key as an ordinary key', async () => {
    const signed = await sign('{"__proto__":{"admin":false},"customer_id":"c-1"}');
    const same = Buffer.from('{"customer_id":"c-1","__proto__":{"admin":false}}');
    const changed = Buffer.from('{"customer_id":"c-1","__proto__":{"admin":true}}');
    const dropped = Buffer.from('{"customer_id":"c-1"}');
    expect(await verify(signed, { raw: same })).toEqual(accepted('json'));
    expect(await verify(signed, { raw: changed })).toEqual(refused(NOT_COVERED));
    expect(await verify(signed, { raw: dropped })).toEqual(refused(NOT_COVERED));
  });

  it('refuses numbers that differ only past what a double holds', async () => {
    const signed = await sign('{"id":12345678901234567890}');
    const raw = Buffer.from('{"id":12345678901234567891}');
    expect(await verify(signed, { raw })).toEqual(refused(NOT_COVERED));
  });

  it('refuses a body that is not JSON against a payload that is not the same bytes', async () => {
    const signed = await sign('{"customer_id":"c-1"}');
    expect(await verify(signed, { raw: Buffer.from('{"customer_id":"c-1"') })).toEqual(
      refused(NOT_COVERED),
    );
    expect(await verify(await sign('not json'), { raw: Buffer.from('not json ') })).toEqual(
      refused(NOT_COVERED),
    );
  });
});

describe('comparing JSON', () => {
  const parse = (text: string): JsonValue => {
    const parsed = parseStrictJson(text);
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.value;
  };

  it('agrees with a deep comparison of what JSON.parse reads, for any two values without repeated keys', () => {
    const texts = fc.jsonValue().map((value) => JSON.stringify(value));
    fc.assert(
      fc.property(texts, texts, fc.boolean(), (a, b, same) => {
        const other = same ? JSON.stringify(JSON.parse(a), null, 2) : b;
        const expected = isDeepStrictEqual(JSON.parse(a), JSON.parse(other));
        expect(jsonEqual(parse(a), parse(other))).toBe(expected);
      }),
      { seed: 20261123, numRuns: 500 },
    );
  });

  it('refuses what JSON.parse refuses, repeated keys at any depth and nesting past 256 levels', () => {
    for (const text of ['', '{', '{"a":1,}', "{'a':1}", '[1] [2]', 'NaN', '01', '"\\x"']) {
      expect(parseStrictJson(text)).toEqual({ ok: false, reason: 'invalid' });
    }
    expect(parseStrictJson('{"a":[{"b":1,"b":1}]}')).toEqual({
      ok: false,
      reason: 'duplicate-key',
    });
    expect(parseStrictJson('{"\\u0061":1,"a":2}')).toEqual({ ok: false, reason: 'duplicate-key' });
    expect(parseStrictJson('['.repeat(300) + ']'.repeat(300))).toEqual({
      ok: false,
      reason: 'too-deep',
    });
  });

  it('compares numbers by exact decimal value', () => {
    expect(jsonEqual(parse('[1, -0, 1e400, 0.5]'), parse('[1.000, 0, 10e399, 5E-1]'))).toBe(true);
    expect(jsonEqual(parse('1e400'), parse('2e400'))).toBe(false);
    expect(jsonEqual(parse('9007199254740993'), parse('9007199254740992'))).toBe(false);
    expect(jsonEqual(parse('1'), parse('"1"'))).toBe(false);
  });
});

describe('a claims payload stating the body digest', () => {
  const forms = {
    'lower-case hex': sha256.toString('hex'),
    'upper-case hex': sha256.toString('hex').toUpperCase(),
    base64url: sha256.toString('base64url'),
    'padded base64': sha256.toString('base64'),
    'an RFC 3230 "SHA-256=" prefix': `SHA-256=${sha256.toString('base64')}`,
    'a "sha256=" prefix': `sha256=${sha256.toString('hex')}`,
  };

  it.each(Object.entries(forms))('accepts the digest as %s', async (_form, digest) => {
    expect(await verify(await sign({ iat: TS, body_sha256: digest }))).toEqual(accepted('digest'));
  });

  it.each(BODY_DIGEST_CLAIMS)('accepts the digest under the claim name %s', async (name) => {
    const signed = await sign({ iss: 'bud', [name]: sha256.toString('base64url') });
    expect(await verify(signed)).toEqual(accepted('digest'));
  });

  it('refuses a digest of another body', async () => {
    const other = createHash('sha256').update(Buffer.concat([body, Buffer.from(' ')]));
    const signed = await sign({ body_sha256: other.digest('hex') });
    expect(await verify(signed)).toEqual(refused(NOT_COVERED));
  });

  it('refuses when one of several digest claims does not match', async () => {
    const signed = await sign({
      body_sha256: sha256.toString('hex'),
      digest: `SHA-256=${Buffer.alloc(32).toString('base64')}`,
    });
    expect(await verify(signed)).toEqual(refused(NOT_COVERED));
  });

  it('refuses a digest claim that is not a SHA-256 digest, naming the claim', async () => {
    for (const value of [
      sha256.toString('hex').slice(2),
      sha256.subarray(0, 20).toString('hex'),
      42,
    ]) {
      expect(await verify(await sign({ sha256: value }))).toEqual(
        refused('X-Signature invalid: claim sha256 is not a SHA-256 digest'),
      );
    }
  });

  it('refuses claims that state no digest, even with a matching body elsewhere in them', async () => {
    const signed = await sign({ iat: TS, body: body.toString() });
    expect(await verify(signed)).toEqual(refused(NOT_COVERED));
  });

  it('refuses claims that expired more than five minutes ago', async () => {
    const signed = await sign({ exp: TS - 301, body_sha256: sha256.toString('hex') });
    expect(await verify(signed)).toEqual(
      refused('X-Signature invalid: expired (exp is more than 300 s in the past)'),
    );
  });

  it('accepts claims whose exp passed within the five-minute tolerance, and honours a tolerance set as an option', async () => {
    const signed = await sign({
      exp: TS - 299,
      iat: TS - 360,
      body_sha256: sha256.toString('hex'),
    });
    expect(await verify(signed)).toEqual(accepted('digest'));
    expect(await verify(signed, { options: { clockToleranceSeconds: 60 } })).toEqual(
      refused('X-Signature invalid: expired (exp is more than 60 s in the past)'),
    );
  });

  it('reads the time from the request, so the same claims pass at one moment and fail later', async () => {
    const signed = await sign({ exp: TS + 60, body_sha256: sha256.toString('hex') });
    expect(await verify(signed, { now: NOW })).toEqual(accepted('digest'));
    expect(await verify(signed, { now: NOW + 361_000 })).toMatchObject({ ok: false });
  });

  it('refuses claims issued (iat) or valid from (nbf) more than five minutes in the future, and accepts them within', async () => {
    const digest = sha256.toString('hex');
    expect(await verify(await sign({ iat: TS + 301, body_sha256: digest }))).toEqual(
      refused('X-Signature invalid: issued in the future (iat is more than 300 s ahead)'),
    );
    expect(await verify(await sign({ nbf: TS + 301, body_sha256: digest }))).toEqual(
      refused('X-Signature invalid: not yet valid (nbf is more than 300 s in the future)'),
    );
    expect(await verify(await sign({ iat: TS + 299, nbf: TS + 299, body_sha256: digest }))).toEqual(
      accepted('digest'),
    );
  });

  it('refuses a time claim that is not a number', async () => {
    const signed = await sign({ exp: String(TS + 60), body_sha256: sha256.toString('hex') });
    expect(await verify(signed)).toEqual(
      refused('X-Signature invalid: claim exp is not a NumericDate'),
    );
  });

  it('refuses a negative clock tolerance when the verifier is built', () => {
    expect(() => budJwsVerifier(keys, { clockToleranceSeconds: -1 })).toThrow(RangeError);
  });
});

describe('the signature itself', () => {
  it('refuses a payload of any kind signed by a key other than the one X-Signing-ID names', async () => {
    for (const payload of [body, { body_sha256: sha256.toString('hex') }]) {
      expect(await verify(await sign(payload, { key: otherKey }))).toEqual(
        refused('X-Signature invalid: signature does not verify'),
      );
    }
  });

  it('refuses alg none and an HS256 keyed with the public key, whatever the payload', async () => {
    const claims = Buffer.from(JSON.stringify({ body_sha256: sha256.toString('hex') }));
    const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
    for (const payload of [body, claims]) {
      expect(await verify(`${none}.${payload.toString('base64url')}.`)).toMatchObject({
        ok: false,
        code: 'SIGNATURE_INVALID',
      });
      expect(await verify(await sign(payload, { key: secret, alg: 'HS256' }))).toEqual(
        refused('X-Signature invalid: algorithm not allowed'),
      );
    }
  });
});

describe('reporting the path', () => {
  it('keeps the path through a combination of checks', async () => {
    const both = allOf([ipAllowlist(['127.0.0.0/8']), budJwsVerifier(keys)]);
    expect(
      await both({
        headers: { 'x-signature': await sign(body), 'x-signing-id': 'bud-es' },
        rawBody: body,
        remoteAddr: '127.0.0.1',
        now: NOW,
      }),
    ).toEqual({ ok: true, method: 'ip-allowlist+bud-jws', detail: { 'bud-jws': 'exact' } });
  });

  it('counts each accepted path in refreshbus_ingest_bud_signature_verified_total, and refusals in none', async () => {
    const target = await buildTestApp({ auth: { bud: budJwsVerifier(keys) }, now: NOW });
    try {
      const metric = async () => {
        const text = (await target.app.inject({ method: 'GET', url: '/metrics' })).body;
        return text.split('\n').filter((l) => l.startsWith('refreshbus_ingest_bud_signature'));
      };
      expect(await metric()).toEqual([
        'refreshbus_ingest_bud_signature_verified_total{path="exact"} 0',
        'refreshbus_ingest_bud_signature_verified_total{path="json"} 0',
        'refreshbus_ingest_bud_signature_verified_total{path="digest"} 0',
      ]);
      const pretty = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 1));
      const post = async (signature: string, payload = body) =>
        (
          await target.app.inject({
            method: 'POST',
            url: '/webhooks/bud',
            headers: {
              'content-type': 'application/json',
              'x-signature': signature,
              'x-signing-id': 'bud-es',
            },
            payload,
          })
        ).statusCode;
      const statuses = [
        await post(detach(await sign(body))),
        await post(await sign(body)),
        await post(await sign(body), pretty),
        await post(await sign({ iat: TS, body_sha256: sha256.toString('hex') })),
        await post(await sign({ body_sha256: Buffer.alloc(32).toString('hex') })),
      ];
      expect(statuses).toEqual([200, 200, 200, 200, 401]);
      expect(target.published).toHaveLength(4);
      expect(await metric()).toEqual([
        'refreshbus_ingest_bud_signature_verified_total{path="exact"} 2',
        'refreshbus_ingest_bud_signature_verified_total{path="json"} 1',
        'refreshbus_ingest_bud_signature_verified_total{path="digest"} 1',
      ]);
    } finally {
      await target.app.close();
    }
  });
});
