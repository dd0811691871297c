import { describe, expect, it } from 'vitest';
import { coPartitionedAssignment } from '../../../src/kafka/co-partitioned-assigner.js';

describe('coPartitionedAssignment', () => {
  it('gives partition N of every topic to the same member', () => {
    const assignment = coPartitionedAssignment(['m-b', 'm-a'], {
      events: [0, 1, 2, 3],
      requests: [0, 1, 2, 3],
    });
    expect(assignment).toEqual({
      'm-a': { events: [0, 2], requests: [0, 2] },
      'm-b': { events: [1, 3], requests: [1, 3] },
    });
  });

  it('handles a topic with fewer partitions and more members than partitions', () => {
    const assignment = coPartitionedAssignment(['a', 'b', 'c'], { events: [0, 1], requests: [0] });
    expect(assignment).toEqual({ a: { events: [0], requests: [0] }, b: { events: [1] }, c: {} });
  });
});
