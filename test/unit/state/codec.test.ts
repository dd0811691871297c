import { describe, expect, it } from 'vitest';
import { alertsProcessor } from '../../../src/processors/alerts/reduce.js';
import { roundsProcessor } from '../../../src/processors/rounds/reduce.js';
import { ProcessorDriver } from '../../support/processor-driver.js';
import avro from 'avsc';
import {
  ALERTS_STATE_SCHEMAS,
  ROUNDS_STATE_SCHEMAS,
  avroStateCodec,
} from '../../../src/state/codec.js';
import { budV1 } from '../../support/events.js';

const now = Date.parse('2026-11-23T10:00:00Z');

function driven() {
  const rounds = roundsProcessor();
  const alerts = alertsProcessor();
  const driver = new ProcessorDriver([rounds, alerts], now);
  for (const input of [
    ...budV1(now, { customer: 'customer-1', task: 'a', provider: 'Bank_A', hasNew: 'true' }),
    ...budV1(now, {
      customer: 'customer-1',
      task: 'b',
      provider: 'Bank_B',
      status: 'Failed',
      result: 'connection_revoked',
      reconnect: true,
    }),
  ])
    driver.feed('customer-1', input);
  return { rounds, alerts, driver };
}

describe('state codec', () => {
  it('round-trips real states and is a fraction of their JSON size', () => {
    const { rounds, alerts, driver } = driven();
    for (const [p, version] of [
      [rounds, 3],
      [alerts, 2],
    ] as const) {
      const state = driver.state(p.name, 'customer-1');
      expect(state).toBeDefined();
      const bytes = p.codec.encode(state as never);
      expect(bytes[0]).toBe(version);
      expect(p.codec.decode(bytes)).toEqual(state);
      expect(bytes.length).toBeLessThan(JSON.stringify(state).length / 2);
    }
  });

  it('reads states written as JSON by earlier versions', () => {
    const { alerts, driver } = driven();
    const state = driver.state('alerts', 'customer-1');
    expect(alerts.codec.decode(Buffer.from(JSON.stringify(state)))).toEqual(state);
  });

  it('refuses a state field the schema does not know instead of dropping it', () => {
    const codec = avroStateCodec<Record<string, unknown>>(ALERTS_STATE_SCHEMAS);
    const state = { customer_id: 'c', connections: {}, recent_event_ids: [], touched_at: 1 };
    expect(() => codec.encode({ ...state, surprise: 1 })).toThrow(
      'state field $.surprise is not in the state schema io.refreshbus.state.v1.AlertsState',
    );
    expect(() =>
      codec.encode({
        ...state,
        connections: {
          'p:Bank': {
            provider: 'Bank',
            connection_id: null,
            raised: false,
            action_required: 'NONE',
            result_code: null,
            first_failed_at: null,
            occurred_at: 1,
            extra: true,
          },
        },
      }),
    ).toThrow(/\$\.connections\.p:Bank\.extra is not in the state schema/);
  });

  it('rejects bytes in an unknown format', () => {
    const codec = avroStateCodec(ALERTS_STATE_SCHEMAS);
    expect(() => codec.decode(Buffer.from([0x03, 0x00]))).toThrow(
      'unknown state format (first byte 3)',
    );
  });

  it('reads states written by version 1 (changelogs of the last release) with the new fields defaulted', () => {
    const [v1] = ALERTS_STATE_SCHEMAS;
    const old = {
      customer_id: 'customer-1',
      connections: {
        'p:Bank': {
          provider: 'Bank',
          connection_id: null,
          raised: true,
          action_required: 'RECONNECT',
          result_code: 'connection_revoked',
          first_failed_at: 1,
          occurred_at: 1,
        },
      },
      recent_event_ids: ['e-1'],
      touched_at: 2,
    };
    const bytes = Buffer.concat([
      Buffer.from([1]),
      avro.Type.forSchema(v1 as avro.Schema).toBuffer(old),
    ]);
    const read = avroStateCodec(ALERTS_STATE_SCHEMAS).decode(bytes);
    expect(read).toEqual({
      ...old,
      connections: {
        'p:Bank': {
          ...old.connections['p:Bank'],
          reason: null,
          failed_task_ids: [],
          last_failed_at: null,
        },
      },
      consent_providers: {},
      succeeded_tasks: [],
    });

    const { driver } = driven();
    const rounds = driver.state('rounds', 'customer-1') as Record<string, unknown>;
    const roundsV1 = avro.Type.forSchema(ROUNDS_STATE_SCHEMAS[0] as avro.Schema);
    // what version 1 wrote: the same state without the fields added since
    const { consent_providers, finished_tasks, pending_deliveries, ...v1Rounds } = rounds;
    expect([consent_providers, pending_deliveries]).toEqual([{}, {}]);
    expect(finished_tasks).toBeDefined();
    const v1Bytes = Buffer.concat([
      Buffer.from([1]),
      roundsV1.toBuffer(roundsV1.clone(v1Rounds, { wrapUnions: false })),
    ]);
    const upgraded = roundsProcessor().codec.decode(v1Bytes);
    expect(upgraded).toMatchObject({
      consent_providers: {},
      finished_tasks: {},
      pending_deliveries: {},
    });
    expect(Object.values(upgraded.open?.connections ?? {}).map((c) => c.source)).toEqual([
      'BUD',
      'BUD',
    ]);
  });

  it('reads rounds written by version 2 with no word on siblings (null: read by source)', () => {
    const { driver } = driven();
    const rounds = driver.state('rounds', 'customer-1') as {
      open: { connections: Record<string, Record<string, unknown>> };
    };
    const connections = Object.values(rounds.open.connections);
    expect(connections.map((c) => c.siblings_may_follow)).toEqual([true, true]);
    // what version 2 wrote: the same state without the field
    const v2State = structuredClone(rounds);
    for (const c of Object.values(v2State.open.connections)) delete c.siblings_may_follow;
    const roundsV2 = avro.Type.forSchema(ROUNDS_STATE_SCHEMAS[1] as avro.Schema);
    const v2Bytes = Buffer.concat([
      Buffer.from([2]),
      roundsV2.toBuffer(roundsV2.clone(v2State, { wrapUnions: false })),
    ]);
    const upgraded = roundsProcessor().codec.decode(v2Bytes);
    expect(
      Object.values(upgraded.open?.connections ?? {}).map((c) => [c.source, c.siblings_may_follow]),
    ).toEqual([
      ['BUD', null],
      ['BUD', null],
    ]);
  });

  it('writes states larger than its scratch buffer, and each write is its own copy', () => {
    const codec = avroStateCodec<Record<string, unknown>>(ALERTS_STATE_SCHEMAS);
    const state = (n: number) => ({
      customer_id: 'customer-1',
      connections: {},
      consent_providers: {},
      succeeded_tasks: [],
      recent_event_ids: Array.from({ length: n }, (_, i) => `event-${String(i)}-${'x'.repeat(40)}`),
      touched_at: 1,
    });
    const big = codec.encode(state(500)); // ~25 KB
    const small = codec.encode(state(1));
    expect(big.length).toBeGreaterThan(20_000);
    expect(codec.decode(big)).toEqual(state(500));
    expect(codec.decode(small)).toEqual(state(1));
  });
});
