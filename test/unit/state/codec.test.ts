import { describe, expect, it } from 'vitest';
import { alertsProcessor } from '../../../src/processors/alerts/reduce.js';
import { roundsProcessor } from '../../../src/processors/rounds/reduce.js';
import { ProcessorDriver } from '../../../src/processors/driver.js';
import { ALERTS_STATE_SCHEMAS, avroStateCodec } from '../../../src/state/codec.js';
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
    for (const p of [rounds, alerts]) {
      const state = driver.state(p.name, 'customer-1');
      expect(state).toBeDefined();
      const bytes = p.codec.encode(state as never);
      expect(bytes[0]).toBe(2);
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
});
