import { describe, expect, it } from 'vitest';
import { ProcessorDriver } from '../../support/processor-driver.js';
import { alertsProcessor } from '../../../src/processors/alerts/reduce.js';
import { roundsProcessor } from '../../../src/processors/rounds/reduce.js';
import { DEFAULT_ROUND_SETTINGS } from '../../../src/processors/rounds/state.js';
import type { ProcessorInput, ProcessorOutput } from '../../../src/processors/types.js';
import { budV1, yodlee } from '../../support/events.js';

const T0 = Date.parse('2026-11-23T11:00:00Z');
const MIN = 60_000;

function driver() {
  return new ProcessorDriver([roundsProcessor(), alertsProcessor()] as never, T0);
}
const feedAll = (d: ProcessorDriver, customer: string, inputs: ProcessorInput[]) =>
  inputs.flatMap((i) => d.feed(customer, i));
const kinds = (outputs: ProcessorOutput[]) => outputs.map((o) => o.kind);
const completions = (d: ProcessorDriver) =>
  d.outputs.flatMap((o) => (o.kind === 'completed' ? [o.value] : []));
const signals = (d: ProcessorDriver) =>
  d.outputs.flatMap((o) => (o.kind === 'new-transactions' ? [o.value] : []));
const alerts = (d: ProcessorDriver) =>
  d.outputs.flatMap((o) => (o.kind === 'alert' ? [o.value] : []));
const request = (
  customer: string,
  ids: { task_ids?: string[]; providers?: string[] },
  id = 'req-1',
): ProcessorInput => ({
  kind: 'request',
  request: {
    request_id: id,
    customer_id: customer,
    providers: ids.providers ?? [],
    task_ids: ids.task_ids ?? [],
    requested_at: T0,
  },
});

describe('1. Bud hosted refresh of a customer with two banks', () => {
  it('gives exactly one completion listing both, and one new-transactions signal', () => {
    const d = driver();
    feedAll(
      d,
      'c1',
      budV1(d.now, { customer: 'c1', task: 'a', provider: 'Bank_A', hasNew: 'true' }),
    );
    d.advance(10_000);
    feedAll(
      d,
      'c1',
      budV1(d.now, { customer: 'c1', task: 'b', provider: 'Bank_B', hasNew: 'false' }),
    );
    expect(completions(d)).toHaveLength(0); // the round settles before closing, so siblings can join
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    const [done, ...more] = completions(d);
    expect(more).toHaveLength(0);
    expect(done).toMatchObject({
      customer_id: 'c1',
      close_reason: 'ALL_REPORTED',
      all_succeeded: true,
      any_new_transactions: true,
      missing: [],
    });
    expect(done?.connections.map((c) => [c.provider, c.outcome, c.has_new_transactions])).toEqual([
      ['Bank_A', 'SUCCESS', true],
      ['Bank_B', 'SUCCESS', false],
    ]);
    expect(signals(d)).toMatchObject([
      { customer_id: 'c1', round_id: done?.round_id, providers: ['Bank_A'], task_ids: ['a'] },
    ]);
  });

  it('the next day, expects both known banks and waits for the second past the settle window', () => {
    const d = driver();
    feedAll(d, 'c1', budV1(d.now, { customer: 'c1', task: 'a1', provider: 'Bank_A' }));
    feedAll(d, 'c1', budV1(d.now, { customer: 'c1', task: 'b1', provider: 'Bank_B' }));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    expect(completions(d)).toHaveLength(1);
    d.advance(24 * 60 * MIN);
    feedAll(d, 'c1', budV1(d.now, { customer: 'c1', task: 'a2', provider: 'Bank_A' }));
    d.advance(10 * MIN);
    expect(completions(d)).toHaveLength(1); // Bank_B is expected and has not reported
    feedAll(d, 'c1', budV1(d.now, { customer: 'c1', task: 'b2', provider: 'Bank_B' }));
    expect(completions(d)).toHaveLength(2);
    expect(completions(d)[1]?.connections.map((c) => c.task_id)).toEqual(['a2', 'b2']);
  });
});

describe('2. three refreshes announced by a RefreshRequested', () => {
  it('completes once, when the third task reports, whatever the order and duplicates', () => {
    const d = driver();
    d.feed('c2', request('c2', { task_ids: ['t1', 't2', 't3'] }));
    const out = [
      ...feedAll(d, 'c2', budV1(d.now, { customer: 'c2', task: 't3', provider: 'P3' })),
      ...feedAll(
        d,
        'c2',
        budV1(d.now, { customer: 'c2', task: 't1', provider: 'P1', hasNew: true }),
      ),
      ...feedAll(
        d,
        'c2',
        budV1(d.now, { customer: 'c2', task: 't1', provider: 'P1', hasNew: true }),
      ), // delivered twice
    ];
    expect(out).toEqual([]);
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs * 3);
    expect(completions(d)).toHaveLength(0);
    const last = feedAll(d, 'c2', budV1(d.now, { customer: 'c2', task: 't2', provider: 'P2' }));
    expect(kinds(last)).toEqual(['completed', 'new-transactions']);
    expect(completions(d)[0]).toMatchObject({ close_reason: 'REQUESTED_TASKS_DONE', missing: [] });
    expect(completions(d)[0]?.connections.map((c) => c.task_id)).toEqual(['t1', 't2', 't3']);
    // the duplicate arriving again later changes nothing
    feedAll(d, 'c2', budV1(d.now, { customer: 'c2', task: 't1', provider: 'P1', hasNew: true }));
    d.advance(DEFAULT_ROUND_SETTINGS.quietDeadlineMs * 2);
    expect(completions(d)).toHaveLength(1);
    expect(signals(d)).toHaveLength(1);
  });
});

describe('3. Bud failure with retries', () => {
  it('a provider_failure then a success 20 minutes later raises no alert and completes with the success', () => {
    const d = driver();
    feedAll(
      d,
      'c3',
      budV1(d.now, {
        customer: 'c3',
        task: 't',
        provider: 'Bank',
        status: 'Failed',
        result: 'provider_failure',
        reconnect: false,
      }),
    );
    d.advance(20 * MIN);
    expect(completions(d)).toHaveLength(0); // a temporary failure is not final within the grace
    feedAll(d, 'c3', budV1(d.now, { customer: 'c3', task: 't', provider: 'Bank', hasNew: true }));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    expect(alerts(d)).toEqual([]);
    expect(completions(d)).toHaveLength(1);
    expect(completions(d)[0]?.connections).toMatchObject([
      { outcome: 'SUCCESS', result_code: 'success' },
    ]);
    expect(signals(d)).toHaveLength(1);
  });

  it('a temporary failure that is never retried becomes final after the grace', () => {
    const d = driver();
    feedAll(
      d,
      'c3',
      budV1(d.now, {
        customer: 'c3',
        task: 't',
        provider: 'Bank',
        status: 'Failed',
        result: 'provider_timeout',
      }),
    );
    d.advance(DEFAULT_ROUND_SETTINGS.retryGraceMs + 1);
    expect(completions(d)).toMatchObject([{ close_reason: 'ALL_REPORTED', all_succeeded: false }]);
  });
});

describe('4. reconnect_required twice, then success', () => {
  it('raises once and clears once', () => {
    const d = driver();
    const failure = {
      customer: 'c4',
      provider: 'Bank',
      status: 'Failed',
      result: 'connection_revoked',
      reconnect: true,
    };
    feedAll(d, 'c4', budV1(d.now, { ...failure, task: 'f1' }));
    d.advance(MIN);
    feedAll(d, 'c4', budV1(d.now, { ...failure, task: 'f2' }));
    d.advance(MIN);
    feedAll(d, 'c4', budV1(d.now, { customer: 'c4', task: 's', provider: 'Bank' }));
    expect(alerts(d).map((a) => [a.status, a.action_required])).toEqual([
      ['RAISED', 'RECONNECT'],
      ['CLEARED', 'NONE'],
    ]);
    expect(alerts(d)[1]?.first_failed_at).toBe(T0); // the episode began with the first failure
  });
});

describe('5. a provider never reports', () => {
  it('times out after the quiet deadline with it in missing', () => {
    const d = driver();
    d.feed('c5', request('c5', { providers: ['Bank_A', 'Bank_B'] }));
    feedAll(d, 'c5', budV1(d.now, { customer: 'c5', task: 'a', provider: 'Bank_A' }));
    d.advance(DEFAULT_ROUND_SETTINGS.quietDeadlineMs - 1);
    expect(completions(d)).toHaveLength(0);
    d.advance(1);
    expect(completions(d)).toMatchObject([
      { close_reason: 'TIMED_OUT', missing: ['Bank_B'], all_succeeded: false },
    ]);
  });
});

describe('6. Yodlee', () => {
  const base = { login: 'y1', accountId: 77 };
  it('INTERIM_PROGRESS twice then PROCESS_COMPLETED gives one completion, with new data', () => {
    const d = driver();
    feedAll(
      d,
      'y1',
      yodlee(d.now, {
        ...base,
        info: 'REFRESH.INTERIM_PROGRESS',
        status: 'IN_PROGRESS',
        additionalStatus: 'DATA_RETRIEVAL_IN_PROGRESS',
      }),
    );
    feedAll(
      d,
      'y1',
      yodlee(d.now, {
        ...base,
        info: 'REFRESH.INTERIM_PROGRESS',
        status: 'IN_PROGRESS',
        additionalStatus: 'ACCT_SUMMARY_RECEIVED',
      }),
    );
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs * 2);
    expect(completions(d)).toHaveLength(0); // still running
    feedAll(
      d,
      'y1',
      yodlee(d.now, {
        ...base,
        info: 'REFRESH.PROCESS_COMPLETED',
        status: 'SUCCESS',
        additionalStatus: 'AVAILABLE_DATA_RETRIEVED',
        lastUpdated: '2026-11-23T11:04:00Z',
        lastUpdateAttempt: '2026-11-23T11:04:00Z',
      }),
    );
    expect(completions(d)).toMatchObject([
      { close_reason: 'ALL_REPORTED', any_new_transactions: true },
    ]);
    expect(signals(d)).toHaveLength(1);
    expect(alerts(d)).toEqual([]);
  });

  it('a success whose data did not move forward brings no new-transactions signal', () => {
    const d = driver();
    const done = {
      ...base,
      info: 'REFRESH.PROCESS_COMPLETED' as const,
      status: 'SUCCESS',
      additionalStatus: 'AVAILABLE_DATA_RETRIEVED',
      lastUpdated: '2026-11-23T11:04:00Z',
      lastUpdateAttempt: '2026-11-23T11:04:00Z',
    };
    feedAll(d, 'y1', yodlee(d.now, done));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    feedAll(d, 'y1', yodlee(d.now, { ...done, lastUpdateAttempt: '2026-11-23T12:04:00Z' })); // attempted, nothing new
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    expect(completions(d)).toHaveLength(2);
    expect(signals(d)).toHaveLength(1);
  });

  it('FAILED with INCORRECT_CREDENTIALS / ALLOW_UPDATE_WITH_CREDENTIALS raises an UPDATE_CREDENTIALS alert', () => {
    const d = driver();
    feedAll(
      d,
      'y1',
      yodlee(d.now, {
        ...base,
        info: 'REFRESH.PROCESS_COMPLETED',
        status: 'FAILED',
        additionalStatus: 'INCORRECT_CREDENTIALS',
        eligibility: 'ALLOW_UPDATE_WITH_CREDENTIALS',
        lastUpdateAttempt: '2026-11-23T11:00:00Z',
      }),
    );
    expect(alerts(d)).toMatchObject([
      {
        status: 'RAISED',
        action_required: 'UPDATE_CREDENTIALS',
        connection_id: '77',
        result_code: 'INCORRECT_CREDENTIALS',
      },
    ]);
  });

  it('a late failure delivered after a newer success raises no alert', () => {
    const d = driver();
    feedAll(
      d,
      'y1',
      yodlee(d.now, {
        ...base,
        info: 'REFRESH.PROCESS_COMPLETED',
        status: 'SUCCESS',
        additionalStatus: 'AVAILABLE_DATA_RETRIEVED',
        lastUpdated: '2026-11-23T11:10:00Z',
        lastUpdateAttempt: '2026-11-23T11:10:00Z',
      }),
    );
    d.advance(MIN);
    feedAll(
      d,
      'y1',
      yodlee(d.now, {
        ...base,
        info: 'REFRESH.PROCESS_COMPLETED',
        status: 'FAILED',
        additionalStatus: 'CONSENT_EXPIRED',
        lastUpdateAttempt: '2026-11-23T11:05:00Z',
      }),
    );
    expect(alerts(d)).toEqual([]);
  });
});

describe('state', () => {
  it('is forgotten after the TTL when nothing is open', () => {
    const d = driver();
    feedAll(d, 'c9', budV1(d.now, { customer: 'c9', task: 'a', provider: 'Bank' }));
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    expect(d.state('rounds', 'c9')).toBeDefined();
    d.advance(DEFAULT_ROUND_SETTINGS.stateTtlMs);
    expect(d.state('rounds', 'c9')).toBeUndefined();
    expect(d.state('alerts', 'c9')).toBeUndefined();
  });

  it('keeps a raised alert past the TTL, so it can still clear', () => {
    const d = driver();
    feedAll(
      d,
      'c8',
      budV1(d.now, {
        customer: 'c8',
        task: 'f',
        provider: 'Bank',
        status: 'Failed',
        result: 'auth_expired',
        reconnect: true,
      }),
    );
    d.advance(DEFAULT_ROUND_SETTINGS.stateTtlMs * 2);
    expect(d.state('alerts', 'c8')).toBeDefined();
  });
});

describe('deadlines across a restart', () => {
  it('a deadline that passed while the processor was down fires as soon as its state is restored', () => {
    const before = driver();
    feedAll(before, 'c7', budV1(before.now, { customer: 'c7', task: 'a', provider: 'Bank_A' }));
    expect(completions(before)).toHaveLength(0);
    const saved = before.state('rounds', 'c7');
    // down for an hour: the settle window passed with nobody to close the round
    const after = new ProcessorDriver(
      [roundsProcessor(), alertsProcessor()] as never,
      T0 + 60 * MIN,
    );
    after.restore('rounds', 'c7', saved);
    after.advance(0);
    expect(completions(after)).toMatchObject([{ customer_id: 'c7', close_reason: 'ALL_REPORTED' }]);
  });
});

describe('progress notes without source times', () => {
  it('do not make the outcome that follows them look old (Yodlee interim, then completion)', () => {
    const d = driver();
    const base = { login: 'y9', accountId: 9 };
    // the completion carries Yodlee's time, which is earlier than our receipt of the interim notes
    d.now = Date.parse('2026-11-23T11:05:00Z');
    feedAll(
      d,
      'y9',
      yodlee(d.now, {
        ...base,
        info: 'REFRESH.INTERIM_PROGRESS',
        status: 'IN_PROGRESS',
        additionalStatus: 'DATA_RETRIEVAL_IN_PROGRESS',
      }),
    );
    feedAll(
      d,
      'y9',
      yodlee(d.now, {
        ...base,
        info: 'REFRESH.PROCESS_COMPLETED',
        status: 'FAILED',
        additionalStatus: 'CONSENT_EXPIRED',
        lastUpdateAttempt: '2026-11-23T11:00:00Z',
      }),
    );
    expect(alerts(d)).toMatchObject([{ status: 'RAISED', action_required: 'RECONNECT' }]);
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    expect(completions(d)).toMatchObject([
      { connections: [{ outcome: 'FAILED', action_required: 'RECONNECT' }] },
    ]);
  });

  it('never downgrade an outcome already reported in the round', () => {
    const d = driver();
    const base = { login: 'y8', accountId: 8 };
    feedAll(
      d,
      'y8',
      yodlee(d.now, {
        ...base,
        info: 'REFRESH.PROCESS_COMPLETED',
        status: 'SUCCESS',
        additionalStatus: 'AVAILABLE_DATA_RETRIEVED',
        lastUpdated: '2026-11-23T11:00:00Z',
        lastUpdateAttempt: '2026-11-23T11:00:00Z',
      }),
    );
    feedAll(
      d,
      'y8',
      yodlee(d.now, {
        ...base,
        info: 'REFRESH.INTERIM_PROGRESS',
        status: 'IN_PROGRESS',
        additionalStatus: 'ACCT_SUMMARY_RECEIVED',
      }),
    );
    d.advance(DEFAULT_ROUND_SETTINGS.settleMs);
    expect(completions(d)).toMatchObject([{ connections: [{ outcome: 'SUCCESS' }] }]);
  });
});
