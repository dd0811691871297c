/** The authentication checks a route can require (all listed must pass). */
export const AUTH_MODES = ['jwks', 'hmac', 'ip', 'secret', 'plaid', 'none'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/** Settings of one route's authentication, read from `<PREFIX>_…` variables. */
export interface AuthSettings {
  readonly modes: readonly AuthMode[];
  readonly jwksUrl?: string | undefined;
  readonly webhookSecrets?: readonly string[] | undefined;
  readonly allowedCidrs?: readonly string[] | undefined;
  readonly sharedSecret?: string | undefined;
  readonly sharedSecretHeader: string;
}

/** Plaid's verification-key endpoint and the client's API credentials (the `plaid` check). */
export interface PlaidApiSettings {
  readonly apiUrl: string;
  readonly clientId?: string | undefined;
  readonly secret?: string | undefined;
}
