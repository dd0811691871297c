import type { SourceDefinition } from '../types.js';
import { asKey, field } from '../types.js';

/**
 * Plaid: flat `{webhook_type, webhook_code, item_id, …}` bodies, signed with an ES256 JWT in
 * `Plaid-Verification` (keys from Plaid's `/webhook_verification_key/get`). The body names the
 * Item, not the client's customer: the raw record is keyed by `item_id`, so an Item's webhooks
 * keep their order; the normalizer attributes them to the customer the Item is registered to
 * (`PUT /connections/plaid/{item_id}`).
 */
export const plaid: SourceDefinition = {
  name: 'plaid',
  route: '/webhooks/plaid',
  envPrefix: 'PLAID',
  defaultAuth: ['plaid'],
  keyOf: (body) => asKey(field(body, 'item_id')),
};
