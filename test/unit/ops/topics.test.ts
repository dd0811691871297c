import type { ITopicConfig } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { topicDefinitions } from '../../../src/kafka/topics.js';
import type { ActualTopic, TopicReport } from '../../../src/ops/topics.js';
import {
  diffTopic,
  displayValue,
  formatTopicReports,
  summarizeTopicReports,
  topicReport,
  topicsPass,
} from '../../../src/ops/topics.js';
import { DEFAULT_TOPICS } from '../../../src/contract/topics.js';

const wanted: ITopicConfig = {
  topic: DEFAULT_TOPICS.refreshEvents,
  numPartitions: 6,
  replicationFactor: 3,
  configEntries: [
    { name: 'cleanup.policy', value: 'delete' },
    { name: 'retention.ms', value: String(30 * 86_400_000) },
    { name: 'min.insync.replicas', value: '2' },
  ],
};

const matching: ActualTopic = {
  partitions: 6,
  replicationFactors: [3, 3, 3, 3, 3, 3],
  configs: { 'cleanup.policy': 'delete', 'retention.ms': '2592000000', 'min.insync.replicas': '2' },
};

describe('diffTopic', () => {
  it('finds nothing when the topic matches its definition (other configs are not compared)', () => {
    expect(
      diffTopic(wanted, { ...matching, configs: { ...matching.configs, 'segment.ms': '1' } }),
    ).toEqual([]);
  });

  it('reports a changed retention with wanted, actual and how to fix it', () => {
    const [d, ...rest] = diffTopic(wanted, {
      ...matching,
      configs: { ...matching.configs, 'retention.ms': '86400000' },
    });
    expect(rest).toEqual([]);
    expect(d).toMatchObject({ setting: 'retention.ms', wanted: '2592000000', actual: '86400000' });
    expect(d?.note).toContain('--add-config retention.ms=2592000000');
    expect(d?.note).toContain('--entity-name openbanking.refresh.events');
  });

  it('says that fewer partitions can only grow, and that growing changes keying', () => {
    const [d] = diffTopic(wanted, { ...matching, partitions: 3, replicationFactors: [3, 3, 3] });
    expect(d).toMatchObject({ setting: 'partitions', wanted: '6', actual: '3' });
    expect(d?.note).toMatch(/only be added/);
    expect(d?.note).toMatch(/changes which partition a key goes to/);
  });

  it('says that more partitions cannot be reduced', () => {
    const [d] = diffTopic(wanted, {
      ...matching,
      partitions: 12,
      replicationFactors: Array<number>(12).fill(3),
    });
    expect(d).toMatchObject({ setting: 'partitions', wanted: '6', actual: '12' });
    expect(d?.note).toMatch(/cannot be reduced.*TOPIC_PARTITIONS=12/);
  });

  it('reports a replication factor that differs, or varies by partition', () => {
    expect(
      diffTopic(wanted, { ...matching, replicationFactors: Array<number>(6).fill(1) }),
    ).toMatchObject([{ setting: 'replication factor', wanted: '3', actual: '1' }]);
    expect(
      diffTopic(wanted, { ...matching, replicationFactors: [3, 3, 1, 3, 3, 2] })[0]?.actual,
    ).toBe('1–3 (varies by partition)');
  });

  it('treats cleanup.policy lists as sets, and a config the broker did not report as drift', () => {
    const compactDelete: ITopicConfig = {
      ...wanted,
      configEntries: [{ name: 'cleanup.policy', value: 'compact,delete' }],
    };
    expect(
      diffTopic(compactDelete, { ...matching, configs: { 'cleanup.policy': 'delete, compact' } }),
    ).toEqual([]);
    expect(diffTopic(compactDelete, { ...matching, configs: {} })).toMatchObject([
      { setting: 'cleanup.policy', actual: '(not reported)' },
    ]);
  });

  it("compares every topic of the project's definition, changelogs included", () => {
    const config = loadConfig({ TOPIC_PARTITIONS: '2' });
    for (const definition of topicDefinitions(config)) {
      const configs = Object.fromEntries(
        (definition.configEntries ?? []).map((e) => [e.name, e.value]),
      );
      const actual = { partitions: 2, replicationFactors: [1, 1], configs };
      expect(topicReport(definition, actual).status).toBe('ok');
      expect(topicReport(definition, { ...actual, partitions: 1 }).status).toBe('drift');
    }
  });
});

describe('topic reports', () => {
  const reports: TopicReport[] = [
    { topic: 'a.raw', status: 'ok', partitions: 6, replicationFactor: 1 },
    { topic: 'a.events', status: 'created', partitions: 6, replicationFactor: 1 },
    topicReport(wanted, {
      ...matching,
      configs: { ...matching.configs, 'retention.ms': '3600000' },
    }),
  ];

  it('pass as a gate only when every topic is ok or created', () => {
    expect(topicsPass(reports.slice(0, 2))).toBe(true);
    expect(topicsPass(reports)).toBe(false);
    expect(topicsPass([{ topic: 'x', status: 'missing' }])).toBe(false);
    expect(topicsPass([{ topic: 'x', status: 'error', error: 'boom' }])).toBe(false);
  });

  it('print one line per topic and the differences with readable values', () => {
    const lines = formatTopicReports(reports);
    expect(lines[0]).toMatch(/^a\.raw\s+ok\s+6 partitions, replication 1$/);
    expect(lines[1]).toMatch(/^a\.events\s+created\s+6 partitions, replication 1$/);
    expect(lines[2]).toMatch(/^openbanking\.refresh\.events\s+DRIFT/);
    expect(lines[3]).toBe('  retention.ms: wanted 2592000000 (30 d), actual 3600000 (1 h)');
    expect(lines[4]).toMatch(/^ {4}fix with: kafka-configs\.sh/);
  });

  it('summarize by status and say that drift is never fixed', () => {
    expect(summarizeTopicReports(reports)).toBe(
      '3 topics: 1 ok, 1 created, 1 drift — existing topics are never changed: drift is reported for an operator to resolve',
    );
    expect(summarizeTopicReports(reports.slice(0, 1))).toBe('1 topic: 1 ok');
  });

  it('gloss durations and sizes', () => {
    expect(displayValue('retention.ms', '604800000')).toBe('604800000 (7 d)');
    expect(displayValue('retention.ms', '-1')).toBe('-1 (forever)');
    expect(displayValue('max.message.bytes', '2097152')).toBe('2097152 (2 MiB)');
    expect(displayValue('max.message.bytes', '1048588')).toBe('1048588');
    expect(displayValue('cleanup.policy', 'delete')).toBe('delete');
  });
});
