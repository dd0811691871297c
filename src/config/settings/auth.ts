import { z } from 'zod';
import { AUTH_MODES } from '../../ingest/auth/modes.js';
import { sources } from '../../ingest/sources/index.js';
import { csv } from './kinds.js';

/** Prefixes of the routes that authenticate: one per webhook source, plus the client API. */
export const authPrefixes: readonly {
  prefix: string;
  defaultAuth: readonly string[];
  what: string;
}[] = [
  ...sources.map((s) => ({
    prefix: s.envPrefix,
    defaultAuth: s.defaultAuth,
    what: `POST ${s.route}`,
  })),
  { prefix: 'REFRESH_REQUESTS', defaultAuth: ['hmac'], what: 'POST /refresh-requests' },
  { prefix: 'CONNECTIONS', defaultAuth: ['hmac'], what: 'PUT/DELETE /connections/…' },
];

export function authShape() {
  const shape: Record<string, z.ZodType> = {};
  for (const { prefix, defaultAuth, what } of authPrefixes) {
    shape[`${prefix}_AUTH`] = csv
      .pipe(z.array(z.enum(AUTH_MODES)))
      .default([...defaultAuth] as (typeof AUTH_MODES)[number][])
      .describe(`${what}: checks that must all pass (${AUTH_MODES.join(', ')}).`);
    // Bud's public keys, where its API reference (the X-Signing-ID header) says they are
    shape[`${prefix}_JWKS_URL`] = (
      prefix === 'BUD'
        ? z.url().default('https://assets.thisisbud.com/bud-callback.jwks')
        : z.url().optional()
    ).describe(`${what}: JWKS URL for jwks.`);
    shape[`${prefix}_WEBHOOK_SECRETS`] = csv
      .optional()
      .describe(
        `${what}: Standard Webhooks secrets (whsec_…) for hmac, comma-separated for rotation.`,
      );
    shape[`${prefix}_ALLOWED_CIDRS`] = csv
      .optional()
      .describe(`${what}: allowed source CIDRs for ip.`);
    shape[`${prefix}_SHARED_SECRET`] = z
      .string()
      .min(16)
      .optional()
      .describe(`${what}: shared secret for secret.`);
    shape[`${prefix}_SHARED_SECRET_HEADER`] = z
      .string()
      .min(1)
      .default('x-webhook-secret')
      .describe(`${what}: header carrying the shared secret.`);
  }
  return shape;
}
