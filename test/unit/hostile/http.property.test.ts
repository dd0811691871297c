/**
 * Hostile requests to the ingest app (issue 8), through `inject`: any method, path, content type,
 * header set (case variants, repeated headers, huge values) and body. The app never answers a 5xx
 * other than the documented 503s, every error is `{"error":{"code","message"}}` with a contract
 * code and its status, and a record reaches the publisher only for a 2xx.
 */
import { CompactSign, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budJwsVerifier } from '../../../src/ingest/auth/bud-jws.js';
import {
  signStandardWebhook,
  standardWebhooksVerifier,
} from '../../../src/ingest/auth/standard-webhooks.js';
import type { IngestErrorCode } from '../../../src/ingest/errors.js';
import { statusOf } from '../../../src/ingest/errors.js';
import type { OutgoingRecord } from '../../../src/ingest/publisher.js';
import { PublishUnavailableError } from '../../../src/ingest/publisher.js';
import { buildTestApp } from '../../support/ingest-app.js';
import type { TestApp } from '../../support/ingest-app.js';
import {
  CaseCounter,
  DANGEROUS_KEYS,
  INVALID_UTF8,
  MIN_CASES,
  RUNS,
  SEED,
  hostileJsonText,
  loadWebhookFixtures,
  shapedBodyText,
} from './arbitraries.js';
import { HEADER } from '../../../src/contract/headers.js';

const NOW = Date.parse('2026-11-23T10:00:00.000Z');
const BODY_LIMIT = 64 * 1024;
const SECRET = 'whsec_' + Buffer.from('hostile-suite-secret-0123456789').toString('base64');
const counter = new CaseCounter();
const options = (numRuns: number) => ({ seed: SEED, numRuns });
const fixtures = loadWebhookFixtures();
const utf8 = new TextDecoder('utf-8', { fatal: true });

const CODES = new Set<IngestErrorCode>([
  'INVALID_JSON',
  'INVALID_REQUEST',
  'SIGNATURE_MISSING',
  'SIGNATURE_INVALID',
  'SOURCE_NOT_ALLOWED',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'REQUEST_TIMEOUT',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'HEADERS_TOO_LARGE',
  'UNAVAILABLE',
]);
const WEBHOOK_SOURCES = ['bud', 'yodlee'];

/** A publish step whose answer each case chooses; it keeps only what it acknowledged. */
class FakePublisher {
  mode: 'ok' | 'timeout' | 'too-large' = 'ok';
  readonly acked: OutgoingRecord[] = [];
  readonly publish = (record: OutgoingRecord): Promise<void> => {
    if (this.mode !== 'ok') {
      return Promise.reject(new PublishUnavailableError(this.mode, 'no ack'));
    }
    this.acked.push(record);
    return Promise.resolve();
  };
}

interface ErrorBody {
  error: { code: IngestErrorCode; message: string };
}

/** The contract shape of every non-2xx answer (HEAD answers have no body). */
function expectContractError(res: { statusCode: number; body: string }, head: boolean) {
  if (head) return;
  const body = JSON.parse(res.body) as ErrorBody;
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  expect(CODES).toContain(body.error.code);
  expect(typeof body.error.message).toBe('string');
  expect(statusOf(body.error.code)).toBe(res.statusCode);
}

/** Log lines written during one case must hold none of its secrets, signatures or body. */
function expectQuietAbout(logs: string, needles: readonly string[]) {
  expect(logs).not.toMatch(/"level":50/); // no "unexpected error"
  for (const needle of needles) if (needle.length >= 12) expect(logs).not.toContain(needle);
}

// ---- generators ---------------------------------------------------------------------------

/** Visible ASCII, space, tab and obs-text: what Node's HTTP parser lets through in a header value. */
const headerText = (maxLength: number) =>
  fc
    .array(
      fc.oneof(
        { arbitrary: fc.integer({ min: 0x20, max: 0x7e }), weight: 20 },
        { arbitrary: fc.constant(0x09), weight: 1 },
        { arbitrary: fc.integer({ min: 0x80, max: 0xff }), weight: 1 },
      ),
      { maxLength },
    )
    .map((codes) => String.fromCharCode(...codes).trim());

const caseVariant = (name: string) =>
  fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((upper) => Array.from(name, (c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));

const SIGNATURE_HEADERS = [
  'x-signature',
  'x-signing-id',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'x-yodlee-secret',
];
const headerName = fc.oneof(
  { arbitrary: fc.constantFrom(...SIGNATURE_HEADERS).chain(caseVariant), weight: 4 },
  {
    arbitrary: fc.constantFrom(
      'x-forwarded-for',
      'content-length',
      'content-encoding',
      'accept',
      'user-agent',
      'x-request-id',
      ...DANGEROUS_KEYS.filter((k) => k !== '__proto__'),
    ),
    weight: 2,
  },
  { arbitrary: fc.stringMatching(/^[a-z0-9-]{1,24}$/), weight: 1 },
);
const headerValue = fc.oneof(
  { arbitrary: headerText(80), weight: 8 },
  {
    arbitrary: fc.integer({ min: 8 * 1024, max: 128 * 1024 }).map((n) => 'A'.repeat(n)),
    weight: 1,
  },
  { arbitrary: fc.array(headerText(40), { minLength: 2, maxLength: 3 }), weight: 2 },
);

const contentType = fc.option(
  fc.oneof(
    {
      arbitrary: fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'APPLICATION/JSON',
        'Application/Json; Charset=UTF-8',
        'application/cloudevents+json',
        'application/vnd.api+json',
        'application/json; charset=latin1',
        'application/json; charset="utf-8"',
        'application/json;;;',
        'application/json, text/plain',
        ' application/json',
        'application/+json',
        'application/jsonx',
        'application/json/x',
        'text/json',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        '',
        ';',
        '*/*',
      ),
      weight: 6,
    },
    { arbitrary: headerText(40), weight: 1 },
  ),
  { nil: undefined, freq: 8 },
);

const url = fc.oneof(
  {
    arbitrary: fc.constantFrom('/webhooks/bud', '/webhooks/yodlee', '/refresh-requests'),
    weight: 10,
  },
  { arbitrary: fc.constantFrom('/healthz', '/readyz', '/metrics'), weight: 2 },
  {
    arbitrary: fc.constantFrom(
      '/webhooks/bud/',
      '/WEBHOOKS/BUD',
      '/webhooks/bud?x=1&x=2',
      '/webhooks/bud?__proto__[polluted]=1&constructor[prototype][polluted]=1',
      '/webhooks/%',
      '/%',
      '/%zz',
      '/%00',
      '/%c0%80',
      '/webhooks/bud%00',
      '//webhooks//bud',
      '/webhooks/../webhooks/bud',
      '/webhooks/./bud',
      '/webhooks/bud;x=1',
      '/webhooks/bud#frag',
      '/' + 'a'.repeat(10_000),
      '/webhooks/' + '%ff'.repeat(100),
    ),
    weight: 3,
  },
  { arbitrary: fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)), weight: 1 },
);

const method = fc.oneof(
  { arbitrary: fc.constant('POST' as const), weight: 6 },
  {
    arbitrary: fc.constantFrom<'GET' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD' | 'OPTIONS'>(
      'GET',
      'PUT',
      'DELETE',
      'PATCH',
      'HEAD',
      'OPTIONS',
    ),
    weight: 4,
  },
);

const body: fc.Arbitrary<Buffer> = fc.oneof(
  { arbitrary: hostileJsonText.map((t) => Buffer.from(t)), weight: 4 },
  { arbitrary: shapedBodyText.map((b) => Buffer.from(b.text)), weight: 3 },
  { arbitrary: fc.constantFrom(...fixtures.map((f) => f.bytes)), weight: 2 },
  { arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)), weight: 2 },
  {
    arbitrary: fc
      .constantFrom(...fixtures)
      .chain((f) =>
        fc.tuple(fc.constant(f.bytes), fc.nat(f.bytes.length), fc.constantFrom(...INVALID_UTF8)),
      )
      .map(([b, at, bad]) => Buffer.concat([b.subarray(0, at), Buffer.from(bad), b.subarray(at)])),
    weight: 1,
  },
  {
    arbitrary: fc
      .constantFrom(...fixtures)
      .chain((f) => fc.nat(f.bytes.length - 1).map((cut) => f.bytes.subarray(0, cut))),
    weight: 1,
  },
  {
    arbitrary: fc.constantFrom(
      Buffer.alloc(0),
      Buffer.from('null'),
      Buffer.from('\ufeff{}'),
      Buffer.from(`{"pad":"${'x'.repeat(BODY_LIMIT)}"}`),
      Buffer.from('[' + '['.repeat(100_000)),
    ),
    weight: 1,
  },
);

// ---- the app under test -------------------------------------------------------------------

let open: TestApp;
let openPublisher: FakePublisher;
let encodeFails = false;

beforeAll(async () => {
  openPublisher = new FakePublisher();
  open = await buildTestApp({
    publish: openPublisher.publish,
    encode: (value) =>
      encodeFails
        ? Promise.reject(new Error('registry down'))
        : Promise.resolve(Buffer.from(JSON.stringify(value))),
    settings: { bodyLimitBytes: BODY_LIMIT },
    now: NOW,
  });
});
afterAll(async () => {
  await open.app.close();
  console.log(counter.report('http.property.test.ts'));
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

describe('any request to the ingest (authentication off)', () => {
  const statuses = new Map<number, number>();
  it('answers 2xx with a stored record, or a contract error with nothing stored; 5xx only as a 503 when Kafka or the registry fail', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          method,
          url,
          contentType,
          headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 6 }),
          payload: body,
          remoteAddress: fc.oneof(fc.ipV4(), fc.ipV6()),
          publish: fc.constantFrom<FakePublisher['mode']>('ok', 'ok', 'ok', 'timeout', 'too-large'),
          encodeFails: fc.boolean(),
        }),
        counter.counted('any request', async (req) => {
          openPublisher.mode = req.publish;
          encodeFails = req.encodeFails;
          const headers: Record<string, string | string[]> = {};
          for (const [name, value] of req.headers) headers[name] = value;
          if (req.contentType !== undefined) headers['content-type'] = req.contentType;
          const before = openPublisher.acked.length;
          const logStart = open.logs.text.length;
          const res = await open.app.inject({
            method: req.method,
            url: req.url,
            headers,
            payload: req.payload,
            remoteAddress: req.remoteAddress,
          });
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          const head = req.method === 'HEAD';
          const stored = openPublisher.acked.slice(before);
          if (res.statusCode >= 200 && res.statusCode < 300) {
            // a POST stores exactly one record; which route took it shows in the topic
            // (inject resolves `/webhooks/./bud` as a URL parser would, so the URL alone won't say)
            if (req.method !== 'POST') {
              expect(['GET', 'HEAD']).toContain(req.method);
              expect(stored).toHaveLength(0);
            } else if (stored[0]?.topic === 'raw') {
              expect(res.json()).toEqual({ status: 'accepted', id: expect.any(String) as unknown });
              expect(stored).toHaveLength(1);
              const record = stored[0]; // narrowed by the topic check above
              expect(record.value.equals(req.payload)).toBe(true);
              expect(() => JSON.parse(utf8.decode(req.payload)) as unknown).not.toThrow();
              expect(WEBHOOK_SOURCES).toContain(record.headers[HEADER.source]);
              expect(record.key.length).toBeGreaterThan(0);
              expect(record.key.length).toBeLessThanOrEqual(256);
              // UTF-8 has a form for every key and header (issue 16: lone surrogates, undefined)
              expect(Buffer.from(record.key).toString()).toBe(record.key);
              for (const value of Object.values(record.headers))
                expect(typeof value).toBe('string');
            } else {
              expect(stored).toHaveLength(1);
              expect(stored[0]?.topic).toBe('requests');
              const value = JSON.parse(stored[0]?.value.toString() ?? '') as {
                customer_id: unknown;
              };
              expect(typeof value.customer_id).toBe('string');
            }
          } else {
            expect(stored).toHaveLength(0);
            expectContractError(res, head);
            if (res.statusCode >= 500) {
              expect(res.statusCode).toBe(503);
              expect(res.headers['retry-after']).toBe('7');
              expect(req.publish !== 'ok' || req.encodeFails).toBe(true);
            }
          }
          const signatureValues = req.headers.flatMap(([, v]) => (Array.isArray(v) ? v : [v]));
          expectQuietAbout(open.logs.text.slice(logStart), [
            req.payload.toString('latin1'),
            ...signatureValues,
          ]);
        }),
      ),
      options(RUNS.http.anyRequest),
    );
    console.log(
      `[hostile] any request: answers by status ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    // the generators reach every answer the contract has for this setup
    expect([...statuses.keys()].sort()).toEqual(
      expect.arrayContaining([200, 400, 404, 405, 413, 415, 503]) as unknown,
    );
  }, 120_000);
});

describe('requests to a route that requires Standard Webhooks signatures', () => {
  let signed: TestApp;
  const publisher = new FakePublisher();
  beforeAll(async () => {
    const verify = standardWebhooksVerifier([SECRET]);
    signed = await buildTestApp({
      auth: { bud: verify, yodlee: verify, refresh: verify },
      publish: publisher.publish,
      settings: { bodyLimitBytes: BODY_LIMIT },
      now: NOW,
    });
  });
  afterAll(async () => {
    await signed.app.close();
  });

  const attack = fc.constantFrom(
    'valid',
    'valid-among-others',
    'tampered-body',
    'wrong-secret',
    'wrong-id',
    'garbage',
    'missing-signature',
    'missing-id',
    'missing-timestamp',
    'duplicated-signature',
    'duplicated-id',
    'stale',
    'future',
    'millisecond-timestamp',
  );

  it('accepts exactly the well-signed, in-tolerance, single-header deliveries of JSON bodies, whatever the header case', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          route: fc.constantFrom('/webhooks/bud', '/webhooks/yodlee'),
          payload: fc.oneof(
            hostileJsonText.map((t) => Buffer.from(t)),
            fc.constantFrom(...fixtures.map((f) => f.bytes)),
            fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
          ),
          id: fc.oneof(fc.constant('msg_2KWPBgLlAfxdpx2AI54pPJ85f4W'), headerText(40)),
          skew: fc.integer({ min: -300, max: 300 }),
          attack,
          names: fc.record({
            id: caseVariant('webhook-id'),
            timestamp: caseVariant('webhook-timestamp'),
            signature: caseVariant('webhook-signature'),
          }),
        }),
        counter.counted('HMAC-signed requests', async (c) => {
          const ts = Math.floor(NOW / 1000) + c.skew;
          const id = c.id === '' ? 'msg_1' : c.id;
          const sign = (secret = SECRET, body = c.payload, signedId = id, at = ts) =>
            signStandardWebhook(secret, signedId, at, body);
          let idValue: string | string[] | undefined = id;
          let tsValue: string | undefined = String(ts);
          let sigValue: string | string[] | undefined = sign();
          const other = 'whsec_' + Buffer.from('another-secret-0123456789').toString('base64');
          switch (c.attack) {
            case 'valid':
              break;
            case 'valid-among-others':
              sigValue = `v1,Zm9v ${sign(other)} ${sign()} v2,abc`;
              break;
            case 'tampered-body':
              sigValue = sign(SECRET, Buffer.concat([c.payload, Buffer.from(' ')]));
              break;
            case 'wrong-secret':
              sigValue = sign(other);
              break;
            case 'wrong-id':
              idValue = `${id}x`;
              break;
            case 'garbage':
              sigValue = 'v1,' + Buffer.from(id).toString('base64');
              break;
            case 'missing-signature':
              sigValue = undefined;
              break;
            case 'missing-id':
              idValue = undefined;
              break;
            case 'missing-timestamp':
              tsValue = undefined;
              break;
            case 'duplicated-signature':
              sigValue = [sign(), sign()];
              break;
            case 'duplicated-id':
              idValue = [id, id];
              break;
            case 'stale':
              tsValue = String(ts - 301 - 300);
              sigValue = sign(SECRET, c.payload, id, ts - 601);
              break;
            case 'future':
              tsValue = String(ts + 301 + 300);
              sigValue = sign(SECRET, c.payload, id, ts + 601);
              break;
            case 'millisecond-timestamp':
              tsValue = String(ts * 1000);
              sigValue = sign(SECRET, c.payload, id, ts * 1000);
              break;
          }
          const headers: Record<string, string | string[]> = {
            'content-type': 'application/json',
          };
          // the sender writes the id as UTF-8; Node reads header bytes as Latin-1 (`inject` does
          // not, so the test does it): what the verifier gets on the wire
          const onTheWire = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
          if (idValue !== undefined)
            headers[c.names.id] = Array.isArray(idValue)
              ? idValue.map(onTheWire)
              : onTheWire(idValue);
          if (tsValue !== undefined) headers[c.names.timestamp] = tsValue;
          if (sigValue !== undefined) headers[c.names.signature] = sigValue;
          const before = publisher.acked.length;
          const logStart = signed.logs.text.length;
          const res = await signed.app.inject({
            method: 'POST',
            url: c.route,
            headers,
            payload: c.payload,
          });

          let json = true;
          try {
            JSON.parse(utf8.decode(c.payload));
          } catch {
            json = false;
          }
          const expected: [number, string] = (() => {
            if (c.payload.length > BODY_LIMIT) return [413, 'PAYLOAD_TOO_LARGE'];
            if (c.attack === 'duplicated-signature' || c.attack === 'duplicated-id')
              return [401, 'SIGNATURE_INVALID'];
            if (c.attack.startsWith('missing-')) return [401, 'SIGNATURE_MISSING'];
            if (c.attack === 'valid' || c.attack === 'valid-among-others')
              return json ? [200, 'accepted'] : [400, 'INVALID_JSON'];
            return [401, 'SIGNATURE_INVALID'];
          })();
          const answer =
            res.statusCode === 200
              ? res.json<{ status: string }>().status
              : res.json<ErrorBody>().error.code;
          expect([res.statusCode, answer]).toEqual(expected);
          if (res.statusCode !== 200) expectContractError(res, false);
          expect(publisher.acked.length - before).toBe(res.statusCode === 200 ? 1 : 0);
          const sigs =
            sigValue === undefined ? [] : Array.isArray(sigValue) ? sigValue : [sigValue];
          expectQuietAbout(signed.logs.text.slice(logStart), [
            ...sigs,
            SECRET,
            c.payload.toString('latin1'),
          ]);
        }),
      ),
      options(RUNS.http.hmacSigned),
    );
  }, 120_000);
});

describe('requests to the Bud route (JWS in X-Signature)', () => {
  let bud: TestApp;
  const publisher = new FakePublisher();
  let key: CryptoKey;
  let otherKey: CryptoKey;
  let publicJwk: JWK;
  beforeAll(async () => {
    const pair = await generateKeyPair('EdDSA', { extractable: true });
    key = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'bud-1', alg: 'EdDSA', use: 'sig' };
    const second = await generateKeyPair('EdDSA', { extractable: true });
    otherKey = second.privateKey;
    const secondJwk = { ...(await exportJWK(second.publicKey)), kid: 'bud-2', alg: 'EdDSA' };
    bud = await buildTestApp({
      auth: { bud: budJwsVerifier(createLocalJWKSet({ keys: [publicJwk, secondJwk] })) },
      publish: publisher.publish,
      settings: { bodyLimitBytes: BODY_LIMIT },
      now: NOW,
    });
  });
  afterAll(async () => {
    await bud.app.close();
  });

  it('accepts exactly the bodies signed by the key X-Signing-ID names; an unknown key id asks for a retry (503)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          payload: fc.oneof(
            hostileJsonText.map((t) => Buffer.from(t)),
            fc.constantFrom(...fixtures.filter((f) => f.source === 'bud').map((f) => f.bytes)),
          ),
          attack: fc.constantFrom(
            'detached',
            'attached',
            'other-key-same-kid',
            'named-other-kid',
            'unknown-kid',
            'tampered',
            'alg-none',
            'hs256-public-key',
            'garbage',
            'duplicated-signature',
            'duplicated-kid',
          ),
          names: fc.record({
            signature: caseVariant('x-signature'),
            kid: caseVariant('x-signing-id'),
          }),
          garbage: headerText(60),
        }),
        counter.counted('Bud JWS requests', async (c) => {
          const sign = async (k: CryptoKey | Uint8Array, alg: string, body = c.payload) =>
            new CompactSign(body).setProtectedHeader({ alg }).sign(k);
          const detach = (jws: string) => jws.replace(/\.[^.]*\./, '..');
          let signature: string | string[] = detach(await sign(key, 'EdDSA'));
          let kid: string | string[] = 'bud-1';
          switch (c.attack) {
            case 'detached':
              break;
            case 'attached':
              signature = await sign(key, 'EdDSA');
              break;
            case 'other-key-same-kid':
              signature = detach(await sign(otherKey, 'EdDSA'));
              break;
            case 'named-other-kid':
              kid = 'bud-2';
              break;
            case 'unknown-kid':
              kid = 'bud-0';
              break;
            case 'tampered':
              signature = detach(
                await sign(key, 'EdDSA', Buffer.concat([c.payload, Buffer.from('\n')])),
              );
              break;
            case 'alg-none': {
              const h = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
              signature = `${h}..`;
              break;
            }
            case 'hs256-public-key':
              signature = detach(
                await sign(new TextEncoder().encode(JSON.stringify(publicJwk)), 'HS256'),
              );
              break;
            case 'garbage':
              signature = c.garbage;
              break;
            case 'duplicated-signature':
              signature = [signature, signature];
              break;
            case 'duplicated-kid':
              kid = ['bud-1', 'bud-1'];
              break;
          }
          const before = publisher.acked.length;
          const logStart = bud.logs.text.length;
          const res = await bud.app.inject({
            method: 'POST',
            url: '/webhooks/bud',
            headers: {
              'content-type': 'application/json',
              [c.names.signature]: signature,
              [c.names.kid]: kid,
            },
            payload: c.payload,
          });
          let json = true;
          try {
            JSON.parse(utf8.decode(c.payload));
          } catch {
            json = false;
          }
          const expected: [number, string] = (() => {
            if (c.payload.length > BODY_LIMIT) return [413, 'PAYLOAD_TOO_LARGE'];
            if (c.attack === 'detached' || c.attack === 'attached')
              return json ? [200, 'accepted'] : [400, 'INVALID_JSON'];
            if (c.attack === 'unknown-kid') return [503, 'UNAVAILABLE'];
            if (c.attack === 'garbage' && c.garbage === '') return [401, 'SIGNATURE_MISSING'];
            return [401, 'SIGNATURE_INVALID'];
          })();
          const answer =
            res.statusCode === 200
              ? res.json<{ status: string }>().status
              : res.json<ErrorBody>().error.code;
          expect([res.statusCode, answer]).toEqual(expected);
          if (res.statusCode !== 200) expectContractError(res, false);
          expect(publisher.acked.length - before).toBe(res.statusCode === 200 ? 1 : 0);
          const sigs = Array.isArray(signature) ? signature : [signature];
          expectQuietAbout(bud.logs.text.slice(logStart), [
            ...sigs.flatMap((s) => s.split('.')),
            c.payload.toString('latin1'),
          ]);
        }),
      ),
      options(RUNS.http.budJws),
    );
  }, 120_000);
});

describe('POST /refresh-requests with hostile bodies', () => {
  const near = fc.array(
    fc.tuple(
      fc.constantFrom('customer_id', 'providers', 'task_ids', '__proto__', 'constructor'),
      fc.oneof(hostileJsonText, fc.constantFrom('"cust-1"', '["Bank_A"]', '[]', '["a","b"]')),
    ),
    { maxLength: 5 },
  );

  it('stores a RefreshRequested with a string customer id and string lists, or answers 400 with nothing stored', async () => {
    await fc.assert(
      fc.asyncProperty(
        near,
        counter.counted('refresh requests', async (fields) => {
          const text = `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
          openPublisher.mode = 'ok';
          encodeFails = false;
          const before = openPublisher.acked.length;
          const res = await open.app.inject({
            method: 'POST',
            url: '/refresh-requests',
            headers: { 'content-type': 'application/json' },
            payload: text,
          });
          const stored = openPublisher.acked.slice(before);
          if (res.statusCode === 200) {
            expect(stored).toHaveLength(1);
            const value = JSON.parse(stored[0]?.value.toString() ?? '') as Record<string, unknown>;
            expect(Object.keys(value).sort()).toEqual([
              'customer_id',
              'idempotency_key',
              'providers',
              'request_id',
              'requested_at',
              'task_ids',
            ]);
            expect(typeof value.customer_id).toBe('string');
            for (const list of [value.providers, value.task_ids]) {
              expect(Array.isArray(list)).toBe(true);
              for (const item of list as unknown[]) expect(typeof item).toBe('string');
            }
          } else {
            expect([400, 413]).toContain(res.statusCode);
            expectContractError(res, false);
            expect(stored).toHaveLength(0);
          }
        }),
      ),
      options(RUNS.http.refreshRequests),
    );
  }, 120_000);
});

describe('regressions found by the properties above', () => {
  it('a URL the router cannot decode (GET /%zz) answers 400 INVALID_REQUEST in the contract shape', async () => {
    // shrunk counterexample: {"method":"GET","url":"/%zz"}: fastify's own body had
    // {error,code,message,statusCode}
    for (const bad of ['/%zz', '/webhooks/%', '/%c0%80']) {
      const res = await open.app.inject({ method: 'POST', url: bad, payload: '{}' });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({
        error: { code: 'INVALID_REQUEST', message: 'the request URL is malformed' },
      });
    }
  });

  it('a webhook-signature header sent twice is refused with 401 SIGNATURE_INVALID, even when both copies are valid', async () => {
    // shrunk counterexample: empty body, attack "duplicated-signature": the two headers were
    // joined into "v1,… , v1,…", one entry matched, and the body went on to INVALID_JSON
    const verify = standardWebhooksVerifier([SECRET]);
    const app = await buildTestApp({ auth: { yodlee: verify }, now: NOW });
    try {
      const ts = Math.floor(NOW / 1000);
      const payload = Buffer.from('{"event":{"loginName":"u"}}');
      const valid = signStandardWebhook(SECRET, 'msg_1', ts, payload);
      const res = await app.app.inject({
        method: 'POST',
        url: '/webhooks/yodlee',
        headers: {
          'content-type': 'application/json',
          'webhook-id': 'msg_1',
          'webhook-timestamp': String(ts),
          'webhook-signature': [valid, valid],
        },
        payload,
      });
      expect(res.statusCode).toBe(401);
      expect(res.json<ErrorBody>().error.code).toBe('SIGNATURE_INVALID');
      expect(app.published).toHaveLength(0);
    } finally {
      await app.app.close();
    }
  });

  it('an X-Signing-ID header sent twice is refused with 401 SIGNATURE_INVALID, not a 503 that makes the sender retry', async () => {
    // shrunk counterexample: attack "duplicated-kid": "bud-1, bud-1" was looked up as a key id
    const pair = await generateKeyPair('EdDSA', { extractable: true });
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'bud-1', alg: 'EdDSA' };
    const app = await buildTestApp({
      auth: { bud: budJwsVerifier(createLocalJWKSet({ keys: [jwk] })) },
      now: NOW,
    });
    try {
      const payload = Buffer.from('{"data":{"customer_id":"c"}}');
      const jws = await new CompactSign(payload)
        .setProtectedHeader({ alg: 'EdDSA' })
        .sign(pair.privateKey);
      const res = await app.app.inject({
        method: 'POST',
        url: '/webhooks/bud',
        headers: {
          'content-type': 'application/json',
          'x-signature': jws,
          'x-signing-id': ['bud-1', 'bud-1'],
        },
        payload,
      });
      expect(res.statusCode).toBe(401);
      expect(res.json<ErrorBody>().error.code).toBe('SIGNATURE_INVALID');
      expect(app.published).toHaveLength(0);
    } finally {
      await app.app.close();
    }
  });
});

describe('the case budget', () => {
  it('ran every planned generated case of this file, and at least its floor of the suite’s 10,000', () => {
    expect(counter.total).toBe(Object.values(RUNS.http).reduce((a, b) => a + b, 0));
    expect(counter.total).toBeGreaterThanOrEqual(MIN_CASES.http);
  });
});
