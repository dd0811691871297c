import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { coPartitionedTopics, coPartitioningProblem } from '../../../src/kafka/topics.js';
import { DEFAULT_TOPICS } from '../../../src/contract/topics.js';

const config = loadConfig({ PROCESS_APPLICATION_ID: 'app' });
const counts = (n: Record<string, number>) => new Map(Object.entries(n));

describe('processors: co-partitioning check at start-up', () => {
  it('covers both inputs and both changelogs', () => {
    expect(coPartitionedTopics(config)).toEqual([
      DEFAULT_TOPICS.refreshEvents,
      DEFAULT_TOPICS.refreshRequests,
      'app.rounds.changelog',
      'app.alerts.changelog',
    ]);
  });

  it('accepts topics of one partition count, whatever it is', () => {
    const same = (n: number) =>
      counts(Object.fromEntries(coPartitionedTopics(config).map((t) => [t, n])));
    expect(coPartitioningProblem(config, same(6))).toBeUndefined();
    expect(coPartitioningProblem(config, same(1))).toBeUndefined();
  });

  it('names each topic and count when a changelog has fewer partitions than the inputs', () => {
    const problem = coPartitioningProblem(
      config,
      counts({
        [DEFAULT_TOPICS.refreshEvents]: 6,
        [DEFAULT_TOPICS.refreshRequests]: 6,
        'app.rounds.changelog': 3,
        'app.alerts.changelog': 3,
      }),
    );
    expect(problem).toContain(
      'openbanking.refresh.events 6, openbanking.refresh.requests 6, app.rounds.changelog 3, app.alerts.changelog 3',
    );
    expect(problem).toContain('refreshbus topics apply');
    expect(problem).toContain('PROCESS_APPLICATION_ID');
  });

  it('refuses inputs partitioned differently, and a missing topic', () => {
    expect(
      coPartitioningProblem(
        config,
        counts({
          [DEFAULT_TOPICS.refreshEvents]: 6,
          [DEFAULT_TOPICS.refreshRequests]: 12,
          'app.rounds.changelog': 6,
          'app.alerts.changelog': 6,
        }),
      ),
    ).toContain('openbanking.refresh.requests 12');
    expect(
      coPartitioningProblem(
        config,
        counts({
          [DEFAULT_TOPICS.refreshEvents]: 6,
          [DEFAULT_TOPICS.refreshRequests]: 6,
          'app.rounds.changelog': 6,
        }),
      ),
    ).toContain('app.alerts.changelog missing');
  });
});
