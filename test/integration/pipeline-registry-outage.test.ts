import { describe, expect, it } from 'vitest';
import { dedicatedRegistry } from './support/dedicated-registry.js';
import { brokers, testResources } from './support/kafka.js';
import { answersFrom, expectDayHeld } from './support/outage.js';
import { startOutageDay, until } from './support/pipeline.js';

const resources = testResources();

const WEBHOOKS = ['bud', 'yodlee'];

describe('the whole pipeline through a schema registry outage', () => {
  it(
    'keeps taking webhooks, dead-letters nothing good, and loses or doubles nothing once the registry is back',
    { timeout: 180_000 },
    async () => {
      // a registry of the test's own: the shared one is never stopped
      const registry = resources.track(await dedicatedRegistry(), (r) => r.destroy());
      const endpoints = { brokers: brokers(), registryUrl: registry.registryUrl };
      const day = await startOutageDay(resources, { name: 'registry-outage', endpoints, seed: 12 });
      const { step, pipeline, url, plan, traffic } = day;
      step('stopping the registry');
      await registry.stop();
      const stoppedAt = Date.now();
      await expect(fetch(`${registry.registryUrl}/subjects`)).rejects.toThrow();
      const webhookAnswers = await answersFrom(url, WEBHOOKS);
      const requestAnswers = await answersFrom(url, ['refresh-requests']);
      // the day goes on while the registry is down: most of the rest is sent meanwhile
      await until('two thirds of the calls to be answered', 60_000, () =>
        (traffic.progress()?.answered ?? 0) >= (plan.calls.length * 2) / 3 ? true : undefined,
      );
      step('restarting the registry');
      const restartAt = Date.now();
      await registry.start();
      const restartMs = Date.now() - restartAt;
      // what was answered while it was down (and starting: it answers nothing until it is up)
      const webhooksDuring = await webhookAnswers();
      const requestsDuring = await requestAnswers();
      const downMs = Date.now() - stoppedAt;
      step(
        `registry up again (while down: webhooks ${JSON.stringify(webhooksDuring)}, requests ${JSON.stringify(requestsDuring)})`,
      );
      const result = await day.finish();

      // the raw topic needs no registry: webhooks were taken all along
      expect(Object.keys(webhooksDuring)).toEqual(['200']);
      // a refresh request is Avro: accepted (schema cached) or refused 503, never lost or failed
      expect(Object.keys(requestsDuring).filter((s) => s !== '200' && s !== '503')).toEqual([]);
      // nothing good was dead-lettered: only the day's poison is in the DLQ (the ledger check)
      expectDayHeld('pipeline-registry-outage', plan, result, {
        webhooksDuring,
        requestsDuring,
        registryDownMs: downMs,
        registryRestartMs: restartMs,
      });
      expect(pipeline.normalizer.readiness().ready).toBe(true);
    },
  );
});
