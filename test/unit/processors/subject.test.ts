/**
 * The processors route an event and settle its round by what the event says — `subject` and
 * `siblings_may_follow`, decided by its source's mapper — not by the source's name.
 * Events (and round state) written before those fields existed are read as the versions before
 * read them.
 */
import { describe, expect, it } from 'vitest';
import type { RefreshEvent } from '../../../src/normalize/types.js';
import { alertsProcessor } from '../../../src/processors/alerts/reduce.js';
import { eventKind, siblingsMayFollow } from '../../../src/processors/identity.js';
import { roundsProcessor } from '../../../src/processors/rounds/reduce.js';
import { DEFAULT_ROUND_SETTINGS } from '../../../src/processors/rounds/state.js';
import type { ProcessorOutput } from '../../../src/processors/types.js';
import { budV1, yodlee } from '../../support/events.js';
import { ProcessorDriver } from '../../support/processor-driver.js';

const T0 = Date.parse('2026-11-23T11:00:00Z');
const { settleMs } = DEFAULT_ROUND_SETTINGS;

const driver = () => new ProcessorDriver([roundsProcessor(), alertsProcessor()] as never, T0);
const kinds = (o: ProcessorOutput[]) => o.map((x) => x.kind);

/** One event as a real mapper makes it, then changed where a test says. */
function only(inputs: ReturnType<typeof budV1>, over: Partial<RefreshEvent> = {}): RefreshEvent {
  const [input] = inputs;
  if (input?.kind !== 'event' || inputs.length !== 1) throw new Error('one event expected');
  return { ...input.event, ...over };
}
const budSuccess = (over: Partial<RefreshEvent> = {}) =>
  only(budV1(T0, { customer: 'c-1', task: 't-1', provider: 'Bank_A', hasNew: 'true' }), over);
const yodleeSuccess = (over: Partial<RefreshEvent> = {}) =>
  only(
    yodlee(T0, {
      login: 'c-1',
      info: 'REFRESH.PROCESS_COMPLETED',
      accountId: 10995860,
      status: 'SUCCESS',
      additionalStatus: 'AVAILABLE_DATA_RETRIEVED',
      lastUpdated: '2026-11-23T10:59:00Z',
    }),
    over,
  );
const yodleeFailure = (over: Partial<RefreshEvent> = {}) =>
  only(
    yodlee(T0, {
      login: 'c-1',
      info: 'REFRESH.PROCESS_COMPLETED',
      accountId: 10995860,
      status: 'FAILED',
      additionalStatus: 'CONSENT_EXPIRED',
    }),
    over,
  );

function feed(e: RefreshEvent) {
  const d = driver();
  return { d, outputs: d.feed(e.customer_id, { kind: 'event', event: e }) };
}

describe('the mappers say what each event is about', () => {
  it('as delivered: a Bud report may have siblings, a Yodlee process reports whole', () => {
    expect([budSuccess().subject, budSuccess().siblings_may_follow]).toEqual(['REFRESH', true]);
    expect([yodleeSuccess().subject, yodleeSuccess().siblings_may_follow]).toEqual([
      'REFRESH',
      false,
    ]);
  });
});

describe('a round settles by what its reports say, whatever their source', () => {
  it('a report saying siblings may follow waits the settle time (here: a Yodlee one)', () => {
    const { d, outputs } = feed(yodleeSuccess({ siblings_may_follow: true }));
    expect(kinds(outputs)).not.toContain('completed');
    expect(kinds(d.advance(settleMs - 1))).not.toContain('completed');
    expect(kinds(d.advance(1))).toContain('completed');
  });

  it('a report saying it is all its source reports completes at once (here: a Bud one)', () => {
    const { outputs } = feed(budSuccess({ siblings_may_follow: false }));
    expect(kinds(outputs)).toContain('completed');
  });

  it('as delivered: the Bud report waits, the Yodlee one completes at once', () => {
    const bud = feed(budSuccess());
    expect(kinds(bud.outputs)).not.toContain('completed');
    expect(kinds(bud.d.advance(settleMs))).toContain('completed');
    expect(kinds(feed(yodleeSuccess()).outputs)).toContain('completed');
  });
});

describe('what reaches the rounds and the alerts follows the subject', () => {
  it('a CONNECTION event opens no round and still raises its alert (here: a Yodlee one)', () => {
    const { d, outputs } = feed(yodleeFailure({ subject: 'CONNECTION' }));
    expect(kinds(outputs)).toEqual(['alert']);
    expect((d.state('rounds', 'c-1') as { open: unknown } | undefined)?.open ?? null).toBeNull();
    // the same report as a refresh opens a round (and completes it: a Yodlee process is whole)
    expect(kinds(feed(yodleeFailure()).outputs).sort()).toEqual(['alert', 'completed']);
  });

  it('an OTHER_TASK or a subject this version does not know changes nothing', () => {
    // UNKNOWN, or a symbol a newer normalizer writes: decoded with the writer's schema, it
    // arrives as itself
    for (const subject of [
      'OTHER_TASK',
      'UNKNOWN',
      'A_NEWER_SUBJECT',
    ] as RefreshEvent['subject'][]) {
      const { d, outputs } = feed(yodleeFailure({ subject }));
      expect(outputs).toEqual([]);
      expect(d.advance(settleMs)).toEqual([]);
    }
  });

  it('a CONNECT renews no round by itself and opens none', () => {
    const { d, outputs } = feed(budSuccess({ subject: 'CONNECT' }));
    expect(outputs).toEqual([]);
    expect(d.advance(settleMs)).toEqual([]);
  });
});

describe('events and round state written before the fields existed', () => {
  it('read their subject from source_event, as the versions before did', () => {
    const before = (source: RefreshEvent['source'], source_event: string) =>
      eventKind({ source, source_event, subject: null });
    expect(before('BUD', 'bud.v1.refresh')).toBe('REFRESH');
    expect(before('BUD', 'bud.v2.refresh.completed')).toBe('REFRESH');
    expect(before('BUD', 'bud.v1.connect')).toBe('CONNECT');
    expect(before('BUD', 'bud.consent.revoked')).toBe('CONNECTION');
    expect(before('BUD', 'bud.v1.revoke')).toBe('OTHER_TASK');
    expect(before('YODLEE', 'yodlee.REFRESH.PROCESS_COMPLETED')).toBe('REFRESH');
    expect(before('PLAID', 'plaid.transactions.sync_updates_available')).toBe('REFRESH');
    expect(before('PLAID', 'plaid.item.error')).toBe('CONNECTION');
  });

  it('read a round connection without the field by its source: only Bud may have siblings', () => {
    const kept = (source: string) => siblingsMayFollow({ source, siblings_may_follow: null });
    expect([kept('BUD'), kept('YODLEE'), kept('PLAID')]).toEqual([true, false, false]);
    // what a connection says wins over its source
    expect(siblingsMayFollow({ source: 'BUD', siblings_may_follow: false })).toBe(false);
    expect(siblingsMayFollow({ source: 'YODLEE', siblings_may_follow: true })).toBe(true);
  });

  it('behave as before end to end: a Bud report waits, a Yodlee one completes at once', () => {
    // decoded with the writer's schema, an event of the old schema has neither field
    const legacy = { subject: undefined, siblings_may_follow: undefined } as unknown as Pick<
      RefreshEvent,
      'subject' | 'siblings_may_follow'
    >;
    const bud = feed(budSuccess(legacy));
    expect(kinds(bud.outputs)).not.toContain('completed');
    expect(kinds(bud.d.advance(settleMs))).toContain('completed');
    expect(kinds(feed(yodleeSuccess(legacy)).outputs)).toContain('completed');
    // a Plaid ITEM report of those versions reaches the alerts only
    const item = feed(
      yodleeFailure({ ...legacy, source: 'PLAID', source_event: 'plaid.item.error' }),
    );
    expect(kinds(item.outputs)).toEqual(['alert']);
  });
});
