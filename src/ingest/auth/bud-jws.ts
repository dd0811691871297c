import { compactVerify, createRemoteJWKSet, errors as joseErrors } from 'jose';
import type { JWSHeaderParameters, FlattenedJWSInput, KeyObject, CryptoKey } from 'jose';
import type { Authenticator } from './types.js';
import { singleHeader } from './types.js';

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

/**
 * Verifies Bud's `X-Signature`: a compact JWS whose payload is the exact request body — attached,
 * or detached (RFC 7515 appendix F: `header..signature`), in which case the raw body bytes are
 * put back in. The key is the one `X-Signing-ID` names in Bud's JWKS; its own `alg` (when the JWK
 * states one) and type pin the algorithm, so a token cannot pick a weaker one.
 */
export function budJwsVerifier(keys: KeyResolver): Authenticator {
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
    const body = request.rawBody.toString('base64url');
    if (payload !== '' && payload !== body) {
      return {
        ok: false,
        code: 'SIGNATURE_INVALID',
        message: 'X-Signature does not cover this body',
      };
    }
    try {
      await compactVerify(
        `${header}.${body}.${sig}`,
        async (protectedHeader, token) => {
          try {
            return await keys({ ...protectedHeader, kid: signingId }, token);
          } catch (err) {
            if (err instanceof joseErrors.JWKSMultipleMatchingKeys) throw err;
            // an unknown key id may be a key Bud has just rotated in, while the JWKS refetch is
            // cooling down: a 5xx makes Bud retry, where a 401 would lose the event for good
            throw new KeySourceUnavailableError(err);
          }
        },
        { algorithms: [...ALLOWED_JWS_ALGORITHMS] },
      );
      return { ok: true, method: 'bud-jws' };
    } catch (err) {
      // we could not check: a 5xx, so the sender retries (see app.ts)
      if (err instanceof KeySourceUnavailableError) throw err;
      const reason =
        err instanceof joseErrors.JWKSNoMatchingKey
          ? `no key with id ${JSON.stringify(signingId)} for this algorithm`
          : err instanceof joseErrors.JOSEAlgNotAllowed
            ? 'algorithm not allowed'
            : 'signature does not verify';
      return { ok: false, code: 'SIGNATURE_INVALID', message: `X-Signature invalid: ${reason}` };
    }
  };
}
