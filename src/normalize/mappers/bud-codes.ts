import type { ActionRequired } from '../types.js';
import { lookup } from './common.js';

/**
 * What a Bud `result` code means for the client: the action the next refresh needs and whether a
 * failure with this code is final (nothing Bud retries will change it) or temporary (Bud's hosted
 * refreshes retry it). From Bud's table of code ids (`reference/bud-api/code-ids.md`) and the
 * `ConnectResultCodes` enum of its OpenAPI; one table, used by the mapper and published in
 * `docs/sources.md` and `asyncapi.yaml`.
 */
export interface BudCode {
  readonly action: ActionRequired;
  readonly final: boolean;
  /** Bud's words, or ours where Bud has none (marked so). */
  readonly meaning: string;
}

const reconnect = (meaning: string): BudCode => ({ action: 'RECONNECT', final: true, meaning });
const temporary = (meaning: string): BudCode => ({ action: 'RETRY_LATER', final: false, meaning });
const unsupported = (meaning: string): BudCode => ({ action: 'UNSUPPORTED', final: true, meaning });
/** A failure of the request itself: this task is over, a later refresh may work. */
const requestError = (meaning: string): BudCode => ({
  action: 'RETRY_LATER',
  final: true,
  meaning,
});

export const BUD_RESULT_CODES: Readonly<Record<string, BudCode>> = {
  success: { action: 'NONE', final: true, meaning: 'The task succeeded.' },
  // the user has to go through the connect flow again
  auth_denied: reconnect('Authorisation process cancelled.'),
  auth_expired: reconnect('The authorisation url has expired.'),
  auth_used: reconnect('The authorisation was already used (not in Bud’s table).'),
  awaiting_authorisation: reconnect('The user has not authorised yet (not in Bud’s table).'),
  connection_expired: reconnect('The connection consent has expired. Re-authentication required.'),
  connection_not_found: reconnect('No active connection with the provider.'),
  connection_permission: reconnect(
    'The connection consent does not have the required permissions for this resource.',
  ),
  connection_reauthenticate: reconnect(
    'The connection must be re-authenticated (not in Bud’s table).',
  ),
  connection_revoked: reconnect(
    'The connection consent has been revoked. Re-authentication required.',
  ),
  connection_status: reconnect(
    'The connection consent is in the wrong status to perform the action.',
  ),
  consent_not_found: reconnect('The consent could not be found (not in Bud’s table).'),
  invalid_login: reconnect('Insufficient login credentials were provided.'),
  provider_reauthenticate: reconnect(
    'The provider has deemed this consent needs to be reauthenticated.',
  ),
  provider_unauthorised: reconnect('The provider refused the authorisation (not in Bud’s table).'),
  // the refresh will not work whatever the user does
  extension_not_permitted: unsupported('The extension is not permitted (not in Bud’s table).'),
  provider_endpoint_deprecated: unsupported('The provider has deprecated this endpoint.'),
  provider_endpoint_unimplemented: unsupported('The provider has not implemented this endpoint.'),
  provider_endpoint_unsupported: unsupported(
    'The provider does not support this endpoint (not in Bud’s table).',
  ),
  provider_marked_account_invalid: unsupported(
    'The provider marked the account invalid (not in Bud’s table).',
  ),
  provider_not_found: unsupported('Unknown provider.'),
  account_not_found: unsupported(
    'The account could not be found; it might be closed or suspended.',
  ),
  // this task failed for a reason of its own; a later refresh may work
  failed_body_decode: requestError('The request body could not be decoded (not in Bud’s table).'),
  failed_validation: requestError('A request validation process failed.'),
  request_validation: requestError('A request validation process failed.'),
  resource_not_found: requestError('A requested record or feature was not found.'),
  task_not_found: requestError('The specified task could not be found.'),
  unique_constraint: requestError('The request tried to create an existing record.'),
  // temporary: Bud retries
  internal_error: temporary('An unexpected internal error.'),
  internal_auth_error: temporary('An internal authorisation error (not in Bud’s table).'),
  internal_timeout: temporary('A task had timed out.'),
  internal_transient_error: temporary('An unexpected transient internal error.'),
  provider_failure: temporary('The provider has had an unexpected failure.'),
  provider_maintenance: temporary('The provider is temporarily unavailable due to maintenance.'),
  provider_request_limit: temporary('The provider rate limit has been exceeded.'),
  provider_timeout: temporary('The provider has taken too long to respond.'),
  provider_unavailable: temporary('The provider is unavailable (not in Bud’s table).'),
};

/** An unknown code: carried as sent, treated as temporary (Bud adds codes; none is ever refused). */
export const UNKNOWN_BUD_CODE: BudCode = temporary('Not a code refreshbus knows: carried as sent.');

export function budCode(result: string | null): BudCode {
  if (result === null) return UNKNOWN_BUD_CODE;
  return lookup(BUD_RESULT_CODES, result) ?? UNKNOWN_BUD_CODE;
}
