/**
 * The simulator's scenarios, one builder per {@link ScenarioName}; each group lives in
 * scenarios/: Bud's refreshes (bud-refresh.ts), Bud's connections that need the user
 * (bud-reconnect.ts), Yodlee (yodlee.ts), Plaid's Items (plaid.ts), and calls that must change
 * nothing (late-and-unknown.ts), built from the pieces in episode.ts.
 */
import type { ScenarioName } from './types.js';
import {
  budConnectAfterRevoke,
  budConsent,
  budReconnect,
  budUnnamedFailure,
} from './scenarios/bud-reconnect.js';
import { budRequested, budRetry, budV1Hosted, budV2Hosted } from './scenarios/bud-refresh.js';
import type { Episode, ScenarioContext } from './scenarios/episode.js';
import { budStaleFailure, deadLetter, lateDelivery } from './scenarios/late-and-unknown.js';
import {
  plaidLoginRepaired,
  plaidPendingExpiration,
  plaidSync,
  plaidUnregistered,
} from './scenarios/plaid.js';
import { yodleePassword, yodleeRefresh, yodleeSingleAccount } from './scenarios/yodlee.js';

export type {
  Episode,
  EpisodeAlert,
  ScenarioContext,
  SourceClock,
  Step,
} from './scenarios/episode.js';
export { afterRoundGapMs, retryGapMs, siblingGapMs } from './scenarios/episode.js';

/** Every scenario's builder. Each draws only from its own generator: a customer's day is stable. */
export const scenarioBuilders: Readonly<Record<ScenarioName, (ctx: ScenarioContext) => Episode>> = {
  'bud-v1-hosted': budV1Hosted,
  'bud-v2-hosted': budV2Hosted,
  'bud-requested': budRequested,
  'bud-retry': budRetry,
  'bud-reconnect': budReconnect,
  'bud-consent': budConsent,
  'bud-connect-after-revoke': budConnectAfterRevoke,
  'bud-stale-failure': budStaleFailure,
  'bud-unnamed-failure': budUnnamedFailure,
  'yodlee-refresh': yodleeRefresh,
  'yodlee-single-account': yodleeSingleAccount,
  'yodlee-password': yodleePassword,
  'late-delivery': lateDelivery,
  'dead-letter': deadLetter,
  'plaid-sync': plaidSync,
  'plaid-login-repaired': plaidLoginRepaired,
  'plaid-pending-expiration': plaidPendingExpiration,
  'plaid-unregistered': plaidUnregistered,
};
