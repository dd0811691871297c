import { createHash } from 'node:crypto';
import { compactVerify, createRemoteJWKSet, errors as joseErrors } from 'jose';
import type { JWSHeaderParameters, FlattenedJWSInput, KeyObject, CryptoKey } from 'jose';
import { constantTimeEqual } from './constant-time.js';
import { JsonNumber, isJsonObject, jsonEqual, parseStrictJson } from './strict-json.js';
import type { JsonValue } from './strict-json.js';
import type { AuthRequest, AuthResult, Authenticator } from './types.js';
import { headerText, singleHeader } from './types.js';

/** Asymmetric algorithms only: never `none`, never an HMAC that a public key could be abused as. */
export const ALLOWED_JWS_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

export type KeyResolver = (
  header: JWSHeaderParameters,
  token: FlattenedJWSInput,
) => Promise<CryptoKey | KeyObject | Uint8Array>;

export interface BudJwsOptions {
  /** Where Bud publishes its public keys (a JWKS document). */
  readonly jwksUrl: string;
  /** How long fetched keys are trusted before a refetch. @default 600000 */
  readonly cacheMaxAgeMs?: number;
  /** Least time between two refetches triggered by unknown key ids. @default 30000 */
  readonly cooldownMs?: number;
  /** Timeout of one JWKS fetch. @default 5000 */
  readonly timeoutMs?: number;
}

/** A JWKS client (jose's remote key set: cached, refetched when an unknown `kid` shows up). */
export function remoteKeys(options: BudJwsOptions): KeyResolver {
  return createRemoteJWKSet(new URL(options.jwksUrl), {
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    cooldownDuration: options.cooldownMs ?? 30_000,
    timeoutDuration: options.timeoutMs ?? 5000,
  });
}

/**
 * The key could not be had: JWKS down or slow, or the key id is not in it (yet). Not provably the
 * sender's fault: answered 503 so the sender retries.
 */
export class KeySourceUnavailableError extends Error {
  constructor(cause: unknown) {
    super('the JWKS could not be fetched', { cause });
    this.name = 'KeySourceUnavailableError';
  }
}

/** What the verified payload of an accepted `X-Signature` was. */
export const BUD_SIGNATURE_PATHS = ['exact', 'json', 'digest'] as const;
export type BudSignaturePath = (typeof BUD_SIGNATURE_PATHS)[number];

/**
 * Claims that may carry the SHA-256 of the raw body, as hex (any case) or base64/base64url, with
 * or without a `sha-256=` / `sha256:` prefix (the RFC 3230 `Digest` and GitHub spellings). Every
 * one present must match.
 */
export const BODY_DIGEST_CLAIMS = [
  'body_sha256',
  'request_body_sha256',
  'sha256',
  'digest',
] as const;

export interface BudJwsVerifyOptions {
  /**
   * Clock skew allowed, in seconds, when a claims payload states `exp`, `nbf` or `iat`: between
   * Bud's clock and ours, and for a retry a little after the token's `exp` (a 401 is never
   * retried, so the event would be lost). @default 300
   */
  readonly clockToleranceSeconds?: number;
}

const notCovered: AuthResult = {
  ok: false,
  code: 'SIGNATURE_INVALID',
  message: 'X-Signature does not cover this body',
};
const invalid = (reason: string): AuthResult => ({
  ok: false,
  code: 'SIGNATURE_INVALID',
  message: `X-Signature invalid: ${reason}`,
});
const passed = (path: BudSignaturePath): AuthResult => ({
  ok: true,
  method: 'bud-jws',
  detail: { 'bud-jws': path },
});

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function parseJsonBytes(bytes: Uint8Array): JsonValue | undefined {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return undefined;
  }
  const parsed = parseStrictJson(text);
  return parsed.ok ? parsed.value : undefined;
}

/** The 32 bytes a digest claim states, or undefined when it is not a SHA-256 digest. */
function statedDigest(value: JsonValue | undefined): Buffer | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.replace(/^sha-?256[=:]/i, '');
  if (/^[0-9a-f]{64}$/i.test(text)) return Buffer.from(text, 'hex');
  // Node's base64 decoder reads the base64url alphabet too
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const bytes = Buffer.from(text, 'base64');
    return bytes.length === 32 ? bytes : undefined;
  }
  return undefined;
}

/** Why `exp`, `nbf` or `iat` puts the claims outside their time, or undefined if none does. */
function outOfTime(
  claims: ReadonlyMap<string, JsonValue>,
  nowSeconds: number,
  tolerance: number,
): string | undefined {
  const times: Record<string, number> = {};
  for (const name of ['exp', 'nbf', 'iat']) {
    const value = claims.get(name);
    if (value === undefined) continue;
    if (!(value instanceof JsonNumber) || !Number.isFinite(value.value)) {
      return `claim ${name} is not a NumericDate`;
    }
    times[name] = value.value;
  }
  const { exp, nbf, iat } = times;
  if (exp !== undefined && nowSeconds > exp + tolerance) {
    return `expired (exp is more than ${tolerance} s in the past)`;
  }
  if (nbf !== undefined && nbf > nowSeconds + tolerance) {
    return `not yet valid (nbf is more than ${tolerance} s in the future)`;
  }
  if (iat !== undefined && iat > nowSeconds + tolerance) {
    return `issued in the future (iat is more than ${tolerance} s ahead)`;
  }
  return undefined;
}

/**
 * Whether a verified payload covers the body: (exact) it is the body's bytes; (json) it is the
 * same JSON value — key order and whitespace aside, duplicate keys refused on either side; or
 * (digest) it is a claims object stating the SHA-256 of the body's bytes, within its `exp`,
 * `nbf` and `iat` when it states them.
 */
function coverage(signed: Uint8Array, request: AuthRequest, tolerance: number): AuthResult {
  const body = request.rawBody;
  if (Buffer.from(signed.buffer, signed.byteOffset, signed.byteLength).equals(body)) {
    return passed('exact');
  }
  const payload = parseJsonBytes(signed);
  if (payload === undefined) return notCovered;
  const sameJson = parseJsonBytes(body);
  if (sameJson !== undefined && jsonEqual(payload, sameJson)) return passed('json');
  if (!isJsonObject(payload)) return notCovered;
  const claims = payload; // narrowed, for the closure below
  const named = BODY_DIGEST_CLAIMS.filter((name) => claims.has(name));
  if (!named.length) return notCovered;
  const actual = createHash('sha256').update(body).digest();
  for (const name of named) {
    const stated = statedDigest(claims.get(name));
    if (!stated) return invalid(`claim ${name} is not a SHA-256 digest`);
    if (!constantTimeEqual(stated, actual)) return notCovered;
  }
  const late = outOfTime(claims, request.now / 1000, tolerance);
  return late ? invalid(late) : passed('digest');
}

/**
 * Verifies Bud's `X-Signature`, a compact JWS, with the key `X-Signing-ID` names in Bud's JWKS;
 * that key's own `alg` (when the JWK states one) and type pin the algorithm, so a token cannot
 * pick a weaker one. Bud documents it as a JWT "over the request body" without saying what the
 * payload is, and a 401 loses the event for good (Bud never retries a 4xx), so any payload that
 * binds this body passes (see `coverage`). A detached JWS (RFC 7515 appendix F:
 * `header..signature`) has the raw body bytes put back in as its payload.
 */
export function budJwsVerifier(
  keys: KeyResolver,
  options: BudJwsVerifyOptions = {},
): Authenticator {
  const tolerance = options.clockToleranceSeconds ?? 300;
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new RangeError('clockToleranceSeconds must be a number of seconds, 0 or more');
  }
  return async (request) => {
    const signature = singleHeader(request.headers, 'x-signature');
    const signingId = singleHeader(request.headers, 'x-signing-id');
    if (signature === null || signingId === null) {
      return { ok: false, code: 'SIGNATURE_INVALID', message: 'signature headers must not repeat' };
    }
    if (!signature)
      return { ok: false, code: 'SIGNATURE_MISSING', message: 'X-Signature header is required' };
    if (!signingId)
      return { ok: false, code: 'SIGNATURE_MISSING', message: 'X-Signing-ID header is required' };
    const parts = signature.trim().split('.');
    if (parts.length !== 3)
      return { ok: false, code: 'SIGNATURE_INVALID', message: 'X-Signature is not a compact JWS' };
    const [header = '', payload = '', sig = ''] = parts;
    // a key id is text in Bud's JWKS (JSON, UTF-8): read the header's bytes the same way
    const kid = headerText(signingId);
    const token = `${header}.${payload || request.rawBody.toString('base64url')}.${sig}`;
    let signed: Uint8Array;
    try {
      ({ payload: signed } = await compactVerify(
        token,
        async (protectedHeader, jws) => {
          try {
            return await keys({ ...protectedHeader, kid }, jws);
          } catch (err) {
            if (err instanceof joseErrors.JWKSMultipleMatchingKeys) throw err;
            // an unknown key id may be a key Bud has just rotated in, while the JWKS refetch is
            // cooling down: a 5xx makes Bud retry, where a 401 would lose the event for good
            throw new KeySourceUnavailableError(err);
          }
        },
        { algorithms: [...ALLOWED_JWS_ALGORITHMS] },
      ));
    } catch (err) {
      // we could not check: a 5xx, so the sender retries (see app.ts)
      if (err instanceof KeySourceUnavailableError) throw err;
      const reason =
        err instanceof joseErrors.JWKSNoMatchingKey
          ? `no key with id ${JSON.stringify(kid)} for this algorithm`
          : err instanceof joseErrors.JOSEAlgNotAllowed
            ? 'algorithm not allowed'
            : 'signature does not verify';
      return invalid(reason);
    }
    return coverage(signed, request, tolerance);
  };
}
