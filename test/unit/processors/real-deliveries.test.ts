import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProcessorDriver } from '../../support/processor-driver.js';
import { alertsProcessor } from '../../../src/processors/alerts/reduce.js';
import { roundsProcessor } from '../../../src/processors/rounds/reduce.js';
import { DEFAULT_ROUND_SETTINGS } from '../../../src/processors/rounds/state.js';
import type { RoundsState } from '../../../src/processors/rounds/state.js';
import type { ProcessorInput, ProcessorOutput } from '../../../src/processors/types.js';
import { eventsFrom } from '../../support/events.js';

// Issue 15: each delivery as the sources really send it (Bud's own examples, the seeds), through
// the real mapper and the real reducers.

const T0 = Date.parse('2026-11-23T11:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const fixtures = path.join(import.meta.dirname, '../../fixtures/webhooks');

/** A fixture's body, with fields replaced (`data` merged for wrapped bodies). */
function body(name: string, data: Record<string, unknown> = {}): unknown {
  const f = JSON.parse(readFileSync(path.join(fixtures, `${name}.json`), 'utf8')) as {
    body: Record<string, unknown>;
  };
  const wrapped = f.body.data as Record<string, unknown> | undefined;
  return wrapped ? { ...f.body, data: { ...wrapped, ...data } } : { ...f.body, ...data };
}

const CUSTOMER = 'b6f898f8-99e8-4529-8e90-64d96fe05aa4';
const SEED = '82a90a04-4bdf-446a-932e-fb559ea99c29';

function driver() {
  return new ProcessorDriver([roundsProcessor(), alertsProcessor()] as never, T0);
}
function send(d: ProcessorDriver, source: 'bud' | 'yodlee', b: unknown, customer = CUSTOMER) {
  const inputs: ProcessorInput[] = eventsFrom(source, b, d.now).map((event) => ({
    kind: 'event',
    event,
  }));
  return inputs.flatMap((i) => d.feed(customer, i));
}
const completions = (o: ProcessorOutput[]) =>
  o.flatMap((x) => (x.kind === 'completed' ? [x.value] : []));
const signals = (o: ProcessorOutput[]) =>
  o.flatMap((x) => (x.kind === 'new-transactions' ? [x.value] : []));
const alerts = (o: ProcessorOutput[]) => o.flatMap((x) => (x.kind === 'alert' ? [x.value] : []));
/** The client says it started refreshes of these tasks (`POST /refresh-requests`). */
const request = (d: ProcessorDriver, id: string, taskIds: string[]) =>
  d.feed(CUSTOMER, {
    kind: 'request',
    request: {
      request_id: id,
      customer_id: CUSTOMER,
      providers: [],
      task_ids: taskIds,
      requested_at: d.now,
    },
  });

describe('Bud consent events, wrapped in data as Bud sends them', () => {
  it('a revoked consent raises an alert carrying Bud’s reason, and opens no round', () => {
    const d = driver();
    send(d, 'bud', body('bud-consent-revoked-wrapped-reason'));
    d.advance(3 * HOUR);
    expect(alerts(d.outputs)).toMatchObject([
      {
        status: 'RAISED',
        provider: 'Monzo',
        connection_id: '03af1639-78a6-402d-809b-902a0b00a77d',
        action_required: 'RECONNECT',
        result_code: 'consent_revoked',
        reason: 'access_token_error',
      },
    ]);
    expect(completions(d.outputs)).toEqual([]);
  });

  it.each([['bud-api-consent-reconfirmed-example'], ['bud-consent-reauthorised-wrapped']])(
    '%s clears the alert of the revoked consent',
    (name) => {
      const d = driver();
      send(d, 'bud', body('bud-api-consent-revoked-example'));
      d.advance(MIN);
      send(d, 'bud', body(name, { updated_at: '2023-10-04T09:00:00Z' }));
      expect(alerts(d.outputs).map((a) => [a.status, a.provider, a.reason])).toEqual([
        ['RAISED', 'Monzo', null],
        ['CLEARED', 'Monzo', null],
      ]);
    },
  );
});

describe('seed 001’s failure payload (reconnect_required, no provider, no consent)', () => {
  it('raises a customer-level alert, and later rounds are not held by its task id', () => {
    const d = driver();
    send(d, 'bud', body('bud-v1-hosted-failure-reconnect'));
    expect(alerts(d.outputs)).toMatchObject([
      { status: 'RAISED', provider: null, connection_id: null, action_required: 'RECONNECT' },
    ]);
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    expect(completions(d.outputs)).toHaveLength(1);
    const known = (d.state('rounds', CUSTOMER) as RoundsState).known;
    expect(Object.keys(known)).toEqual([]);

    // the next day: a refresh of a named connection completes after the settle window, not at
    // the 2-hour deadline, and nothing is missing
    d.advance(24 * HOUR);
    const before = d.outputs.length;
    send(d, 'bud', body('bud-api-refresh-completed-success', { task_id: 'next-day' }));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    const [next] = completions(d.outputs.slice(before));
    expect(next).toMatchObject({ close_reason: 'ALL_REPORTED', missing: [] });
    expect(signals(d.outputs.slice(before))).toHaveLength(1);
  });

  it('a sibling’s success moments later (another task, naming nothing) does not clear it', () => {
    const d = driver();
    send(d, 'bud', body('bud-v1-hosted-failure-reconnect'));
    d.advance(30_000);
    send(d, 'bud', body('bud-v1-hosted-success-booleans'));
    expect(alerts(d.outputs).map((a) => a.status)).toEqual(['RAISED']);
    // the next day's refresh fails again: still the same episode, nothing new
    d.advance(24 * HOUR);
    send(d, 'bud', body('bud-v1-hosted-failure-reconnect', { task_id: 'next-day-failure' }));
    d.advance(30_000);
    send(d, 'bud', body('bud-v1-hosted-success-booleans', { task_id: 'next-day-success' }));
    expect(alerts(d.outputs).map((a) => a.status)).toEqual(['RAISED']);
  });

  it('a success naming nothing, long after the last failure, clears it; so does the failed task’s own', () => {
    const d = driver();
    send(d, 'bud', body('bud-v1-hosted-failure-reconnect'));
    d.advance(24 * HOUR);
    send(d, 'bud', body('bud-v1-hosted-success-booleans'));
    expect(alerts(d.outputs).map((a) => a.status)).toEqual(['RAISED', 'CLEARED']);

    const again = driver();
    send(again, 'bud', body('bud-v1-hosted-failure-reconnect'));
    again.advance(MIN);
    send(
      again,
      'bud',
      body('bud-v1-hosted-success-booleans', { task_id: '030cf139-1d28-45f5-9721-7e8bdd55f005' }),
    );
    expect(alerts(again.outputs).map((a) => a.status)).toEqual(['RAISED', 'CLEARED']);
  });

  it('a connect clears it (the user acted)', () => {
    const d = driver();
    send(d, 'bud', body('bud-v1-hosted-failure-reconnect'), SEED);
    d.advance(MIN);
    send(
      d,
      'bud',
      body('bud-api-connect-completed-success', {
        customer_id: '82a90a04-4bdf-446a-932e-fb559ea99c29',
      }),
      '82a90a04-4bdf-446a-932e-fb559ea99c29',
    );
    expect(alerts(d.outputs).map((a) => a.status)).toEqual(['RAISED', 'CLEARED']);
  });

  it('an alert earlier versions raised under the failed task id is the customer’s now', () => {
    const d = driver();
    d.restore('alerts', SEED, {
      customer_id: SEED,
      connections: {
        't:030cf139-1d28-45f5-9721-7e8bdd55f005': {
          provider: null,
          connection_id: null,
          raised: true,
          action_required: 'RECONNECT',
          result_code: 'provider_failure',
          reason: null,
          first_failed_at: T0 - HOUR,
          occurred_at: T0 - HOUR,
          failed_task_ids: [],
          last_failed_at: null,
        },
      },
      consent_providers: {},
      succeeded_tasks: [],
      recent_event_ids: [],
      touched_at: T0 - HOUR,
    });
    send(d, 'bud', body('bud-v1-hosted-failure-reconnect', { task_id: 'another' }), SEED);
    expect(alerts(d.outputs)).toEqual([]); // the same episode: no second RAISED
    send(d, 'bud', body('bud-api-connect-completed-success', { customer_id: SEED }), SEED);
    expect(alerts(d.outputs)).toMatchObject([{ status: 'CLEARED', provider: null }]);
    const keys = Object.keys((d.state('alerts', SEED) as { connections: object }).connections);
    expect(keys.filter((k) => k.startsWith('t:'))).toEqual([]);
    expect(keys).toContain('customer');
  });
});

describe('V1 failures whose reconnect_required is absent: the code decides', () => {
  it.each([
    ['connection_expired'],
    ['connection_revoked'],
    ['provider_reauthenticate'],
    ['consent_not_found'],
  ])('%s raises an alert and closes the round at once, without the retry grace', (result) => {
    const d = driver();
    send(d, 'bud', body('bud-v1-code-only-connection-expired', { result }));
    expect(alerts(d.outputs)).toMatchObject([{ status: 'RAISED', action_required: 'RECONNECT' }]);
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    expect(completions(d.outputs)).toMatchObject([
      { close_reason: 'ALL_REPORTED', connections: [{ outcome: 'FAILED', result_code: result }] },
    ]);
  });

  it('a temporary code waits for Bud’s retry, and a present flag false wins over the code', () => {
    const d = driver();
    send(d, 'bud', body('bud-v1-flag-false-wins-over-code'));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    expect(alerts(d.outputs)).toEqual([]);
    expect(completions(d.outputs)).toEqual([]); // held by the retry grace
    d.advance(DEFAULT_ROUND_SETTINGS.retryGraceMs);
    expect(completions(d.outputs)).toHaveLength(1);
  });
});

describe('a task’s success is final', () => {
  it('a stale failure callback for a succeeded task raises nothing and leaves the round SUCCESS', () => {
    const d = driver();
    send(d, 'bud', body('bud-api-refresh-completed-success'));
    d.advance(10_000);
    const out = send(d, 'bud', body('bud-api-refresh-completed-failure'));
    expect(out).toEqual([]);
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    expect(alerts(d.outputs)).toEqual([]);
    expect(completions(d.outputs)).toMatchObject([
      { all_succeeded: true, connections: [{ outcome: 'SUCCESS' }] },
    ]);
  });

  it('a stale failure arriving after the round closed opens no new round', () => {
    const d = driver();
    send(d, 'bud', body('bud-api-refresh-completed-success'));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    send(d, 'bud', body('bud-api-refresh-completed-failure'));
    d.advance(3 * HOUR);
    expect(completions(d.outputs)).toHaveLength(1);
    expect(alerts(d.outputs)).toEqual([]);
  });

  it('the processors set the stale failure aside with a note the host counts', () => {
    const rounds = roundsProcessor();
    const [success] = eventsFrom('bud', body('bud-api-refresh-completed-success'), T0);
    const [failure] = eventsFrom('bud', body('bud-api-refresh-completed-failure'), T0 + 1);
    if (!success || !failure) throw new Error('fixtures map');
    const first = rounds.reduce(undefined, { kind: 'event', event: success }, T0);
    const second = rounds.reduce(first.state, { kind: 'event', event: failure }, T0 + 1);
    expect(second.notes).toEqual(['stale-failure-after-success']);
    const alertsP = alertsProcessor();
    const a1 = alertsP.reduce(undefined, { kind: 'event', event: success }, T0);
    const a2 = alertsP.reduce(a1.state, { kind: 'event', event: failure }, T0 + 1);
    expect(a2.notes).toEqual(['stale-failure-after-success']);
  });
});

describe('Bud connect tasks', () => {
  it('a successful connect ends the reconnect episode and opens no round', () => {
    const d = driver();
    send(d, 'bud', body('bud-api-refresh-completed-failure'));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    expect(completions(d.outputs)).toHaveLength(1);
    d.advance(HOUR);
    send(d, 'bud', body('bud-api-connect-completed-success'));
    d.advance(3 * HOUR);
    expect(alerts(d.outputs).map((a) => a.status)).toEqual(['RAISED', 'CLEARED']);
    expect(completions(d.outputs)).toHaveLength(1);
  });

  it('a failed connect changes no alert and opens no round', () => {
    const d = driver();
    send(d, 'bud', body('bud-api-connect-completed-failure'));
    d.advance(3 * HOUR);
    expect(d.outputs).toEqual([]);
  });

  it('a connect under a new consent clears the one connection waiting for the user', () => {
    const d = driver();
    send(d, 'bud', body('bud-api-consent-revoked-example'));
    send(d, 'bud', body('bud-api-connect-completed-success', { consent_id: 'new-consent' }));
    expect(alerts(d.outputs).map((a) => [a.status, a.provider])).toEqual([
      ['RAISED', 'Monzo'],
      ['CLEARED', 'Monzo'],
    ]);
  });
});

describe('hosted rounds after a reconnect', () => {
  const day = (d: ProcessorDriver) => d.advance(24 * HOUR);
  const lastCompletion = (d: ProcessorDriver) => completions(d.outputs).at(-1);

  it('a revoked consent (consent only) replaced by a new one is not waited for', () => {
    const d = driver();
    send(d, 'bud', body('bud-v1-code-only-connection-expired', { consent_id: 'C1' }));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    send(d, 'bud', body('bud-api-connect-completed-success', { consent_id: 'C2' }));
    day(d);
    send(d, 'bud', body('bud-api-refresh-completed-success', { consent_id: 'C2', task_id: 'd2' }));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    expect(lastCompletion(d)).toMatchObject({ close_reason: 'ALL_REPORTED', missing: [] });
    expect(alerts(d.outputs).map((a) => a.status)).toEqual(['RAISED', 'CLEARED']);
  });

  it('a provider’s revoked consent, reconnected under a consent that names no provider, is one connection', () => {
    const d = driver();
    send(
      d,
      'bud',
      body('bud-v1-code-only-connection-expired', { consent_id: 'C1', provider: 'Monzo' }),
    );
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    send(d, 'bud', body('bud-api-connect-completed-success', { consent_id: 'C2' }));
    day(d);
    // the seeds' shape: the provider and no consent
    send(d, 'bud', body('bud-v1-hosted-success-booleans', { provider: 'Monzo', task_id: 'd2' }));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    expect(lastCompletion(d)).toMatchObject({ close_reason: 'ALL_REPORTED', missing: [] });
    // and a report under the new consent alone is the same connection
    day(d);
    send(d, 'bud', body('bud-api-refresh-completed-success', { consent_id: 'C2', task_id: 'd3' }));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    expect(lastCompletion(d)).toMatchObject({ close_reason: 'ALL_REPORTED', missing: [] });
    expect(lastCompletion(d)?.connections.map((c) => c.provider)).toEqual(['Monzo']);
  });

  it('a connection waiting for the user is not expected in later hosted rounds until it reports again', () => {
    const d = driver();
    send(d, 'bud', body('bud-api-provider-refresh-completed-failure'));
    send(d, 'bud', body('bud-v1-seed-success-strings', { customer_id: CUSTOMER }));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    day(d);
    send(d, 'bud', body('bud-v1-seed-success-strings', { customer_id: CUSTOMER, task_id: 'd2' }));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    expect(lastCompletion(d)).toMatchObject({ close_reason: 'ALL_REPORTED', missing: [] });
    expect(lastCompletion(d)?.connections.map((c) => c.provider)).toEqual(['Capital_One']);
  });
});

describe('consent ↔ provider pairs', () => {
  it('a V2 success under the provider ends an episode opened under its consent (V1, consent only)', () => {
    const d = driver();
    const consent = '2c7b5faf-2d11-47b1-b9e6-ce95f195259b';
    send(d, 'bud', body('bud-api-refresh-completed-failure', { consent_id: consent }));
    d.advance(HOUR);
    send(d, 'bud', body('bud-api-provider-refresh-completed-success'));
    expect(alerts(d.outputs).map((a) => [a.status, a.connection_id])).toEqual([
      ['RAISED', consent],
      ['CLEARED', consent],
    ]);
  });

  it('a new consent at the same provider, after a reconnect, does not leave the old alert raised', () => {
    const d = driver();
    send(d, 'bud', body('bud-api-provider-refresh-completed-failure'));
    d.advance(HOUR);
    send(d, 'bud', {
      ...(body('bud-api-provider-refresh-completed-success') as object),
      task_id: 'after-reconnect',
      consent_ids: ['a-new-consent'],
    });
    expect(alerts(d.outputs).map((a) => [a.status, a.provider])).toEqual([
      ['RAISED', 'Bank_Of_Bud'],
      ['CLEARED', 'Bank_Of_Bud'],
    ]);
  });
});

describe('alerts on a change of the action needed', () => {
  it('raises again when MFA becomes a credentials update, and once only for repeats', () => {
    const d = driver();
    const account = (additionalStatus: string, eligibility: string) => ({
      event: {
        info: 'REFRESH.PROCESS_COMPLETED',
        loginName: 'fri21',
        data: {
          providerAccount: [
            {
              id: 10995860,
              providerId: 16441,
              status: 'FAILED',
              dataset: [
                { name: 'BASIC_AGG_DATA', additionalStatus, updateEligibility: eligibility },
              ],
            },
          ],
        },
      },
    });
    send(d, 'yodlee', account('ADDL_AUTHENTICATION_REQUIRED', 'ALLOW_UPDATE'), 'fri21');
    d.advance(MIN);
    send(d, 'yodlee', account('ADDL_AUTHENTICATION_REQUIRED', 'ALLOW_UPDATE'), 'fri21');
    d.advance(MIN);
    send(d, 'yodlee', account('INCORRECT_CREDENTIALS', 'ALLOW_UPDATE_WITH_CREDENTIALS'), 'fri21');
    expect(alerts(d.outputs).map((a) => [a.status, a.action_required])).toEqual([
      ['RAISED', 'PROVIDE_MFA'],
      ['RAISED', 'UPDATE_CREDENTIALS'],
    ]);
  });
});

describe('Yodlee rounds follow the FastLink process', () => {
  const seed = (name: string) => body(name) as { event: Record<string, unknown> };
  const twoAccounts = (info: string, status: string, additionalStatus: string) => ({
    event: {
      info,
      loginName: 'fri21',
      data: {
        providerAccount: [10995860, 10995861].map((id) => ({
          id,
          providerId: 16441,
          status,
          dataset: [
            {
              name: 'BASIC_AGG_DATA',
              additionalStatus,
              updateEligibility: 'ALLOW_UPDATE',
              lastUpdated: '2017-12-22T05:48:16Z',
            },
          ],
        })),
      },
    },
  });

  it('updating one of two known accounts completes at once with that account', () => {
    const d = driver();
    send(
      d,
      'yodlee',
      twoAccounts('REFRESH.PROCESS_COMPLETED', 'SUCCESS', 'AVAILABLE_DATA_RETRIEVED'),
      'fri21',
    );
    expect(completions(d.outputs)).toHaveLength(1);
    d.advance(24 * HOUR);
    const before = d.outputs.length;
    send(d, 'yodlee', seed('yodlee-seed-login-success'), 'fri21');
    expect(completions(d.outputs.slice(before))).toEqual([]);
    send(d, 'yodlee', seed('yodlee-seed-completed-success'), 'fri21');
    expect(completions(d.outputs.slice(before))).toMatchObject([
      { close_reason: 'ALL_REPORTED', missing: [], connections: [{ connection_id: '10995860' }] },
    ]);
  });

  it('a notification listing two accounts closes one round with both', () => {
    const d = driver();
    send(
      d,
      'yodlee',
      twoAccounts('REFRESH.PROCESS_COMPLETED', 'SUCCESS', 'AVAILABLE_DATA_RETRIEVED'),
      'fri21',
    );
    expect(completions(d.outputs)).toMatchObject([
      { connections: [{ connection_id: '10995860' }, { connection_id: '10995861' }] },
    ]);
  });

  it('a failure is final at once: no retry grace for a finished Yodlee process', () => {
    const d = driver();
    send(d, 'yodlee', seed('yodlee-seed-completed-failure-misspelt'), 'fri21');
    expect(completions(d.outputs)).toMatchObject([
      { close_reason: 'ALL_REPORTED', all_succeeded: false },
    ]);
  });

  it('new data is read from the transactions dataset, not from the profile', () => {
    const d = driver();
    const withProfile = (basic: string, profile: string) => ({
      event: {
        info: 'REFRESH.PROCESS_COMPLETED',
        loginName: 'fri21',
        data: {
          providerAccount: [
            {
              id: 1,
              providerId: 16441,
              status: 'SUCCESS',
              dataset: [
                {
                  name: 'BASIC_AGG_DATA',
                  additionalStatus: 'AVAILABLE_DATA_RETRIEVED',
                  lastUpdated: basic,
                },
                {
                  name: 'ACCT_PROFILE',
                  additionalStatus: 'AVAILABLE_DATA_RETRIEVED',
                  lastUpdated: profile,
                },
              ],
            },
          ],
        },
      },
    });
    send(d, 'yodlee', withProfile('2026-11-20T06:00:00Z', '2026-11-20T06:00:00Z'), 'fri21');
    d.advance(HOUR);
    // only the profile moved: no new transactions
    send(d, 'yodlee', withProfile('2026-11-20T06:00:00Z', '2026-11-23T06:00:00Z'), 'fri21');
    expect(signals(d.outputs)).toHaveLength(1);
    expect(completions(d.outputs)).toHaveLength(2);
  });
});

describe('new transactions when Bud does not say', () => {
  it('a Bud success without has_new_transactions counts as new data (an extra fetch beats a missed one)', () => {
    const d = driver();
    send(d, 'bud', body('bud-api-connect-completed-success', { task_type: 'refresh' }));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    expect(signals(d.outputs)).toHaveLength(1);
  });
});

describe('a RefreshRequested naming a task that already finished', () => {
  it('closes at once with that task’s result (Bud returns the previous task id within the hour)', () => {
    const d = driver();
    send(d, 'bud', body('bud-api-refresh-completed-success'));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    expect(completions(d.outputs)).toHaveLength(1);
    d.advance(20 * MIN);
    const out = request(d, 'again', ['03af1639-78a6-402d-809b-902a0b00a77d']);
    expect(completions(out)).toMatchObject([
      {
        close_reason: 'REQUESTED_TASKS_DONE',
        missing: [],
        connections: [{ task_id: '03af1639-78a6-402d-809b-902a0b00a77d', outcome: 'SUCCESS' }],
      },
    ]);
    expect(signals(out)).toEqual([]); // signalled in the round that saw it
  });

  it('keeps the new data of tasks that reported in the open round before the request came', () => {
    const d = driver();
    send(d, 'bud', body('bud-api-refresh-completed-success'));
    const out = request(d, 'late-request', ['03af1639-78a6-402d-809b-902a0b00a77d']);
    expect(completions(out)).toMatchObject([{ close_reason: 'REQUESTED_TASKS_DONE' }]);
    expect(signals(out)).toHaveLength(1);
  });
});

describe('review findings', () => {
  it('a Yodlee notification repeating an account already reported still lets the round close', () => {
    const d = driver();
    const note = (accounts: [number, string, string][]) => ({
      event: {
        info: accounts.every(([, status]) => status === 'SUCCESS')
          ? 'REFRESH.PROCESS_COMPLETED'
          : 'REFRESH.INTERIM_PROGRESS',
        loginName: 'fri21',
        data: {
          providerAccount: accounts.map(([id, status, additionalStatus]) => ({
            id,
            providerId: 16441,
            status,
            dataset: [
              { name: 'BASIC_AGG_DATA', additionalStatus, lastUpdated: '2026-11-23T06:00:00Z' },
            ],
          })),
        },
      },
    });
    send(
      d,
      'yodlee',
      note([
        [1, 'IN_PROGRESS', 'DATA_RETRIEVAL_IN_PROGRESS'],
        [2, 'LOGIN_IN_PROGRESS', 'LOGIN_IN_PROGRESS'],
      ]),
      'fri21',
    );
    // account 1 repeated unchanged: the same event as before
    send(
      d,
      'yodlee',
      note([
        [1, 'IN_PROGRESS', 'DATA_RETRIEVAL_IN_PROGRESS'],
        [2, 'IN_PROGRESS', 'ACCT_SUMMARY_RECEIVED'],
      ]),
      'fri21',
    );
    const out = send(
      d,
      'yodlee',
      note([
        [1, 'SUCCESS', 'AVAILABLE_DATA_RETRIEVED'],
        [2, 'SUCCESS', 'AVAILABLE_DATA_RETRIEVED'],
      ]),
      'fri21',
    );
    expect(completions(out)).toMatchObject([{ close_reason: 'ALL_REPORTED', missing: [] }]);
    expect((d.state('rounds', 'fri21') as RoundsState).pending_deliveries).toEqual({});
  });

  it('a request naming a V2 parent task that finished closes at once with its sub-tasks', () => {
    const d = driver();
    send(d, 'bud', body('bud-api-refresh-v2completed-success'));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs + 20 * MIN);
    const out = request(d, 'parent', ['03af1639-78a6-402d-809b-902a0b00a77d']);
    expect(completions(out)).toMatchObject([
      {
        close_reason: 'REQUESTED_TASKS_DONE',
        missing: [],
        connections: [{ provider: 'Bank_Of_Bud' }],
      },
    ]);
  });

  it('a consent revoked is not dropped as older than a task callback stamped with its receipt time', () => {
    const d = driver();
    d.now = Date.parse('2023-10-02T15:00:00Z'); // after the revocation's updated_at (14:05:55)
    send(
      d,
      'bud',
      body('bud-api-refresh-completed-success', {
        consent_id: '03af1639-78a6-402d-809b-902a0b00a77d',
      }),
    );
    send(d, 'bud', body('bud-api-consent-revoked-example'));
    expect(alerts(d.outputs)).toMatchObject([{ status: 'RAISED', result_code: 'consent_revoked' }]);
  });

  it('a remembered task under a consent is listed once its provider is known', () => {
    const d = driver();
    const consent = '2c7b5faf-2d11-47b1-b9e6-ce95f195259b';
    send(
      d,
      'bud',
      body('bud-api-refresh-completed-success', { consent_id: consent, task_id: 'T1' }),
    );
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    d.advance(10 * MIN);
    send(d, 'bud', body('bud-api-provider-refresh-completed-success', { task_id: 'T3' }));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    const out = request(d, 'both', ['T3', 'T1']);
    const [done] = completions(out);
    expect(done?.connections.map((c) => [c.provider, c.task_id])).toEqual([['Bank_Of_Bud', 'T3']]);
  });

  it('a connect of another bank while one waits for the user does not file that bank under the waiting provider', () => {
    const d = driver();
    send(d, 'bud', body('bud-api-provider-refresh-completed-failure'));
    send(d, 'bud', body('bud-api-connect-completed-success', { consent_id: 'B' }));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    send(d, 'bud', body('bud-api-refresh-completed-success', { consent_id: 'B', task_id: 'b1' }));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    const last = completions(d.outputs).at(-1);
    expect(last?.connections.map((c) => [c.provider, c.connection_id])).toEqual([[null, 'B']]);
    expect(signals(d.outputs).at(-1)?.providers).toEqual([]);
  });

  it('reports naming no connection leave no per-task history behind', () => {
    const d = driver();
    for (let day = 0; day < 5; day++) {
      send(d, 'bud', body('bud-v1-hosted-success-booleans', { task_id: `task-${String(day)}` }));
      d.advance(24 * HOUR);
    }
    expect((d.state('rounds', CUSTOMER) as RoundsState).last_occurred_at).toEqual({});
  });
});
