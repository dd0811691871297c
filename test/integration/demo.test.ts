import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { DEMO_EXPECTED, runPipelineDemo } from '../../src/demo/pipeline.js';
import { createLogger } from '../../src/lib/logger.js';
import { brokers, registryUrl } from './support/kafka.js';

describe('the demo (README Quick start)', () => {
  it(
    'runs the whole pipeline on a day of traffic and finds every expected output once',
    { timeout: 180_000 },
    async () => {
      const endpoints = { brokers: brokers(), registryUrl: registryUrl() };
      const lines: string[] = [];
      const summary = await runPipelineDemo(
        loadConfig({}),
        endpoints,
        createLogger('silent'),
        (l) => lines.push(l),
      );
      expect(lines.join('\n')).toMatch(/ingest: answered 25× 200/);
      expect(summary.completions).toHaveLength(DEMO_EXPECTED.completed);
      expect(summary.newTransactions).toHaveLength(DEMO_EXPECTED.newTransactions);
      expect(summary.alerts).toHaveLength(DEMO_EXPECTED.alerts);
      expect(summary.deadLettered).toBe(DEMO_EXPECTED.dlq);
      const byCustomer = Object.fromEntries(
        summary.completions.map((c) => [String(c.customer).slice(summary.run.length + 1), c]),
      );
      expect(byCustomer.requested?.reason).toBe('REQUESTED_TASKS_DONE');
      expect(byCustomer.yodlee?.connections).toBe('16441:SUCCESS');
      expect(byCustomer.password?.connections).toBe('16441:FAILED/UPDATE_CREDENTIALS');
      expect(summary.alerts.map((a) => a.split(' ').slice(1, 3).join(' ')).sort()).toEqual([
        'CLEARED NONE',
        'RAISED RECONNECT',
        'RAISED UPDATE_CREDENTIALS',
      ]);
    },
  );
});
