import { createHash } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import type { CryptoKey } from 'jose';
import { KeySourceUnavailableError } from './bud-jws.js';
import { constantTimeEqual } from './constant-time.js';
import { JsonNumber, isJsonObject, parseStrictJson } from './strict-json.js';
import type { AuthRequest, AuthResult, Authenticator } from './types.js';
import { headerText, singleHeader } from './types.js';

/**
 * Plaid webhook verification (issue 19, item 1): `Plaid-Verification` holds an ES256 JWT whose
 * payload states `iat` and `request_body_sha256`, the hex SHA-256 of the exact body bytes; its
 * `kid` names a public key fetched from Plaid's `/webhook_verification_key/get` with the client's
 * API credentials (docs: "Verify webhooks"; Plaid's OpenAPI, `WebhookVerificationKeyGet*`).
 */

/** A webhook older than this is refused (Plaid: "reject when older than 5 minutes"). */
export const PLAID_MAX_AGE_SECONDS = 300;
/**
 * How far ahead of our clock `iat` may be. Plaid says nothing about a future `iat`; we allow
 * this much skew between Plaid's clock and ours and refuse beyond it, since a token dated ahead
 * would otherwise stay "fresh" — replayable — for longer than the 5 minutes Plaid intends.
 */
export const PLAID_CLOCK_SKEW_SECONDS = 300;

/**
 * What Plaid answers, HTTP 400 (`error_type` INVALID_INPUT), for a `key_id` it does not know
 * (Plaid's own client tests; plaid.com/docs/errors/invalid-input).
 */
export const PLAID_UNKNOWN_KEY_ERROR = 'INVALID_WEBHOOK_VERIFICATION_KEY_ID';

/** A webhook verification key as Plaid returned it. */
export interface PlaidKey {
  readonly kid: string;
  readonly key: CryptoKey;
  /** When Plaid created the key, in Unix seconds. */
  readonly createdAt: number;
  /** When Plaid expired (rotated out) the key, in Unix seconds; null while it is current. */
  readonly expiredAt: number | null;
}

/**
 * The key `kid` names, as of `now` (ms since the epoch), or undefined when Plaid does not know
 * the key id. Throws {@link KeySourceUnavailableError} when the key could not be had (Plaid's
 * API down, slow, refusing our credentials, or a refetch cooling down): answered 503, so Plaid
 * retries the delivery.
 */
export type PlaidKeys = (kid: string, now: number) => Promise<PlaidKey | undefined>;

export interface PlaidKeysOptions {
  /** Plaid's API host, e.g. `https://production.plaid.com` or `https://sandbox.plaid.com`. */
  readonly apiUrl: string;
  readonly clientId: string;
  readonly secret: string;
  /**
   * How long a fetched key is trusted before it is fetched again, to see an `expired_at` set
   * since. @default 600000
   */
  readonly cacheMaxAgeMs?: number;
  /** Least time between two fetches of one key id, failed or answered "unknown". @default 30000 */
  readonly cooldownMs?: number;
  /** Most fetches of key ids not in the cache per `cooldownMs`, all ids together. @default 10 */
  readonly maxFetchesPerCooldown?: number;
  /** Timeout of one fetch, response body included. @default 5000 */
  readonly timeoutMs?: number;
  /** The fetch to use (tests inject one). @default globalThis.fetch */
  readonly fetch?: typeof globalThis.fetch;
}

interface CachedKey extends PlaidKey {
  readonly fetchedAt: number;
}

/** A fetch of one key id that did not give a key: when, and whether Plaid said "unknown". */
interface Miss {
  readonly at: number;
  readonly unknown: boolean;
}

/** Why a key could not be had, for the logs: never the credentials, never a response body. */
class KeyFetchError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KeyFetchError';
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isTime = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);

/** The key in a 200 answer, checked to be the P-256 ES256 signing key asked for. */
async function keyFromResponse(body: unknown, kid: string): Promise<PlaidKey> {
  const jwk = isRecord(body) ? body.key : undefined;
  if (!isRecord(jwk)) throw new KeyFetchError('the answer has no key');
  const { kty, crv, alg, use, x, y, created_at: createdAt, expired_at: expiredAt } = jwk;
  if (jwk.kid !== kid) throw new KeyFetchError('the answer is a key with another id');
  if (kty !== 'EC' || crv !== 'P-256' || alg !== 'ES256' || (use !== undefined && use !== 'sig')) {
    throw new KeyFetchError('the key is not an ES256 (P-256) signing key');
  }
  if (typeof x !== 'string' || typeof y !== 'string') {
    throw new KeyFetchError('the key has no x and y coordinates');
  }
  if (!isTime(createdAt)) throw new KeyFetchError('the key has no created_at');
  if (expiredAt != null && !isTime(expiredAt)) {
    throw new KeyFetchError('the key has an invalid expired_at');
  }
  let key;
  try {
    key = await importJWK({ kty, crv, x, y }, 'ES256');
  } catch (err) {
    throw new KeyFetchError('the key could not be imported', { cause: err });
  }
  if (key instanceof Uint8Array) throw new KeyFetchError('the key is not a public key');
  return { kid, key, createdAt, expiredAt: expiredAt ?? null };
}

/** One POST to `/webhook_verification_key/get`: the key, or undefined if Plaid does not know it. */
async function fetchKey(
  options: PlaidKeysOptions,
  url: string,
  kid: string,
): Promise<PlaidKey | undefined> {
  const fetch = options.fetch ?? globalThis.fetch;
  let status: number;
  let body: unknown;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({
        client_id: options.clientId,
        secret: options.secret,
        key_id: kid,
      }),
      redirect: 'error',
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
    status = response.status;
    const text = await response.text();
    try {
      body = JSON.parse(text);
    } catch {
      throw new KeyFetchError(`HTTP ${status}, the answer is not JSON`);
    }
  } catch (err) {
    if (err instanceof KeyFetchError) throw err;
    // fetch's own errors (refused, reset, timed out) name the address, never the request body
    const reason = err instanceof Error && err.name === 'TimeoutError' ? 'timed out' : 'failed';
    throw new KeyFetchError(`the request ${reason}`, { cause: err });
  }
  if (status === 200) return keyFromResponse(body, kid);
  const fields: Record<string, unknown> = isRecord(body) ? body : {};
  const { error_type: type, error_code: code, request_id: requestId } = fields;
  if (status === 400 && code === PLAID_UNKNOWN_KEY_ERROR) return undefined;
  // Plaid's error type and code and its request id, for support; never its error_message
  const said = [type, code].filter((v) => typeof v === 'string').join(' ');
  const request = typeof requestId === 'string' ? ` (request_id ${requestId})` : '';
  throw new KeyFetchError(`HTTP ${status}${said ? ` ${said}` : ''}${request}`);
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be more than 0`);
  return value;
}

/** The endpoint under `apiUrl`, keeping any path prefix (a proxy's). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function keyEndpoint(apiUrl: string): string {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new RangeError('apiUrl must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new RangeError('apiUrl must be an absolute http(s) URL');
  }
  // the request carries the Plaid secret: plain http only to this host (a local stand-in)
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    throw new RangeError('apiUrl must be https (http only for a loopback address)');
  }
  return `${url.href.replace(/\/+$/, '')}/webhook_verification_key/get`;
}

/**
 * Plaid's webhook verification keys, fetched by key id and cached. Plaid publishes no key set:
 * each key is asked for by id, with the client's credentials.
 *
 * - A cached key is used for `cacheMaxAgeMs`, then fetched again, so that an `expired_at` Plaid
 *   set since is seen; a key already expired is kept as it is (expiry is final). If the refetch
 *   fails the key is not used (503 until Plaid's API answers): an expired key must not pass.
 * - A key id is fetched at most once per `cooldownMs`: within it, an id Plaid said it does not
 *   know is answered "unknown" (401) again, and an id whose fetch failed throws again.
 * - Anyone can send a made-up key id, and each costs a call to Plaid with our credentials; at
 *   most `maxFetchesPerCooldown` ids not in the cache are fetched per `cooldownMs`, beyond that
 *   the request throws (503: Plaid retries a genuine one later).
 * - Concurrent requests for one key id share one fetch.
 */
export function plaidKeys(options: PlaidKeysOptions): PlaidKeys {
  const url = keyEndpoint(options.apiUrl);
  if (!options.clientId) throw new RangeError('clientId is required');
  if (!options.secret) throw new RangeError('secret is required');
  const maxAge = positive('cacheMaxAgeMs', options.cacheMaxAgeMs ?? 600_000);
  const cooldown = positive('cooldownMs', options.cooldownMs ?? 30_000);
  const maxFetches = positive('maxFetchesPerCooldown', options.maxFetchesPerCooldown ?? 10);
  positive('timeoutMs', options.timeoutMs ?? 5000);

  const cache = new Map<string, CachedKey>();
  const misses = new Map<string, Miss>();
  const inflight = new Map<string, Promise<PlaidKey | undefined>>();
  let newIdFetches: number[] = [];

  const unavailable = (kid: string, reason: string, cause?: unknown) =>
    new KeySourceUnavailableError(
      new KeyFetchError(`Plaid webhook key ${JSON.stringify(kid)}: ${reason}`, { cause }),
    );

  async function load(kid: string, now: number): Promise<PlaidKey | undefined> {
    let key: PlaidKey | undefined;
    try {
      key = await fetchKey(options, url, kid);
    } catch (err) {
      misses.set(kid, { at: now, unknown: false });
      throw unavailable(kid, err instanceof Error ? err.message : 'fetch failed', err);
    }
    if (!key) {
      cache.delete(kid);
      misses.set(kid, { at: now, unknown: true });
      return undefined;
    }
    misses.delete(kid);
    cache.set(kid, { ...key, fetchedAt: now });
    return key;
  }

  /** Throws unless a key id not in the cache may be fetched now; counts the fetch. */
  function admitNewId(kid: string, now: number): void {
    newIdFetches = newIdFetches.filter((at) => now - at < cooldown);
    if (newIdFetches.length >= maxFetches) {
      throw unavailable(kid, 'too many unknown key ids lately; fetch deferred');
    }
    newIdFetches.push(now);
    // misses older than the cooldown decide nothing any more: keep the map small
    for (const [id, miss] of misses) if (now - miss.at >= cooldown) misses.delete(id);
  }

  return async (kid, now) => {
    const pending = inflight.get(kid);
    if (pending) return pending;
    const cached = cache.get(kid);
    if (cached) {
      const expired = cached.expiredAt !== null && cached.expiredAt * 1000 <= now;
      if (expired || now - cached.fetchedAt < maxAge) return cached;
    }
    const miss = misses.get(kid);
    if (miss && now - miss.at < cooldown) {
      if (miss.unknown) return undefined;
      throw unavailable(kid, 'the last fetch failed; refetch cooling down');
    }
    if (!cached) admitNewId(kid, now);
    const loading = load(kid, now).finally(() => inflight.delete(kid));
    inflight.set(kid, loading);
    return loading;
  };
}

const invalid = (reason: string): AuthResult => ({
  ok: false,
  code: 'SIGNATURE_INVALID',
  message: `Plaid-Verification invalid: ${reason}`,
});

/** A key id as it may appear in a message: quoted, and short (it is the sender's text). */
const quoted = (kid: string) => JSON.stringify(kid.length > 80 ? `${kid.slice(0, 80)}…` : kid);

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The token and its key id, or why the header is refused — all before any key lookup. */
function readToken(request: AuthRequest): { token: string; kid: string } | AuthResult {
  const header = singleHeader(request.headers, 'plaid-verification');
  if (header === null) {
    return { ok: false, code: 'SIGNATURE_INVALID', message: 'Plaid-Verification must not repeat' };
  }
  if (!header) {
    return {
      ok: false,
      code: 'SIGNATURE_MISSING',
      message: 'Plaid-Verification header is required',
    };
  }
  const token = headerText(header).trim();
  if (!COMPACT_JWS.test(token)) return invalid('not a compact JWS (JWT)');
  let protectedHeader;
  try {
    protectedHeader = decodeProtectedHeader(token);
  } catch {
    return invalid('not a compact JWS (JWT)');
  }
  // ES256 only, checked before any key is fetched: never `none`, never an HMAC keyed with the
  // public key, never another curve
  const { alg, kid } = protectedHeader;
  if (alg !== 'ES256') {
    return invalid(`algorithm ${JSON.stringify(alg ?? null)} not allowed (ES256 only)`);
  }
  if (typeof kid !== 'string' || !kid) return invalid('no kid in the JWT header');
  return { token, kid };
}

/** Whether the verified claims are fresh (by `request.now`) and state the SHA-256 of the body. */
function checkClaims(payload: Uint8Array, request: AuthRequest): AuthResult {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    return invalid('the JWT payload is not UTF-8');
  }
  const parsed = parseStrictJson(text);
  if (!parsed.ok || !isJsonObject(parsed.value)) return invalid('the JWT payload is not claims');
  const claims = parsed.value;
  const iat = claims.get('iat');
  if (!(iat instanceof JsonNumber) || !Number.isFinite(iat.value)) {
    return invalid('claim iat is missing or not a number');
  }
  const age = request.now / 1000 - iat.value;
  if (age > PLAID_MAX_AGE_SECONDS) {
    return invalid(`too old (iat more than ${PLAID_MAX_AGE_SECONDS} s ago)`);
  }
  if (-age > PLAID_CLOCK_SKEW_SECONDS) {
    return invalid(`issued in the future (iat more than ${PLAID_CLOCK_SKEW_SECONDS} s ahead)`);
  }
  const stated = claims.get('request_body_sha256');
  if (typeof stated !== 'string') return invalid('claim request_body_sha256 is missing');
  const actual = createHash('sha256').update(request.rawBody).digest('hex');
  // Plaid states lower-case hex; any case is the same digest
  if (!constantTimeEqual(stated.toLowerCase(), actual)) {
    return invalid('request_body_sha256 does not match this body');
  }
  return { ok: true, method: 'plaid-jwt' };
}

/**
 * Verifies Plaid's `Plaid-Verification` JWT: ES256 only, with the key its `kid` names (refused
 * once Plaid has expired it), issued within 5 minutes of `request.now`, and stating the SHA-256
 * of the exact body bytes. A key id Plaid says it does not know is refused (401): Plaid signs
 * with keys it can serve, so such a token is not Plaid's. A key that cannot be had — Plaid's API
 * down or slow, our credentials refused, a refetch cooling down — throws
 * {@link KeySourceUnavailableError} (503), so Plaid retries.
 */
export function plaidVerifier(keys: PlaidKeys): Authenticator {
  return async (request) => {
    const read = readToken(request);
    if ('ok' in read) return read;
    const { token, kid } = read;
    const key = await keys(kid, request.now);
    if (!key) return invalid(`key id ${quoted(kid)} unknown to Plaid`);
    if (key.expiredAt !== null && key.expiredAt * 1000 <= request.now) {
      return invalid(`key ${quoted(kid)} expired`);
    }
    let payload: Uint8Array;
    try {
      ({ payload } = await compactVerify(token, key.key, { algorithms: ['ES256'] }));
    } catch {
      return invalid('signature does not verify');
    }
    return checkClaims(payload, request);
  };
}
