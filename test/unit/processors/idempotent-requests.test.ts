/**
 * A client's retried refresh request (its first attempt stored, yet answered 503 or timed out)
 * carries the same Idempotency-Key and is applied once per customer; seen in
 * cluster-broker-loss, where such a retry, stored after its round had closed, completed a round
 * of its own (an unexpected or doubled completion).
 */
import { describe, expect, it } from 'vitest';
import { roundsProcessor } from '../../../src/processors/rounds/reduce.js';
import type { RoundsState } from '../../../src/processors/rounds/state.js';
import type { ProcessorInput, RefreshRequestedValue } from '../../../src/processors/types.js';
import { budV1 } from '../../support/events.js';

const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const request = (id: string, key: string | null, at: number): ProcessorInput => ({
  kind: 'request',
  request: {
    request_id: id,
    customer_id: 'cust-1',
    providers: [],
    task_ids: ['t-1', 't-2'],
    idempotency_key: key,
    requested_at: at,
  } satisfies RefreshRequestedValue,
});

function run(inputs: [ProcessorInput, number][]) {
  const rounds = roundsProcessor();
  let state: RoundsState | undefined;
  const completions: string[] = [];
  const notes: string[] = [];
  for (const [input, at] of inputs) {
    const r = rounds.reduce(state, input, at);
    state = r.state;
    for (const o of r.outputs) if (o.kind === 'completed') completions.push(o.value.close_reason);
    notes.push(...(r.notes ?? []));
  }
  return { completions, notes };
}

const tasksDone = (at: number): [ProcessorInput, number][] =>
  [
    ...budV1(at, { customer: 'cust-1', task: 't-1', provider: 'Bank_A' }),
    ...budV1(at, { customer: 'cust-1', task: 't-2', provider: 'Bank_B' }),
  ].map((input) => [input, at]);

describe('refresh requests with an Idempotency-Key', () => {
  it('a retry stored after its round closed is set aside, not completed again', () => {
    const { completions, notes } = run([
      [request('ingest-1', 'key-1', T0), T0],
      ...tasksDone(T0 + 1000),
      [request('ingest-2', 'key-1', T0 + 5000), T0 + 5000],
    ]);
    expect(completions).toEqual(['REQUESTED_TASKS_DONE']);
    expect(notes).toEqual(['duplicate-request']);
  });

  it('a request with another key, or none, naming the finished tasks is answered at once', () => {
    for (const key of ['key-2', null]) {
      const { completions, notes } = run([
        [request('ingest-1', 'key-1', T0), T0],
        ...tasksDone(T0 + 1000),
        [request('ingest-2', key, T0 + 5000), T0 + 5000],
      ]);
      expect([key, completions]).toEqual([key, ['REQUESTED_TASKS_DONE', 'REQUESTED_TASKS_DONE']]);
      expect(notes).toEqual([]);
    }
  });
});
