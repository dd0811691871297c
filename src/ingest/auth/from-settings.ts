import { budJwsVerifier, remoteKeys } from './bud-jws.js';
import type { KeyResolver } from './bud-jws.js';
import { ipAllowlist, parseCidrs } from './ip-allowlist.js';
import type { AuthSettings, PlaidApiSettings } from './modes.js';
import { plaidKeys, plaidVerifier } from './plaid.js';
import type { PlaidKeys } from './plaid.js';
import { sharedSecret } from './shared-secret.js';
import { standardWebhooksVerifier } from './standard-webhooks.js';
import type { Authenticator } from './types.js';
import { allOf } from './types.js';

/** The route's authenticator, or every setting that is missing or wrong for the chosen modes. */
export function authenticatorFromSettings(
  prefix: string,
  settings: AuthSettings,
  deps: {
    keys?: (url: string) => KeyResolver;
    jwks?: { cacheMaxAgeMs: number; cooldownMs: number };
    /** Plaid's API (PLAID_API_URL, PLAID_CLIENT_ID, PLAID_SECRET) for the `plaid` check. */
    plaid?: PlaidApiSettings;
  } = {},
):
  | { authenticator: Authenticator; problems: string[] }
  | { authenticator?: undefined; problems: string[] } {
  const problems: string[] = [];
  const checks: Authenticator[] = [];
  if (settings.modes.includes('none') && settings.modes.length > 1) {
    problems.push(`${prefix}_AUTH: "none" cannot be combined with other checks`);
  }
  for (const mode of settings.modes) {
    switch (mode) {
      case 'none':
        checks.push(() => Promise.resolve({ ok: true, method: 'none' }));
        break;
      case 'jwks':
        if (!settings.jwksUrl) {
          problems.push(`${prefix}_JWKS_URL: required when ${prefix}_AUTH includes jwks`);
        } else {
          const keys = deps.keys ?? ((url: string) => remoteKeys({ jwksUrl: url, ...deps.jwks }));
          checks.push(budJwsVerifier(keys(settings.jwksUrl)));
        }
        break;
      case 'hmac':
        if (!settings.webhookSecrets?.length) {
          problems.push(`${prefix}_WEBHOOK_SECRETS: required when ${prefix}_AUTH includes hmac`);
        } else checks.push(standardWebhooksVerifier(settings.webhookSecrets));
        break;
      case 'ip':
        if (!settings.allowedCidrs?.length) {
          problems.push(`${prefix}_ALLOWED_CIDRS: required when ${prefix}_AUTH includes ip`);
        } else {
          try {
            parseCidrs(settings.allowedCidrs);
            checks.push(ipAllowlist(settings.allowedCidrs));
          } catch (err) {
            problems.push(`${prefix}_ALLOWED_CIDRS: ${(err as Error).message}`);
          }
        }
        break;
      case 'plaid': {
        const keys = plaidKeysFrom(prefix, deps.plaid, problems);
        if (keys) checks.push(plaidVerifier(keys));
        break;
      }
      case 'secret':
        if (!settings.sharedSecret)
          problems.push(`${prefix}_SHARED_SECRET: required when ${prefix}_AUTH includes secret`);
        else checks.push(sharedSecret(settings.sharedSecretHeader, settings.sharedSecret));
        break;
    }
  }
  return problems.length ? { problems } : { authenticator: allOf(checks), problems };
}

/** Plaid's verification keys from the client's API settings, or the settings that are missing. */
function plaidKeysFrom(
  prefix: string,
  api: PlaidApiSettings | undefined,
  problems: string[],
): PlaidKeys | undefined {
  const missing = (['clientId', 'secret'] as const).filter((k) => !api?.[k]);
  for (const k of missing)
    problems.push(
      `${k === 'clientId' ? 'PLAID_CLIENT_ID' : 'PLAID_SECRET'}: required when ${prefix}_AUTH includes plaid`,
    );
  if (!api?.clientId || !api.secret) return undefined;
  try {
    return plaidKeys({ apiUrl: api.apiUrl, clientId: api.clientId, secret: api.secret });
  } catch (err) {
    problems.push(`PLAID_API_URL: ${(err as Error).message}`);
    return undefined;
  }
}
