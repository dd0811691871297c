import { ConfigResourceTypes } from 'kafkajs';
import type { Admin } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { topicDefinitions } from '../../src/kafka/topics.js';
import { testBroker } from './support/kafka.js';
import { opsEnv, refreshbus } from './support/ops.js';

const broker = testBroker();

async function topicConfig(admin: Admin, topic: string, name: string): Promise<string | undefined> {
  const { resources: found } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [name] }],
  });
  return found[0]?.configEntries.find((e) => e.configName === name)?.configValue;
}

async function partitionCount(admin: Admin, topic: string): Promise<number> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return topics[0]?.partitions.length ?? 0;
}

describe('refreshbus topics apply', () => {
  it('creates every defined topic, then finds them all ok; reports drift without fixing it and exits 1', async () => {
    const env = opsEnv('ops-topics');
    const definitions = topicDefinitions(loadConfig(env));
    const admin = await broker.admin();

    const first = await refreshbus(['topics', 'apply'], env);
    expect(first.stderr).toContain(`${definitions.length} topics: ${definitions.length} created`);
    expect(first.code).toBe(0);
    for (const d of definitions)
      expect(first.stdout).toMatch(
        new RegExp(`^${d.topic}\\s+created\\s+2 partitions, replication 1$`, 'm'),
      );
    const existing = await admin.listTopics();
    for (const d of definitions) expect(existing).toContain(d.topic);
    expect(await topicConfig(admin, env.TOPIC_REFRESH_DLQ ?? '', 'max.message.bytes')).toBe(
      '2097152',
    );
    expect(
      await topicConfig(admin, `${env.PROCESS_APPLICATION_ID}.rounds.changelog`, 'cleanup.policy'),
    ).toBe('compact');

    const again = await refreshbus(['topics', 'apply'], env);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`${definitions.length} topics: ${definitions.length} ok`);
    const check = await refreshbus(['topics', 'apply', '--check'], env);
    expect(check.code).toBe(0);

    // someone shortens the events' retention; the topic holds data
    const events = env.TOPIC_REFRESH_EVENTS ?? '';
    const producer = await broker.producer();
    await producer.send({ topic: events, acks: -1, messages: [{ key: 'c-1', value: 'kept' }] });
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: events,
          configEntries: [{ name: 'retention.ms', value: '86400000' }],
        },
      ],
    });

    const drift = await refreshbus(['topics', 'apply'], env);
    expect(drift.code).toBe(1);
    expect(drift.stdout).toMatch(new RegExp(`^${events}\\s+DRIFT`, 'm'));
    expect(drift.stdout).toContain('retention.ms: wanted 2592000000 (30 d), actual 86400000 (1 d)');
    expect(drift.stdout).toContain(`--entity-name ${events} --add-config retention.ms=2592000000`);
    expect(drift.stderr).toMatch(/1 drift — existing topics are never changed/);

    const json = await refreshbus(['topics', 'apply', '--check', '--json'], env);
    expect(json.code).toBe(1);
    const parsed = JSON.parse(json.stdout) as {
      ok: boolean;
      topics: { topic: string; status: string; differences?: unknown[] }[];
    };
    expect(parsed.ok).toBe(false);
    expect(parsed.topics.filter((t) => t.status !== 'ok')).toEqual([
      {
        topic: events,
        status: 'drift',
        partitions: 2,
        replicationFactor: 1,
        differences: [
          expect.objectContaining({
            setting: 'retention.ms',
            wanted: '2592000000',
            actual: '86400000',
          }),
        ],
      },
    ]);

    // reported, not fixed: the setting and the data are as they were
    expect(await topicConfig(admin, events, 'retention.ms')).toBe('86400000');
    const kept = await broker.readAll(events, { readCommitted: true, count: 1 });
    expect(kept.map((m) => m.value?.toString())).toEqual(['kept']);
  });

  it('reports a topic created with other partitions as drift and leaves it and its records alone', async () => {
    const env = opsEnv('ops-topics-parts');
    const raw = env.TOPIC_WEBHOOKS_RAW ?? '';
    const admin = await broker.admin();
    await admin.createTopics({
      topics: [{ topic: raw, numPartitions: 3, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    const producer = await broker.producer();
    await producer.send({
      topic: raw,
      acks: -1,
      messages: [0, 1, 2].map((partition) => ({ partition, key: `k${partition}`, value: 'body' })),
    });

    const run = await refreshbus(['topics', 'apply'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`^${raw}\\s+DRIFT\\s+3 partitions`, 'm'));
    expect(run.stdout).toContain('partitions: wanted 2, actual 3');
    expect(run.stdout).toContain('a partition count cannot be reduced: set TOPIC_PARTITIONS=3');
    // the other settings of a topic made by hand differ too
    expect(run.stdout).toContain('retention.ms: wanted 1209600000 (14 d)');
    // the others were created all the same
    expect(run.stdout).toMatch(new RegExp(`^${env.TOPIC_REFRESH_EVENTS}\\s+created`, 'm'));

    expect(await partitionCount(admin, raw)).toBe(3);
    const records = await broker.readAll(raw, { readCommitted: true, count: 3 });
    expect(records).toHaveLength(3);
  });

  it('with --check, creates nothing and fails on a missing topic', async () => {
    const env = opsEnv('ops-topics-check');
    const run = await refreshbus(['topics', 'apply', '--check'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      new RegExp(`^${env.TOPIC_REFRESH_EVENTS}\\s+MISSING\\s+does not exist`, 'm'),
    );
    const admin = await broker.admin();
    expect(await admin.listTopics()).not.toContain(env.TOPIC_REFRESH_EVENTS);
  });

  it('fails with a clear message when no broker answers', async () => {
    const env = opsEnv('ops-topics-down', { KAFKA_BROKERS: '127.0.0.1:1' });
    const run = await refreshbus(['topics', 'apply'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^refreshbus: cannot connect to Kafka at 127\.0\.0\.1:1/m);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
