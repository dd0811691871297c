import { describe, expect, it } from 'vitest';
import { PartitionHealth } from '../../../src/observability/partition-health.js';

const STALL = 30_000;
const T0 = 1_000_000;

/** A tracker of raw partitions 0 and 1, assigned at T0. */
function tracker() {
  const health = new PartitionHealth(STALL);
  health.assigned({ raw: [0, 1] }, T0);
  return health;
}

const stalledNames = (health: PartitionHealth, now: number) =>
  health.stalled(now).map((p) => `${p.topic}/${String(p.partition)}`);

describe('PartitionHealth', () => {
  it('calls a partition stalled once its input has waited the stall limit without a commit', () => {
    const health = tracker();
    health.lagsPolled(
      [
        { topic: 'raw', partition: 0, lag: 12 },
        { topic: 'raw', partition: 1, lag: 0 },
      ],
      T0 + 500,
    );
    health.failed('raw', 0, 'UNKNOWN', T0 + 1000);
    expect(health.stalled(T0 + 1000 + STALL - 1)).toEqual([]);
    expect(health.stalled(T0 + 1000 + STALL)).toEqual([
      { topic: 'raw', partition: 0, stalledMs: STALL, lag: 12, failing: true },
    ]);
  });

  it('never calls a partition stalled for its lag alone: an aborted transaction at its end leaves lag 2 or more', () => {
    const health = tracker();
    health.committed('raw', 0, 3, T0);
    health.lagsPolled(
      [
        { topic: 'raw', partition: 0, lag: 3 },
        { topic: 'raw', partition: 1, lag: 7 },
      ],
      T0 + 1000,
    );
    expect(health.stalled(T0 + 10 * STALL)).toEqual([]);
    expect(health.progress(T0 + 10 * STALL).map((p) => p.lag)).toEqual([3, 7]);
  });

  it('never calls an idle partition stalled: a caught-up transactional partition shows lag 1', () => {
    const health = tracker();
    health.lagsPolled(
      [
        { topic: 'raw', partition: 0, lag: 1 },
        { topic: 'raw', partition: 1, lag: 0 },
      ],
      T0,
    );
    expect(health.stalled(T0 + 10 * STALL)).toEqual([]);
  });

  it("is not reset for a stuck partition by another partition's commits", () => {
    const health = tracker();
    health.failed('raw', 0, 'UNKNOWN', T0 + 100);
    health.lagsPolled(
      [
        { topic: 'raw', partition: 0, lag: 3 },
        { topic: 'raw', partition: 1, lag: 40 },
      ],
      T0 + 200,
    );
    for (let t = T0 + 1000; t <= T0 + 2 * STALL; t += 1000) {
      health.committed('raw', 1, 10, t);
      health.failed('raw', 0, 'UNKNOWN', t);
    }
    expect(health.stalled(T0 + 2 * STALL)).toEqual([
      { topic: 'raw', partition: 0, stalledMs: 2 * STALL - 100, lag: 3, failing: true },
    ]);
  });

  it('counts a failing partition as having input before any lag is known', () => {
    const health = tracker();
    health.failed('raw', 1, 'REQUEST_TIMED_OUT', T0 + 500);
    expect(stalledNames(health, T0 + 500 + STALL)).toEqual(['raw/1']);
  });

  it('is ended for a partition by its own commit', () => {
    const health = tracker();
    health.failed('raw', 0, 'UNKNOWN', T0);
    health.committed('raw', 0, 5, T0 + STALL + 1);
    expect(health.stalled(T0 + STALL + 2)).toEqual([]);
    expect(health.progress(T0 + STALL + 2)).toContainEqual(
      expect.objectContaining({ topic: 'raw', partition: 0, failingSince: undefined }),
    );
  });

  it('counts a partition from its assignment, not from epoch 0, and drops partitions no longer assigned', () => {
    const health = tracker();
    health.failed('raw', 2, 'UNKNOWN', T0 + 1000); // not assigned yet: not this member's
    health.assigned({ raw: [1, 2] }, T0 + 5000);
    health.failed('raw', 2, 'UNKNOWN', T0 + 5000);
    health.failed('raw', 0, 'UNKNOWN', T0 + 6000); // revoked meanwhile: not this member's
    expect(health.progress(T0 + 6000).map((p) => [p.partition, p.movedAt])).toEqual([
      [1, T0],
      [2, T0 + 5000],
    ]);
    expect(health.stalled(T0 + 5000 + STALL - 1)).toEqual([]);
    expect(stalledNames(health, T0 + 5000 + STALL)).toEqual(['raw/2']);
  });

  it('counts failures that begin after a long idle time from when they began, not from the last commit', () => {
    const health = tracker();
    health.committed('raw', 0, 3, T0);
    health.failed('raw', 0, 'UNKNOWN', T0 + 6 * STALL);
    expect(health.stalled(T0 + 6 * STALL + 1000)).toEqual([]);
    expect(stalledNames(health, T0 + 7 * STALL)).toEqual(['raw/0']);
  });

  it('does not count a transaction without input (timers) as progress, but as the end of a failure', () => {
    const health = tracker();
    health.failed('raw', 0, 'UNKNOWN', T0);
    health.committed('raw', 0, 0, T0 + STALL - 1);
    health.failed('raw', 0, 'UNKNOWN', T0 + STALL);
    expect(stalledNames(health, T0 + 2 * STALL)).toEqual(['raw/0']);

    health.failed('raw', 1, 'UNKNOWN', T0 + 1000);
    health.committed('raw', 1, 0, T0 + 2000);
    expect(stalledNames(health, T0 + 2 * STALL)).toEqual(['raw/0']);
  });

  it('ends a failure when a later poll shows nothing left (a retried chunk found already committed commits nothing)', () => {
    const health = tracker();
    health.failed('raw', 0, 'OWNERSHIP_UNCERTAIN', T0);
    health.lagsPolled([{ topic: 'raw', partition: 0, lag: 0 }], T0 - 1); // began before the failure
    expect(stalledNames(health, T0 + STALL)).toEqual(['raw/0']);
    health.lagsPolled([{ topic: 'raw', partition: 0, lag: 0 }], T0 + STALL + 1);
    expect(health.stalled(T0 + 2 * STALL)).toEqual([]);
  });

  it('ends a failure whose commit may have landed when only a commit marker is left, and no other', () => {
    const uncertain = tracker();
    uncertain.failed('raw', 0, 'COMMIT_OUTCOME_UNKNOWN', T0);
    uncertain.lagsPolled([{ topic: 'raw', partition: 0, lag: 1 }], T0 + 1000);
    expect(uncertain.stalled(T0 + 2 * STALL)).toEqual([]);

    // lag 1 on a topic written without transactions is the one record being retried
    const failing = tracker();
    failing.failed('raw', 0, 'UNKNOWN', T0);
    failing.lagsPolled([{ topic: 'raw', partition: 0, lag: 1 }], T0 + 1000);
    expect(failing.stalled(T0 + STALL)).toEqual([
      { topic: 'raw', partition: 0, stalledMs: STALL, lag: 1, failing: true },
    ]);
  });

  it('reports 0 stalled ms for every partition that is not stalled', () => {
    const health = tracker();
    health.lagsPolled([{ topic: 'raw', partition: 0, lag: 50 }], T0);
    health.committed('raw', 0, 10, T0 + 1000);
    expect(health.progress(T0 + 2000)).toEqual([
      {
        topic: 'raw',
        partition: 0,
        movedAt: T0 + 1000,
        failingSince: undefined,
        lag: 50,
        stalledMs: 0,
      },
      {
        topic: 'raw',
        partition: 1,
        movedAt: T0,
        failingSince: undefined,
        lag: undefined,
        stalledMs: 0,
      },
    ]);
  });
});
