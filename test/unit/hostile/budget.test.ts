import { describe, expect, it } from 'vitest';
import { RUNS } from './arbitraries.js';

const sum = (runs: Readonly<Record<string, number>>) =>
  Object.values(runs).reduce((a, b) => a + b, 0);

describe('the hostile suite', () => {
  it('plans at least 10,000 generated cases per run (each property file checks it ran its share)', () => {
    const planned = { mappers: sum(RUNS.mappers), http: sum(RUNS.http) };
    console.log(`[hostile] planned generated cases: ${JSON.stringify(planned)}`);
    expect(planned.mappers + planned.http).toBeGreaterThanOrEqual(10_000);
  });
});
