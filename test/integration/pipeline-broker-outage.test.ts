import { describe, expect, it } from 'vitest';
import { dedicatedBroker } from './support/dedicated-broker.js';
import { registryUrl, testResources } from './support/kafka.js';
import { answersFrom, expectDayHeld } from './support/outage.js';
import { readyzStatus, startOutageDay, until } from './support/pipeline.js';

const resources = testResources();

describe('the whole pipeline through a broker outage', () => {
  it(
    'answers only 503 while Kafka is down, turns unready, resumes by itself, and loses or doubles nothing',
    { timeout: 240_000 },
    async () => {
      const broker = resources.track(await dedicatedBroker(), (b) => b.destroy());
      const endpoints = { brokers: broker.brokers, registryUrl: registryUrl() };
      // the outage (stop, unready, restart) lasts some 30–40 s on a busy 2-core box: rounds settle
      // later than that, so a sibling held back by the outage still joins its round
      const day = await startOutageDay(resources, {
        name: 'broker-outage',
        endpoints,
        seed: 11,
        overrides: {
          ROUND_SETTLE_MS: '50000',
          ROUND_RETRY_GRACE_MS: '60000',
          ROUND_QUIET_DEADLINE_MS: '120000',
        },
      });
      const { step, config, pipeline, url, plan } = day;
      step('stopping the broker');
      await broker.stop();
      const stoppedAt = Date.now();
      await until('ingest /readyz to turn 503', 20_000, async () =>
        (await readyzStatus(url)) === 503 ? true : undefined,
      );
      step('ingest not ready');
      const answers = await answersFrom(url);
      await until(
        'normalizer and processors to report not ready',
        config.READINESS_STALL_MS + 30_000,
        () =>
          !pipeline.normalizer.readiness().ready && !pipeline.processors.readiness().ready
            ? true
            : undefined,
      );
      step('normalizer and processors not ready');
      const during = await answers();
      expect(await readyzStatus(url)).toBe(503);

      const restartAt = Date.now();
      step('restarting the broker');
      await broker.start();
      step('broker up');
      await until('ingest /readyz to turn 200', 60_000, async () =>
        (await readyzStatus(url)) === 200 ? true : undefined,
      );
      step('ingest ready');
      await until('normalizer and processors to report ready', 90_000, () =>
        pipeline.normalizer.readiness().ready && pipeline.processors.readiness().ready
          ? true
          : undefined,
      );
      const readyAgainMs = Date.now() - restartAt;
      step('all ready');
      const result = await day.finish();
      // while Kafka was down: only 503, never a 2xx (nor any other answer); the sender met it
      expect(Object.keys(during)).toEqual(['503']);
      expect(during['503']).toBeGreaterThan(0);
      expectDayHeld('pipeline-broker-outage', plan, result, {
        refusedWhileDown: during['503'],
        downMs: restartAt - stoppedAt,
        readyAgainMs,
      });
    },
  );
});
