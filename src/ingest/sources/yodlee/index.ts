import type { SourceDefinition } from '../types.js';
import { asKey, field } from '../types.js';

/** Yodlee: `{event:{info, loginName, data}}`, unsigned; admitted by source IP (and optionally a shared secret). */
export const yodlee: SourceDefinition = {
  name: 'yodlee',
  route: '/webhooks/yodlee',
  envPrefix: 'YODLEE',
  defaultAuth: ['ip'],
  keyOf: (body) => asKey(field(field(body, 'event'), 'loginName')),
};
