/** How simulated calls authenticate, the way the ingest is configured to check them. */
import type { Config } from '../../config/config.js';
import type { AuthSettings } from '../../ingest/auth/modes.js';
import { signStandardWebhook } from '../../ingest/auth/standard-webhooks.js';
import type { PlaidSandbox } from '../plaid/sandbox.js';
import { SimulateError } from './errors.js';
import type { Route } from './types.js';

/** Headers that authenticate one attempt of a call (Plaid's JWT is signed asynchronously). */
export type Signer = (attempt: {
  webhookId: string;
  timestamp: number;
  body: Buffer;
}) => Record<string, string> | Promise<Record<string, string>>;

/** Each route's settings prefix (`<PREFIX>_AUTH`, …), as the ingest reads them. */
const ROUTE_PREFIX: Readonly<Record<Route, string>> = {
  '/webhooks/bud': 'BUD',
  '/webhooks/yodlee': 'YODLEE',
  '/webhooks/plaid': 'PLAID',
  '/refresh-requests': 'REFRESH_REQUESTS',
  '/connections/plaid': 'CONNECTIONS',
};

/** What signing as Plaid takes: the key of a {@link PlaidSandbox} the ingest fetches keys from. */
export interface SignerOptions {
  /**
   * The sandbox whose key server the ingest's `plaid` check uses (PLAID_API_URL and credentials
   * from it): Plaid webhooks are signed with its private key, as Plaid signs them.
   */
  readonly plaid?: Pick<PlaidSandbox, 'sign'>;
}

type Mode = AuthSettings['modes'][number];

/** One set of headers out of several. */
const merged = (parts: readonly Record<string, string>[]): Record<string, string> =>
  Object.assign({}, ...parts) as Record<string, string>;

/** The signer of one mode of a route's authentication, or why the simulator cannot sign it. */
function modeSigner(
  mode: Mode,
  route: Route,
  prefix: string,
  settings: AuthSettings,
  options: SignerOptions,
): Signer | string | undefined {
  switch (mode) {
    case 'none':
    case 'ip':
      return undefined;
    case 'hmac': {
      const secret = settings.webhookSecrets?.[0];
      if (!secret)
        return `${prefix}_WEBHOOK_SECRETS: needed to sign ${route} (${prefix}_AUTH includes hmac)`;
      return ({ webhookId, timestamp, body }) => ({
        'webhook-id': webhookId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signStandardWebhook(secret, webhookId, timestamp, body),
      });
    }
    case 'secret': {
      const { sharedSecret, sharedSecretHeader } = settings;
      if (!sharedSecret)
        return `${prefix}_SHARED_SECRET: needed to call ${route} (${prefix}_AUTH includes secret)`;
      return () => ({ [sharedSecretHeader]: sharedSecret });
    }
    case 'plaid': {
      const plaid = options.plaid;
      if (!plaid)
        return `${prefix}_AUTH includes plaid: ${route} then only accepts Plaid-Verification JWTs signed with Plaid's private key, which the simulator does not have. Run the ingest with ${prefix}_AUTH=hmac and ${prefix}_WEBHOOK_SECRETS=whsec_… and give the simulator the same settings (\`refreshbus demo\` instead signs with a local stand-in of Plaid's keys).`;
      return async ({ body }) => ({ 'plaid-verification': await plaid.sign(body) });
    }
    case 'jwks':
      return `${prefix}_AUTH includes jwks: ${route} then only accepts JWS signatures made with the sender's private key, which the simulator does not have. Run the ingest with ${prefix}_AUTH=hmac and ${prefix}_WEBHOOK_SECRETS=whsec_… (as \`refreshbus demo\` does) and give the simulator the same settings.`;
  }
}

/**
 * How to authenticate each route the way the ingest expects, from its own settings: Standard
 * Webhooks HMAC with the first of `<PREFIX>_WEBHOOK_SECRETS`, the shared-secret header, nothing
 * for `ip` and `none`, and Plaid's `Plaid-Verification` JWT with the key of `options.plaid`. Bud's
 * JWS needs Bud's private key, and Plaid's JWT Plaid's, which nobody but they have: a route that
 * requires `jwks`, or `plaid` without a sandbox the ingest takes keys from, cannot be simulated.
 * Throws listing every route that cannot be signed.
 */
export function signersFromAuth(
  auth: Config['auth'],
  routes: Iterable<Route>,
  options: SignerOptions = {},
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
      const signer = modeSigner(mode, route, prefix, settings, options);
      if (typeof signer === 'string') problems.push(signer);
      else if (signer) parts.push(signer);
    }
    signers[route] = (attempt) => {
      const headers = parts.map((sign) => sign(attempt));
      // synchronous unless a part signs asynchronously (Plaid's JWT)
      return headers.some((h) => h instanceof Promise)
        ? Promise.all(headers.map((h) => Promise.resolve(h))).then(merged)
        : merged(headers as Record<string, string>[]);
    };
  }
  if (problems.length) {
    throw new SimulateError(
      `cannot authenticate simulated calls:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  return signers;
}
