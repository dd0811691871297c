import { afterEach, describe, expect, it } from 'vitest';
import { runTopicsOf } from '../../src/simulate/check.js';
import { dedicatedBroker } from './support/dedicated-broker.js';
import { Resources, registryUrl } from './support/kafka.js';
import {
  answersBetween,
  checkLedger,
  expectLedgerHolds,
  figures,
  ingestAnswers,
  pipelineConfig,
  planTraffic,
  readyzStatus,
  startOffsets,
  startPipeline,
  startTraffic,
  stepper,
  until,
} from './support/pipeline.js';

const resources = new Resources();
afterEach(() => resources.closeAll());

describe('the whole pipeline through a broker outage', () => {
  it(
    'answers only 503 while Kafka is down, turns unready, resumes by itself, and loses or doubles nothing',
    { timeout: 240_000 },
    async () => {
      const step = stepper('broker-outage');
      const broker = resources.track(await dedicatedBroker(), (b) => b.destroy());
      const endpoints = { brokers: broker.brokers, registryUrl: registryUrl() };
      // the outage (stop, unready, restart) lasts some 30–40 s on a busy 2-core box: rounds settle
      // later than that, so a sibling held back by the outage still joins its round
      const config = pipelineConfig(endpoints, {
        ROUND_SETTLE_MS: '50000',
        ROUND_RETRY_GRACE_MS: '60000',
        ROUND_QUIET_DEADLINE_MS: '120000',
      });
      const pipeline = resources.track(await startPipeline(config, endpoints), (p) => p.close());
      const url = pipeline.ingest.url;
      const from = await startOffsets(endpoints, config);
      const plan = planTraffic(config, { customers: 40, rate: 15, seed: 11 });
      const traffic = startTraffic(plan, config, url);

      // mid-run: a good part of the day is in, the rest still to send
      await until('a third of the calls to be accepted', 60_000, () =>
        (traffic.progress()?.accepted ?? 0) >= plan.calls.length / 3 ? true : undefined,
      );
      step('stopping the broker');
      await broker.stop();
      const stoppedAt = Date.now();
      await until('ingest /readyz to turn 503', 20_000, async () =>
        (await readyzStatus(url)) === 503 ? true : undefined,
      );
      step('ingest not ready');
      const downFrom = await ingestAnswers(url);
      await until(
        'normalizer and processors to report not ready',
        config.READINESS_STALL_MS + 30_000,
        () =>
          !pipeline.normalizer.readiness().ready && !pipeline.processors.readiness().ready
            ? true
            : undefined,
      );
      step('normalizer and processors not ready');
      const during = answersBetween(downFrom, await ingestAnswers(url));
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
      const sent = await traffic.done;
      step('all calls answered');
      const report = await checkLedger({
        endpoints,
        topics: runTopicsOf(config),
        from,
        plan,
        sent,
        timeoutMs: 90_000,
      });

      step('checked');
      // while Kafka was down: only 503, never a 2xx (nor any other answer); the sender met it
      expect(Object.keys(during)).toEqual(['503']);
      expect(during['503']).toBeGreaterThan(0);
      expectLedgerHolds(plan, sent, report);
      console.info(
        JSON.stringify({
          test: 'pipeline-broker-outage',
          ...figures(plan, sent, report),
          refusedWhileDown: during['503'],
          downMs: restartAt - stoppedAt,
          readyAgainMs,
        }),
      );
    },
  );
});
