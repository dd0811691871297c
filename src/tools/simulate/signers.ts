/** How simulated calls authenticate, the way the ingest is configured to check them. */
import type { Config } from '../../config/config.js';
import { signStandardWebhook } from '../../ingest/auth/standard-webhooks.js';
import { SimulateError } from './errors.js';
import type { Route } from './types.js';

/** Headers that authenticate one attempt of a call. */
export type Signer = (attempt: {
  webhookId: string;
  timestamp: number;
  body: Buffer;
}) => Record<string, string>;

/** Each route's settings prefix (`<PREFIX>_AUTH`, …), as the ingest reads them. */
const ROUTE_PREFIX: Readonly<Record<Route, string>> = {
  '/webhooks/bud': 'BUD',
  '/webhooks/yodlee': 'YODLEE',
  '/refresh-requests': 'REFRESH_REQUESTS',
};

/**
 * How to authenticate each route the way the ingest expects, from its own settings: Standard
 * Webhooks HMAC with the first of `<PREFIX>_WEBHOOK_SECRETS`, the shared-secret header, nothing
 * for `ip` and `none`. Bud's JWS needs Bud's private key, which nobody but Bud has: a route
 * that requires `jwks` cannot be simulated. Throws listing every route that cannot be signed.
 */
export function signersFromAuth(
  auth: Config['auth'],
  routes: Iterable<Route>,
): Record<Route, Signer> {
  const problems: string[] = [];
  const signers = {} as Record<Route, Signer>;
  for (const route of new Set(routes)) {
    const prefix = ROUTE_PREFIX[route];
    const settings = auth[prefix];
    if (!settings) {
      problems.push(`${route}: no ${prefix}_AUTH settings`);
      continue;
    }
    const parts: Signer[] = [];
    for (const mode of settings.modes) {
      switch (mode) {
        case 'none':
        case 'ip':
          break;
        case 'hmac': {
          const secret = settings.webhookSecrets?.[0];
          if (!secret) {
            problems.push(
              `${prefix}_WEBHOOK_SECRETS: needed to sign ${route} (${prefix}_AUTH includes hmac)`,
            );
            break;
          }
          parts.push(({ webhookId, timestamp, body }) => ({
            'webhook-id': webhookId,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': signStandardWebhook(secret, webhookId, timestamp, body),
          }));
          break;
        }
        case 'secret': {
          const { sharedSecret, sharedSecretHeader } = settings;
          if (!sharedSecret) {
            problems.push(
              `${prefix}_SHARED_SECRET: needed to call ${route} (${prefix}_AUTH includes secret)`,
            );
            break;
          }
          parts.push(() => ({ [sharedSecretHeader]: sharedSecret }));
          break;
        }
        case 'jwks':
          problems.push(
            `${prefix}_AUTH includes jwks: ${route} then only accepts JWS signatures made with the sender's private key, which the simulator does not have. Run the ingest with ${prefix}_AUTH=hmac and ${prefix}_WEBHOOK_SECRETS=whsec_… (as \`refreshbus demo\` does) and give the simulator the same settings.`,
          );
          break;
      }
    }
    signers[route] = (attempt) =>
      Object.assign({}, ...parts.map((sign) => sign(attempt))) as Record<string, string>;
  }
  if (problems.length) {
    throw new SimulateError(
      `cannot authenticate simulated calls:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  return signers;
}
