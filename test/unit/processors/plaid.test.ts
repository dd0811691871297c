/**
 * Plaid webhooks (issue 19) through the real mapper, with a directory that knows the client's
 * Items (asked with the ingest's lower-case source, `plaid`), and the real reducers (rounds and
 * alerts) run by the ProcessorDriver, which encodes every output with its Avro schema.
 *
 * What is decided for Plaid:
 * - `plaid.transactions.*` webhooks are refresh reports (the mapper's `subject` REFRESH) that no
 *   sibling report follows (`siblings_may_follow` false): each Item's report completes its round
 *   immediately (no settle window);
 * - `plaid.item.*` webhooks (errors, repairs, revocations, expiry warnings) are about the
 *   connection (`subject` CONNECTION): they feed the alerts only, never a round;
 * - each delivery is an event of its own (the event id includes the ingest id): Plaid's identical
 *   bodies are not taken for re-deliveries; the same raw record read twice is one event;
 * - PENDING_EXPIRATION / PENDING_DISCONNECT is a WARNING alert with when access stops, none
 *   while the Item already has a RAISED alert, and no episode of its own.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mapRawWebhook } from '../../../src/normalize/mappers/index.js';
import type { ConnectionDirectory, RefreshEvent } from '../../../src/normalize/types.js';
import { alertsProcessor } from '../../../src/processors/alerts/reduce.js';
import { roundsProcessor } from '../../../src/processors/rounds/reduce.js';
import { DEFAULT_ROUND_SETTINGS } from '../../../src/processors/rounds/state.js';
import type { RoundsState } from '../../../src/processors/rounds/state.js';
import type {
  CustomerRefreshCompleted,
  NewTransactionsAvailable,
  ProcessorOutput,
  ReconnectAlert,
} from '../../../src/processors/types.js';
import { ProcessorDriver } from '../../support/processor-driver.js';

const T0 = Date.parse('2026-11-23T11:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const { settleMs, quietDeadlineMs, retryGraceMs } = DEFAULT_ROUND_SETTINGS;
const fixtures = path.join(import.meta.dirname, '../../fixtures/webhooks/plaid');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Plaid's example Item, and a second Item of the same customer (another bank). */
const ITEM_A = 'wz666MBjYWTp2PDzzggYhM6oWWmBb';
const ITEM_B = 'gAXlMgVEw5uEGoQnnXZ6tn9E7Mn3LBc4PJVKZ';
const CUSTOMER = 'customer-plaid-1';
const directory: ConnectionDirectory = {
  customerOf: (source, item) =>
    source === 'plaid' && (item === ITEM_A || item === ITEM_B) ? CUSTOMER : undefined,
};

/** A Plaid fixture's body (Plaid's own examples), with fields replaced. */
function body(name: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  const f = JSON.parse(readFileSync(path.join(fixtures, `${name}.json`), 'utf8')) as {
    body: Record<string, unknown>;
  };
  return { ...f.body, ...over };
}
const SYNC = 'plaid-api-sync-updates-available-example';
const LOGIN_REQUIRED = 'plaid-api-item-error-example';
const LOGIN_REPAIRED = 'plaid-api-login-repaired-example';
const PERMISSION_REVOKED = 'plaid-api-user-permission-revoked-example';
const ACCOUNT_REVOKED = 'plaid-api-user-account-revoked-example';
const PENDING_EXPIRATION = 'plaid-api-pending-expiration-example';
const PENDING_DISCONNECT = 'plaid-api-pending-disconnect-example';
const INSTITUTION_DOWN = 'plaid-edge-item-error-institution-down';
const UNKNOWN_ERROR = 'plaid-edge-item-error-unknown-code';
/**
 * A DEFAULT_UPDATE carrying INSTITUTION_NOT_RESPONDING: a failure asking RETRY_LATER, final as
 * every Plaid report (Plaid reports its retry in a webhook of its own).
 */
const UPDATE_WITH_ERROR = 'plaid-edge-default-update-with-error';
/** consent_expiration_time and disconnect_time of Plaid's examples. */
const EXAMPLE_EXPIRY = Date.parse('2020-01-15T13:25:17.766Z');

function driver() {
  return new ProcessorDriver([roundsProcessor(), alertsProcessor()] as never, T0);
}
let deliveries = 0;
/**
 * Delivers a Plaid webhook as production does: raw record → mapper (with the directory) →
 * processors. Each call is a delivery of its own (a new ingest id) unless `ingestId` names one.
 */
function deliver(
  d: ProcessorDriver,
  b: Record<string, unknown>,
  ingestId = `ingest-${String(++deliveries)}`,
): { outputs: ProcessorOutput[]; events: RefreshEvent[] } {
  const result = mapRawWebhook(
    {
      source: 'plaid',
      value: Buffer.from(JSON.stringify(b)),
      receivedAt: d.now,
      ingestId,
      topic: 'raw',
      partition: 0,
      offset: ++deliveries,
    },
    directory,
  );
  if (!result.ok) throw new Error(`does not map: ${result.code} ${result.message}`);
  const outputs = result.events.flatMap((event) => d.feed(CUSTOMER, { kind: 'event', event }));
  return { outputs, events: result.events };
}
const send = (d: ProcessorDriver, b: Record<string, unknown>, ingestId?: string) =>
  deliver(d, b, ingestId).outputs;
const completions = (o: ProcessorOutput[]) =>
  o.flatMap((x) => (x.kind === 'completed' ? [x.value] : []));
const signals = (o: ProcessorOutput[]) =>
  o.flatMap((x) => (x.kind === 'new-transactions' ? [x.value] : []));
const alerts = (o: ProcessorOutput[]) => o.flatMap((x) => (x.kind === 'alert' ? [x.value] : []));
const rounds = (d: ProcessorDriver) => d.state('rounds', CUSTOMER) as RoundsState | undefined;

/** The completion of a round of one Plaid Item that reported new data, opened and closed at `at`. */
function syncCompletion(item: string, at: number): CustomerRefreshCompleted {
  return {
    customer_id: CUSTOMER,
    round_id: expect.stringMatching(UUID) as string,
    opened_at: at,
    closed_at: at,
    close_reason: 'ALL_REPORTED',
    connections: [
      {
        provider: null,
        connection_id: item,
        task_id: null,
        outcome: 'SUCCESS',
        result_code: null,
        action_required: 'NONE',
        reconnect_required: false,
        has_new_transactions: true,
      },
    ],
    missing: [],
    connections_omitted: 0,
    missing_omitted: 0,
    all_succeeded: true,
    any_new_transactions: true,
  };
}
/** Plaid names neither a provider nor a task: the signal says only which round has new data. */
function syncSignal(roundId: string, at: number): NewTransactionsAvailable {
  return {
    customer_id: CUSTOMER,
    round_id: roundId,
    providers: [],
    task_ids: [],
    providers_omitted: 0,
    task_ids_omitted: 0,
    detected_at: at,
  };
}
/** What a round of one SYNC_UPDATES_AVAILABLE emits, in order: its completion, then its signal. */
function expectSyncRound(outputs: ProcessorOutput[], item: string, at: number): string {
  expect(outputs).toEqual([
    { kind: 'completed', value: syncCompletion(item, at) },
    { kind: 'new-transactions', value: syncSignal(expect.any(String) as unknown as string, at) },
  ]);
  const [completed] = completions(outputs);
  const roundId = completed?.round_id ?? '';
  expect(signals(outputs)).toEqual([syncSignal(roundId, at)]);
  return roundId;
}
/** A reconnect alert of the customer's Item, its id any deterministic UUID. */
function alertOf(over: Partial<ReconnectAlert>): ReconnectAlert {
  return {
    alert_id: expect.stringMatching(UUID) as string,
    customer_id: CUSTOMER,
    provider: null,
    connection_id: ITEM_A,
    status: 'RAISED',
    action_required: 'RECONNECT',
    result_code: null,
    reason: null,
    first_failed_at: null,
    at: T0,
    expires_at: null,
    ...over,
  };
}
const LOGIN_REQUIRED_REASON =
  "the login details of this item have changed (credentials, MFA, or required user action) and a user login is required to update this information. use Link's update mode to restore the item to a good state";

describe('(a) SYNC_UPDATES_AVAILABLE of one Item', () => {
  it('completes a round for the customer at once, with new transactions signalled; nothing follows', () => {
    const d = driver();
    expectSyncRound(send(d, body(SYNC)), ITEM_A, T0);
    expect(rounds(d)?.open).toBeNull();
    // no settle window, no quiet deadline: nothing more, ever
    d.advance(settleMs + quietDeadlineMs + DAY);
    expect(completions(d.outputs)).toHaveLength(1);
    expect(signals(d.outputs)).toHaveLength(1);
    expect(alerts(d.outputs)).toEqual([]);
  });

  it('the same raw record applied again (same ingest id: read again after a crash) is the same event: nothing more', () => {
    const d = driver();
    const first = deliver(d, body(SYNC), 'ingest-same');
    expectSyncRound(first.outputs, ITEM_A, T0);
    d.advance(30_000);
    const again = deliver(d, body(SYNC), 'ingest-same');
    expect(again.events.map((e) => e.event_id)).toEqual(first.events.map((e) => e.event_id));
    expect(again.outputs).toEqual([]);
    d.advance(quietDeadlineMs + DAY);
    expect(completions(d.outputs)).toHaveLength(1);
    expect(signals(d.outputs)).toHaveLength(1);
  });

  it('a delivery Plaid sends again (same body, another ingest id) is another event: a second round and signal', () => {
    const d = driver();
    const first = deliver(d, body(SYNC));
    const a = expectSyncRound(first.outputs, ITEM_A, T0);
    d.advance(30_000);
    const again = deliver(d, body(SYNC));
    expect(again.events[0]?.event_id).not.toBe(first.events[0]?.event_id);
    const b = expectSyncRound(again.outputs, ITEM_A, T0 + 30_000);
    expect(b).not.toBe(a);
    d.advance(quietDeadlineMs + DAY);
    expect(completions(d.outputs)).toHaveLength(2);
    expect(signals(d.outputs)).toHaveLength(2);
    expect(alerts(d.outputs)).toEqual([]);
  });

  it('a second SYNC_UPDATES_AVAILABLE of the Item a day later (the same body) signals new transactions again', () => {
    const d = driver();
    const a = expectSyncRound(
      send(d, body(SYNC, { historical_update_complete: true })),
      ITEM_A,
      T0,
    );
    d.advance(DAY);
    const b = expectSyncRound(
      send(d, body(SYNC, { historical_update_complete: true })),
      ITEM_A,
      T0 + DAY,
    );
    expect(b).not.toBe(a);
    expect(signals(d.outputs).map((s) => s.round_id)).toEqual([a, b]);
  });
});

describe('(b) a customer with two Plaid Items', () => {
  it('only Item A reports: its round closes at once, ALL_REPORTED; B is not waited for, not missing', () => {
    const d = driver();
    expectSyncRound(send(d, body(SYNC, { item_id: ITEM_A })), ITEM_A, T0);
    // nothing more at the quiet deadline: no TIMED_OUT round listing B
    d.advance(quietDeadlineMs + HOUR);
    expect(completions(d.outputs)).toHaveLength(1);
    expect(rounds(d)?.open).toBeNull();
  });

  it('Item B reporting later opens and completes a round of its own', () => {
    const d = driver();
    const a = expectSyncRound(send(d, body(SYNC, { item_id: ITEM_A })), ITEM_A, T0);
    d.advance(HOUR);
    const b = expectSyncRound(send(d, body(SYNC, { item_id: ITEM_B })), ITEM_B, T0 + HOUR);
    expect(a).not.toBe(b);
    expect(signals(d.outputs)).toHaveLength(2);
  });

  it('each Item’s report completes a round of its own, at once, even seconds apart', () => {
    const d = driver();
    const a = expectSyncRound(send(d, body(SYNC, { item_id: ITEM_A })), ITEM_A, T0);
    d.advance(30_000);
    const b = expectSyncRound(send(d, body(SYNC, { item_id: ITEM_B })), ITEM_B, T0 + 30_000);
    expect(a).not.toBe(b);
    d.advance(settleMs + quietDeadlineMs);
    expect(completions(d.outputs).map((c) => c.connections.map((x) => x.connection_id))).toEqual([
      [ITEM_A],
      [ITEM_B],
    ]);
    expect(signals(d.outputs).map((s) => s.round_id)).toEqual([a, b]);
  });

  it('a temporary failure of Item B does not hold Item A’s new-transactions signal', () => {
    const d = driver();
    expectSyncRound(send(d, body(SYNC, { item_id: ITEM_A })), ITEM_A, T0);
    d.advance(10_000);
    expect(send(d, body(INSTITUTION_DOWN, { item_id: ITEM_B }))).toEqual([]);
    d.advance(retryGraceMs + quietDeadlineMs);
    expect(completions(d.outputs)).toHaveLength(1);
    expect(signals(d.outputs)).toHaveLength(1);
    expect(alerts(d.outputs)).toEqual([]);
  });

  it('nor does one that came first: B’s Item error opens no round for A to wait in', () => {
    const d = driver();
    expect(send(d, body(INSTITUTION_DOWN, { item_id: ITEM_B }))).toEqual([]);
    d.advance(10_000);
    expectSyncRound(send(d, body(SYNC, { item_id: ITEM_A })), ITEM_A, T0 + 10_000);
    d.advance(retryGraceMs + quietDeadlineMs);
    expect(completions(d.outputs)).toHaveLength(1);
  });

  it('nor does a temporary failure in B’s transactions update that came first: A’s report completes and signals at once', () => {
    const d = driver();
    send(d, body(UPDATE_WITH_ERROR, { item_id: ITEM_B }));
    d.advance(10_000);
    const a = send(d, body(SYNC, { item_id: ITEM_A }));
    expect(signals(a)).toEqual([syncSignal(expect.any(String) as unknown as string, T0 + 10_000)]);
    expect(
      completions(a).map((c) => c.connections.filter((x) => x.connection_id === ITEM_A)),
    ).toEqual([syncCompletion(ITEM_A, T0 + 10_000).connections]);
  });
});

describe('(c) ITEM errors, ITEM_LOGIN_REQUIRED and LOGIN_REPAIRED', () => {
  it('the Item error raises a ReconnectAlert for the Item; LOGIN_REPAIRED clears it', () => {
    const d = driver();
    expect(send(d, body(LOGIN_REQUIRED))).toEqual([
      {
        kind: 'alert',
        value: alertOf({
          status: 'RAISED',
          action_required: 'RECONNECT',
          result_code: 'ITEM_LOGIN_REQUIRED',
          reason: LOGIN_REQUIRED_REASON,
          first_failed_at: T0,
          at: T0,
        }),
      },
    ]);
    d.advance(HOUR);
    expect(send(d, body(LOGIN_REPAIRED))).toEqual([
      {
        kind: 'alert',
        value: alertOf({
          status: 'CLEARED',
          action_required: 'NONE',
          result_code: 'LOGIN_REPAIRED',
          reason: null,
          first_failed_at: T0,
          at: T0 + HOUR,
        }),
      },
    ]);
    const [raised, cleared] = alerts(d.outputs);
    expect(raised?.alert_id).not.toBe(cleared?.alert_id);
  });

  it.each([
    [LOGIN_REQUIRED, 'ITEM_LOGIN_REQUIRED'],
    [INSTITUTION_DOWN, 'INSTITUTION_DOWN'],
    [UNKNOWN_ERROR, 'SOME_FUTURE_ERROR'],
  ])('%s (%s) is no refresh report: no round opens, no CustomerRefreshCompleted, ever', (name) => {
    const d = driver();
    const outputs = send(d, body(name));
    expect(completions(outputs)).toEqual([]);
    expect(rounds(d)?.open ?? null).toBeNull();
    d.advance(7 * DAY);
    expect(completions(d.outputs)).toEqual([]);
    expect(signals(d.outputs)).toEqual([]);
  });

  it('Plaid sending ITEM_LOGIN_REQUIRED again while the alert is raised raises nothing new', () => {
    const d = driver();
    send(d, body(LOGIN_REQUIRED));
    d.advance(HOUR);
    expect(send(d, body(LOGIN_REQUIRED))).toEqual([]);
    expect(alerts(d.outputs).map((a) => a.status)).toEqual(['RAISED']);
  });

  it('ITEM_LOGIN_REQUIRED again (the same body), weeks after LOGIN_REPAIRED, raises again', () => {
    const d = driver();
    send(d, body(LOGIN_REQUIRED));
    d.advance(HOUR);
    send(d, body(LOGIN_REPAIRED));
    d.advance(21 * DAY);
    expect(send(d, body(LOGIN_REQUIRED))).toEqual([
      {
        kind: 'alert',
        value: alertOf({
          status: 'RAISED',
          result_code: 'ITEM_LOGIN_REQUIRED',
          reason: LOGIN_REQUIRED_REASON,
          first_failed_at: T0 + HOUR + 21 * DAY,
          at: T0 + HOUR + 21 * DAY,
        }),
      },
    ]);
    expect(alerts(d.outputs).map((a) => a.status)).toEqual(['RAISED', 'CLEARED', 'RAISED']);
    expect(new Set(alerts(d.outputs).map((a) => a.alert_id)).size).toBe(3);
  });

  it('another Item’s success does not clear it', () => {
    const d = driver();
    send(d, body(LOGIN_REQUIRED, { item_id: ITEM_A }));
    d.advance(HOUR);
    expectSyncRound(send(d, body(SYNC, { item_id: ITEM_B })), ITEM_B, T0 + HOUR);
    expect(alerts(d.outputs).map((a) => [a.status, a.connection_id])).toEqual([['RAISED', ITEM_A]]);
  });

  it('a temporary institution error raises nothing, and emits nothing at all', () => {
    const d = driver();
    expect(send(d, body(INSTITUTION_DOWN))).toEqual([]);
    d.advance(retryGraceMs + quietDeadlineMs);
    expect(d.outputs).toEqual([]);
  });
});

describe('(d) USER_PERMISSION_REVOKED and USER_ACCOUNT_REVOKED', () => {
  it.each([
    [
      PERMISSION_REVOKED,
      'USER_PERMISSION_REVOKED',
      'the holder of this account has revoked their permission for your application to access it',
    ],
    [ACCOUNT_REVOKED, 'USER_ACCOUNT_REVOKED', null],
  ])('%s raises a RECONNECT alert, and completes no round', (name, code, reason) => {
    const d = driver();
    expect(send(d, body(name, { item_id: ITEM_B }))).toEqual([
      {
        kind: 'alert',
        value: alertOf({
          connection_id: ITEM_B,
          status: 'RAISED',
          action_required: 'RECONNECT',
          result_code: code,
          reason,
          first_failed_at: T0,
        }),
      },
    ]);
    d.advance(7 * DAY);
    expect(completions(d.outputs)).toEqual([]);
  });
});

describe('(e) PENDING_EXPIRATION and PENDING_DISCONNECT, the early warning', () => {
  it('PENDING_EXPIRATION: one WARNING, RECONNECT_SOON, expiring at the consent_expiration_time', () => {
    const d = driver();
    expect(send(d, body(PENDING_EXPIRATION))).toEqual([
      {
        kind: 'alert',
        value: alertOf({
          status: 'WARNING',
          action_required: 'RECONNECT_SOON',
          result_code: 'PENDING_EXPIRATION',
          reason: null,
          first_failed_at: null,
          at: T0,
          expires_at: EXAMPLE_EXPIRY,
        }),
      },
    ]);
  });

  it('PENDING_DISCONNECT: one WARNING, expiring at the disconnect_time, with Plaid’s reason', () => {
    const d = driver();
    expect(send(d, body(PENDING_DISCONNECT))).toEqual([
      {
        kind: 'alert',
        value: alertOf({
          status: 'WARNING',
          action_required: 'RECONNECT_SOON',
          result_code: 'PENDING_DISCONNECT',
          reason: 'INSTITUTION_MIGRATION',
          first_failed_at: null,
          at: T0,
          expires_at: EXAMPLE_EXPIRY,
        }),
      },
    ]);
  });

  it('a warning that does not say when access stops: expires_at null', () => {
    const d = driver();
    expect(
      alerts(send(d, body(PENDING_EXPIRATION, { consent_expiration_time: undefined }))),
    ).toEqual([
      alertOf({
        status: 'WARNING',
        action_required: 'RECONNECT_SOON',
        result_code: 'PENDING_EXPIRATION',
        expires_at: null,
      }),
    ]);
  });

  it('while ITEM_LOGIN_REQUIRED is RAISED, PENDING_EXPIRATION of that Item emits nothing (another Item’s still warns)', () => {
    const d = driver();
    send(d, body(LOGIN_REQUIRED, { item_id: ITEM_A }));
    d.advance(MIN);
    expect(send(d, body(PENDING_EXPIRATION, { item_id: ITEM_A }))).toEqual([]);
    expect(alerts(send(d, body(PENDING_EXPIRATION, { item_id: ITEM_B })))).toEqual([
      alertOf({
        connection_id: ITEM_B,
        status: 'WARNING',
        action_required: 'RECONNECT_SOON',
        result_code: 'PENDING_EXPIRATION',
        at: T0 + MIN,
        expires_at: EXAMPLE_EXPIRY,
      }),
    ]);
    expect(alerts(d.outputs).map((a) => [a.status, a.connection_id])).toEqual([
      ['RAISED', ITEM_A],
      ['WARNING', ITEM_B],
    ]);
  });

  it('once LOGIN_REPAIRED has cleared the alert, the Item warns again', () => {
    const d = driver();
    send(d, body(LOGIN_REQUIRED));
    d.advance(HOUR);
    send(d, body(LOGIN_REPAIRED));
    d.advance(HOUR);
    expect(alerts(send(d, body(PENDING_EXPIRATION)))).toEqual([
      alertOf({
        status: 'WARNING',
        action_required: 'RECONNECT_SOON',
        result_code: 'PENDING_EXPIRATION',
        at: T0 + 2 * HOUR,
        expires_at: EXAMPLE_EXPIRY,
      }),
    ]);
  });

  it('a WARNING is no episode: a later LOGIN_REPAIRED emits no CLEARED; a later error raises with its own first_failed_at', () => {
    const d = driver();
    send(d, body(PENDING_EXPIRATION));
    d.advance(HOUR);
    expect(send(d, body(LOGIN_REPAIRED))).toEqual([]);
    d.advance(HOUR);
    expect(alerts(send(d, body(LOGIN_REQUIRED)))).toEqual([
      alertOf({
        status: 'RAISED',
        result_code: 'ITEM_LOGIN_REQUIRED',
        reason: LOGIN_REQUIRED_REASON,
        first_failed_at: T0 + 2 * HOUR,
        at: T0 + 2 * HOUR,
      }),
    ]);
    expect(alerts(d.outputs).map((a) => a.status)).toEqual(['WARNING', 'RAISED']);
  });

  it.each([PENDING_EXPIRATION, PENDING_DISCONNECT])(
    '%s opens no round: no CustomerRefreshCompleted, ever',
    (name) => {
      const d = driver();
      expect(completions(send(d, body(name)))).toEqual([]);
      expect(rounds(d)?.open ?? null).toBeNull();
      d.advance(quietDeadlineMs + 7 * DAY);
      expect(completions(d.outputs)).toEqual([]);
      expect(signals(d.outputs)).toEqual([]);
      expect(alerts(d.outputs).map((a) => a.status)).toEqual(['WARNING']);
    },
  );

  it('a refresh of the warned Item afterwards completes its round as any other (RECONNECT_SOON is in no completion)', () => {
    const d = driver();
    send(d, body(PENDING_EXPIRATION));
    d.advance(MIN);
    expectSyncRound(send(d, body(SYNC)), ITEM_A, T0 + MIN);
    expect(alerts(d.outputs).map((a) => a.status)).toEqual(['WARNING']);
  });
});
