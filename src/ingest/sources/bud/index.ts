import type { SourceDefinition } from '../types.js';
import { asKey, field } from '../types.js';

/**
 * Bud: V1 `{data:{…}}`, V2 flat `open_banking.v2.refresh.*` events and consent events, signed
 * with a JWS in `X-Signature` (key id in `X-Signing-ID`).
 */
export const bud: SourceDefinition = {
  name: 'bud',
  route: '/webhooks/bud',
  envPrefix: 'BUD',
  defaultAuth: ['jwks'],
  keyOf: (body) =>
    asKey(field(field(body, 'data'), 'customer_id')) ?? asKey(field(body, 'customer_id')),
};
