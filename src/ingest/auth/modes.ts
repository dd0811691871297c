/** The authentication checks a route can require (all listed must pass). */
export const AUTH_MODES = ['jwks', 'hmac', 'ip', 'secret', 'none'] as const;
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
