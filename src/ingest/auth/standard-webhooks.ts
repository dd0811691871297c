import { createHmac } from 'node:crypto';
import { constantTimeEqual } from './constant-time.js';
import type { Authenticator } from './types.js';
import { headerBytes, singleHeader } from './types.js';

/** Standard Webhooks' default tolerance between `webhook-timestamp` and now. */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

/** Decodes a secret as Standard Webhooks writes it: `whsec_<base64>`; anything else is used as UTF-8 bytes. */
export function decodeSecret(secret: string): Buffer {
  return secret.startsWith('whsec_')
    ? Buffer.from(secret.slice('whsec_'.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/**
 * The `v1,<base64>` signature of `<id>.<timestamp>.<body>`, the id as UTF-8 — the bytes a sender
 * puts in the `webhook-id` header (for tests, the simulator and docs).
 */
export function signStandardWebhook(
  secret: string,
  id: string,
  timestamp: number,
  body: Buffer,
): string {
  const mac = createHmac('sha256', decodeSecret(secret))
    .update(`${id}.${timestamp}.`)
    .update(body)
    .digest('base64');
  return `v1,${mac}`;
}

/**
 * Verifies Standard Webhooks HMAC-SHA256 signatures (https://www.standardwebhooks.com): the
 * `webhook-signature` header holds space-separated `v1,<base64>` entries, any of which may match
 * any configured secret (so secrets can be rotated), and `webhook-timestamp` must be within the
 * tolerance of now.
 */
export function standardWebhooksVerifier(
  secrets: readonly string[],
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): Authenticator {
  const keys = secrets.map(decodeSecret);
  return (request) => {
    const id = singleHeader(request.headers, 'webhook-id');
    const timestamp = singleHeader(request.headers, 'webhook-timestamp');
    const signature = singleHeader(request.headers, 'webhook-signature');
    if (id === null || timestamp === null || signature === null) {
      return Promise.resolve({
        ok: false,
        code: 'SIGNATURE_INVALID',
        message: 'signature headers must not repeat',
      });
    }
    if (!id || !timestamp || !signature) {
      return Promise.resolve({
        ok: false,
        code: 'SIGNATURE_MISSING',
        message: 'webhook-id, webhook-timestamp and webhook-signature headers are required',
      });
    }
    const seconds = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : NaN;
    if (!Number.isFinite(seconds) || Math.abs(request.now / 1000 - seconds) > toleranceSeconds) {
      return Promise.resolve({
        ok: false,
        code: 'SIGNATURE_INVALID',
        message: 'webhook-timestamp is outside the tolerance',
      });
    }
    const offered = signature
      .split(' ')
      .filter((entry) => entry.startsWith('v1,'))
      .map((entry) => entry.slice(3));
    let matched = false;
    // the id's bytes as they were sent (and signed), not Node's Latin-1 reading of them as UTF-8
    const prefix = headerBytes(`${id}.${timestamp}.`);
    for (const key of keys) {
      const expected = createHmac('sha256', key)
        .update(prefix)
        .update(request.rawBody)
        .digest('base64');
      // compare against every entry without stopping early: timing tells nothing about which matched
      for (const candidate of offered) matched = constantTimeEqual(candidate, expected) || matched;
    }
    return Promise.resolve(
      matched
        ? { ok: true, method: 'standard-webhooks' }
        : { ok: false, code: 'SIGNATURE_INVALID', message: 'webhook-signature does not match' },
    );
  };
}
