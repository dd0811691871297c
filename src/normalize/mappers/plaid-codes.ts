import type { ActionRequired } from '../types.js';
import { lookup } from './common.js';

/**
 * What a Plaid `error.error_code` (ITEM / ERROR webhooks, and the rare error on a TRANSACTIONS
 * update) means for the client: the action the next refresh needs (RETRY_LATER: Plaid keeps
 * trying the Item and reports again), and whether the user must go through Link's update mode
 * (`reconnect_required`). From
 * Plaid's error reference (plaid.com/docs/errors: Item, Institution and API errors) and the
 * codes its OpenAPI names (`force_error`, `CreditBankIncomeErrorType`); the reason is ours.
 */
export interface PlaidErrorCode {
  readonly action: ActionRequired;
  /** The user must go through Link's update mode (or link the Item again). */
  readonly reconnect: boolean;
  /** Why, in a line. */
  readonly meaning: string;
}

const updateMode = (action: ActionRequired, meaning: string): PlaidErrorCode => ({
  action,
  reconnect: true,
  meaning,
});
const unsupported = (meaning: string): PlaidErrorCode => ({
  action: 'UNSUPPORTED',
  reconnect: false,
  meaning,
});
const temporary = (meaning: string): PlaidErrorCode => ({
  action: 'RETRY_LATER',
  reconnect: false,
  meaning,
});

export const PLAID_ERROR_CODES: Readonly<Record<string, PlaidErrorCode>> = {
  // the user must go through Link's update mode
  ITEM_LOGIN_REQUIRED: updateMode(
    'RECONNECT',
    'The login details changed (credentials, MFA, OAuth consent): Plaid asks for update mode.',
  ),
  INVALID_CREDENTIALS: updateMode(
    'UPDATE_CREDENTIALS',
    'The institution refused the credentials: the user re-enters them in update mode.',
  ),
  INVALID_UPDATED_USERNAME: updateMode(
    'UPDATE_CREDENTIALS',
    'The username given in update mode is not the one the Item was linked with.',
  ),
  INVALID_MFA: updateMode(
    'PROVIDE_MFA',
    'The MFA answer was wrong: the user answers again in update mode.',
  ),
  INVALID_SEND_METHOD: updateMode(
    'PROVIDE_MFA',
    'The MFA delivery method chosen is not valid: the user chooses again in update mode.',
  ),
  USER_INPUT_TIMEOUT: updateMode(
    'PROVIDE_MFA',
    'The user did not complete the MFA step in time: update mode asks again.',
  ),
  INSUFFICIENT_CREDENTIALS: updateMode(
    'RECONNECT',
    'The user did not complete the OAuth authorisation: they authorise again in update mode.',
  ),
  ACCESS_NOT_GRANTED: updateMode(
    'RECONNECT',
    'The user did not share the data the Item needs: they share it in update mode.',
  ),
  NO_ACCOUNTS: updateMode(
    'RECONNECT',
    'No open account is shared any more (closed or unshared): the user selects accounts in update mode.',
  ),
  USER_PERMISSION_REVOKED: updateMode(
    'RECONNECT',
    'The user revoked the permission they granted: only linking again restores it.',
  ),
  USER_ACCOUNT_REVOKED: updateMode(
    'RECONNECT',
    'The user revoked access to an account at the institution: they grant it again.',
  ),
  ITEM_NOT_FOUND: updateMode(
    'RECONNECT',
    'Plaid no longer has the Item (removed): the user links the institution again.',
  ),
  ITEM_CONCURRENTLY_DELETED: updateMode(
    'RECONNECT',
    'The Item was deleted while in use: the user links the institution again.',
  ),
  // the user must act at the institution first, then pass through update mode
  ITEM_LOCKED: updateMode(
    'ACT_AT_PROVIDER',
    'The institution locked the account (too many attempts): the user unlocks it with the bank.',
  ),
  USER_SETUP_REQUIRED: updateMode(
    'ACT_AT_PROVIDER',
    'The user must complete an action on the institution’s site (new terms, account setup).',
  ),
  PASSWORD_RESET_REQUIRED: updateMode(
    'ACT_AT_PROVIDER',
    'The institution requires the user to reset their password on its site.',
  ),
  // will not work whatever the user does
  ITEM_NOT_SUPPORTED: unsupported('Plaid cannot support this Item (account type, institution).'),
  MFA_NOT_SUPPORTED: unsupported('The institution’s MFA method is one Plaid does not support.'),
  PRODUCTS_NOT_SUPPORTED: unsupported('The institution does not support the requested product.'),
  PRODUCT_NOT_ENABLED: unsupported('The product is not enabled for the Item.'),
  NO_AUTH_ACCOUNTS: unsupported('The Item has no account the Auth product can use.'),
  NO_INVESTMENT_ACCOUNTS: unsupported('The Item has no investment account.'),
  NO_LIABILITY_ACCOUNTS: unsupported('The Item has no liability account.'),
  INSTITUTION_NO_LONGER_SUPPORTED: unsupported(
    'Plaid dropped the institution: no retry brings it back (UNSUPPORTED, not RETRY_LATER).',
  ),
  INSTITUTION_NOT_ENABLED_IN_ENVIRONMENT: unsupported(
    'The institution is not enabled in this Plaid environment.',
  ),
  INSTITUTION_REGISTRATION_REQUIRED: unsupported(
    'The institution needs the client to register with it first (an OAuth registration).',
  ),
  UNAUTHORIZED_INSTITUTION: unsupported('The client is not authorised for this institution.'),
  // temporary: Plaid keeps updating the Item and reports again
  INSTITUTION_DOWN: temporary('The institution is down (maintenance or an outage).'),
  INSTITUTION_NOT_RESPONDING: temporary('The institution is failing to answer some requests.'),
  INSTITUTION_NOT_AVAILABLE: temporary('The institution is unavailable for now.'),
  INTERNAL_SERVER_ERROR: temporary('An unexpected error at Plaid.'),
  PLANNED_MAINTENANCE: temporary('Plaid is in planned maintenance.'),
  PRODUCT_NOT_READY: temporary('Plaid has not finished pulling the data yet.'),
};

/**
 * An unknown (or absent) code: carried as sent in `result_code`, its action UNKNOWN — the Item's
 * next report decides (Plaid adds codes; a genuine webhook is never refused for one).
 */
export const UNKNOWN_PLAID_ERROR: PlaidErrorCode = {
  action: 'UNKNOWN',
  reconnect: false,
  meaning: 'Not a code refreshbus knows: carried as sent.',
};

export function plaidErrorCode(code: string | null): PlaidErrorCode {
  if (code === null) return UNKNOWN_PLAID_ERROR;
  return lookup(PLAID_ERROR_CODES, code) ?? UNKNOWN_PLAID_ERROR;
}

/** The webhooks the mapper turns into events, by `webhook_type` then `webhook_code`. */
export type PlaidKind =
  /** TRANSACTIONS / SYNC_UPDATES_AVAILABLE: the "fetch now" signal. */
  | 'sync'
  /** TRANSACTIONS / INITIAL_UPDATE, HISTORICAL_UPDATE, DEFAULT_UPDATE (`new_transactions`). */
  | 'legacy-update'
  /** ITEM / ERROR. */
  | 'item-error'
  /** ITEM / LOGIN_REPAIRED: ends a reconnect episode. */
  | 'login-repaired'
  /** ITEM / USER_PERMISSION_REVOKED, USER_ACCOUNT_REVOKED. */
  | 'revoked'
  /** ITEM / PENDING_EXPIRATION, PENDING_DISCONNECT: access stops soon. */
  | 'expiring';

export const PLAID_KINDS: Readonly<Record<string, Readonly<Record<string, PlaidKind>>>> = {
  TRANSACTIONS: {
    SYNC_UPDATES_AVAILABLE: 'sync',
    INITIAL_UPDATE: 'legacy-update',
    HISTORICAL_UPDATE: 'legacy-update',
    DEFAULT_UPDATE: 'legacy-update',
  },
  ITEM: {
    ERROR: 'item-error',
    LOGIN_REPAIRED: 'login-repaired',
    USER_PERMISSION_REVOKED: 'revoked',
    USER_ACCOUNT_REVOKED: 'revoked',
    PENDING_EXPIRATION: 'expiring',
    PENDING_DISCONNECT: 'expiring',
  },
};

/**
 * Genuine webhooks that are no refresh signal (dead-lettered UNUSED_EVENT): the other codes of
 * the two types above, and every webhook type Plaid's OpenAPI documents beside them (plaid/
 * plaid-openapi `2020-09-14.yml`, June 2026), whatever its code.
 */
export const PLAID_UNUSED_CODES: Readonly<Record<string, readonly string[]>> = {
  // /transactions/get's deletions and recurring streams: /transactions/sync reports both
  TRANSACTIONS: ['TRANSACTIONS_REMOVED', 'RECURRING_TRANSACTIONS_UPDATE'],
  // informational: nothing about the Item's data or access changes
  ITEM: ['NEW_ACCOUNTS_AVAILABLE', 'WEBHOOK_UPDATE_ACKNOWLEDGED'],
};

export const PLAID_UNUSED_TYPES: ReadonlySet<string> = new Set([
  'ASSETS',
  'AUTH',
  'BANK_TRANSFERS',
  'BASE_REPORT',
  'BEACON',
  'CASH_FLOW_UPDATES',
  'CHECK_REPORT',
  'CRA_INCOME',
  'CRA_INSIGHTS',
  'DASHBOARD_CONFIGURED_ALERT',
  'ENTITY_SCREENING',
  'HOLDINGS',
  'IDENTITY',
  'IDENTITY_VERIFICATION',
  'INCOME',
  'INVESTMENTS_TRANSACTIONS',
  'ISSUES',
  'LAYER',
  'LIABILITIES',
  'LINK',
  'PARTNER',
  'PAYMENT_INITIATION',
  'PROCESSOR_TOKEN',
  'PROTECT',
  'SCREENING',
  'STATEMENTS',
  'TRANSFER',
  'WALLET',
]);
