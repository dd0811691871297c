import type { Admin, ITopicConfig } from 'kafkajs';
import kafkajs from 'kafkajs';
import { messageOf } from './errors.js';

/** A topic as the cluster has it: what `topics apply` compares with the definition. */
export interface ActualTopic {
  readonly partitions: number;
  /** Replicas of each partition (one entry per partition). */
  readonly replicationFactors: readonly number[];
  /** The topic's effective value of each config the definition sets (undefined: not reported). */
  readonly configs: Readonly<Record<string, string | undefined>>;
}

/** One setting where the cluster differs from the definition. */
export interface Difference {
  readonly setting: string;
  readonly wanted: string;
  readonly actual: string;
  /** Why refreshbus does not fix it, and how an operator would. */
  readonly note: string;
}

export type TopicStatus = 'created' | 'ok' | 'drift' | 'missing' | 'error';

export interface TopicReport {
  readonly topic: string;
  readonly status: TopicStatus;
  readonly partitions?: number;
  readonly replicationFactor?: number;
  readonly differences?: readonly Difference[];
  readonly error?: string;
}

/** `cleanup.policy=compact,delete` and `delete,compact` are the same policy. */
function normalizeValue(name: string, value: string): string {
  if (name === 'cleanup.policy')
    return value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .sort()
      .join(',');
  return value.trim();
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** A value with a readable gloss where one helps: `2592000000 (30 d)`, `2097152 (2 MiB)`. */
export function displayValue(name: string, value: string): string {
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n)) return value;
  if (name.endsWith('.ms')) {
    if (n === -1) return `${value} (forever)`;
    if (n > 0 && n % DAY === 0) return `${value} (${n / DAY} d)`;
    if (n > 0 && n % HOUR === 0) return `${value} (${n / HOUR} h)`;
  }
  if (name.endsWith('.bytes') && n > 0) {
    if (n % (1024 * 1024) === 0) return `${value} (${n / (1024 * 1024)} MiB)`;
    if (n % 1024 === 0) return `${value} (${n / 1024} KiB)`;
  }
  return value;
}

/**
 * What differs between a topic's definition and the topic on the cluster: partition count,
 * replication factor and each config entry the definition sets (others are not compared).
 * Pure: `topics apply` reports these and never changes the topic.
 */
export function diffTopic(wanted: ITopicConfig, actual: ActualTopic): Difference[] {
  const out: Difference[] = [];
  const topic = wanted.topic;
  const wantedPartitions = wanted.numPartitions;
  if (
    wantedPartitions !== undefined &&
    wantedPartitions > 0 &&
    actual.partitions !== wantedPartitions
  ) {
    out.push({
      setting: 'partitions',
      wanted: String(wantedPartitions),
      actual: String(actual.partitions),
      note:
        actual.partitions < wantedPartitions
          ? 'partitions can only be added, and adding them changes which partition a key goes to: ' +
            "per-customer order breaks across the change and co-partitioned topics (events, requests, the processors' changelogs) must change together; not done automatically — plan it, or set TOPIC_PARTITIONS to the actual count"
          : `a partition count cannot be reduced: set TOPIC_PARTITIONS=${actual.partitions} if that count is intended, else recreate the topic`,
    });
  }
  const wantedRf = wanted.replicationFactor;
  if (wantedRf !== undefined && wantedRf > 0) {
    const factors = [...new Set(actual.replicationFactors)].sort((a, b) => a - b);
    if (factors.length > 0 && (factors.length > 1 || factors[0] !== wantedRf)) {
      out.push({
        setting: 'replication factor',
        wanted: String(wantedRf),
        actual:
          factors.length === 1
            ? String(factors[0])
            : `${factors[0]}–${factors[factors.length - 1]} (varies by partition)`,
        note: 'change it with a partition reassignment (kafka-reassign-partitions.sh); not done automatically',
      });
    }
  }
  for (const { name, value } of wanted.configEntries ?? []) {
    const have = actual.configs[name];
    if (have !== undefined && normalizeValue(name, have) === normalizeValue(name, value)) continue;
    out.push({
      setting: name,
      wanted: value,
      actual: have ?? '(not reported)',
      note: `fix with: kafka-configs.sh --bootstrap-server <brokers> --alter --entity-type topics --entity-name ${topic} --add-config ${name}=${value}`,
    });
  }
  return out;
}

/** The report for one existing topic. */
export function topicReport(wanted: ITopicConfig, actual: ActualTopic): TopicReport {
  const differences = diffTopic(wanted, actual);
  return {
    topic: wanted.topic,
    status: differences.length ? 'drift' : 'ok',
    partitions: actual.partitions,
    ...(actual.replicationFactors.length
      ? { replicationFactor: Math.min(...actual.replicationFactors) }
      : {}),
    ...(differences.length ? { differences } : {}),
  };
}

/** Whether a run of `topics apply` passes as a gate: nothing drifted, missing (with --check) or failed. */
export function topicsPass(reports: readonly TopicReport[]): boolean {
  return reports.every((r) => r.status === 'ok' || r.status === 'created');
}

/** Human-readable lines: one per topic, then one per difference. */
export function formatTopicReports(reports: readonly TopicReport[]): string[] {
  const width = Math.max(0, ...reports.map((r) => r.topic.length));
  const lines: string[] = [];
  for (const r of reports) {
    const shape =
      r.partitions !== undefined
        ? `${r.partitions} partition${r.partitions === 1 ? '' : 's'}, replication ${r.replicationFactor ?? '?'}`
        : '';
    const label =
      r.status === 'drift' || r.status === 'missing' || r.status === 'error'
        ? r.status.toUpperCase()
        : r.status;
    lines.push(`${r.topic.padEnd(width)}  ${label.padEnd(7)}  ${r.error ?? shape}`.trimEnd());
    for (const d of r.differences ?? []) {
      lines.push(
        `  ${d.setting}: wanted ${displayValue(d.setting, d.wanted)}, actual ${displayValue(d.setting, d.actual)}`,
      );
      lines.push(`    ${d.note}`);
    }
  }
  return lines;
}

/** One summary line: `9 topics: 7 ok, 1 created, 1 drift`. */
export function summarizeTopicReports(reports: readonly TopicReport[]): string {
  const counts = new Map<TopicStatus, number>();
  for (const r of reports) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  const order: TopicStatus[] = ['ok', 'created', 'drift', 'missing', 'error'];
  const parts = order.filter((s) => counts.has(s)).map((s) => `${counts.get(s)} ${s}`);
  const tail = topicsPass(reports)
    ? ''
    : ' — existing topics are never changed: drift is reported for an operator to resolve';
  return `${reports.length} topic${reports.length === 1 ? '' : 's'}: ${parts.join(', ')}${tail}`;
}

/** Replication factor above the broker count: a clearer message than kafkajs's. */
function creationError(err: unknown, wanted: ITopicConfig, brokers: number): string {
  // kafkajs wraps the per-topic errors in one "Topic creation errors"
  const inner = (err as { errors?: unknown }).errors;
  const text =
    Array.isArray(inner) && inner.length ? inner.map(messageOf).join('; ') : messageOf(err);
  if ((wanted.replicationFactor ?? 0) > brokers)
    return `cannot create: replication factor ${wanted.replicationFactor} needs ${wanted.replicationFactor} brokers, the cluster has ${brokers} (TOPIC_REPLICATION_FACTOR) — ${text}`;
  return `cannot create: ${text}`;
}

// not a named export Node can see in kafkajs's CommonJS build
const { ConfigResourceTypes } = kafkajs;

async function describeTopics(
  admin: Admin,
  definitions: readonly ITopicConfig[],
): Promise<Map<string, ActualTopic | { error: string }>> {
  const out = new Map<string, ActualTopic | { error: string }>();
  if (definitions.length === 0) return out;
  const { topics } = await admin.fetchTopicMetadata({ topics: definitions.map((d) => d.topic) });
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: definitions.map((d) => ({
      type: ConfigResourceTypes.TOPIC,
      name: d.topic,
      configNames: (d.configEntries ?? []).map((e) => e.name),
    })),
  });
  for (const meta of topics) {
    const resource = described.resources.find((r) => r.resourceName === meta.name);
    if (resource && resource.errorCode !== 0) {
      out.set(meta.name, {
        error: `cannot describe its configuration: ${resource.errorMessage || `error code ${resource.errorCode}`}`,
      });
      continue;
    }
    const configs: Record<string, string> = {};
    for (const entry of resource?.configEntries ?? [])
      configs[entry.configName] = entry.configValue;
    out.set(meta.name, {
      partitions: meta.partitions.length,
      replicationFactors: meta.partitions.map((p) => p.replicas.length),
      configs,
    });
  }
  return out;
}

/**
 * `topics apply`: creates each defined topic that is missing (unless `check`), then compares every
 * existing one with its definition. Existing topics are never altered.
 */
export async function applyTopics(
  admin: Admin,
  definitions: readonly ITopicConfig[],
  options: { check: boolean },
): Promise<TopicReport[]> {
  const existing = new Set(await admin.listTopics());
  const created = new Map<string, TopicReport>();
  let brokers: number | undefined;
  for (const wanted of definitions) {
    if (existing.has(wanted.topic)) continue;
    if (options.check) {
      created.set(wanted.topic, {
        topic: wanted.topic,
        status: 'missing',
        error: 'does not exist (run `refreshbus topics apply` to create it)',
      });
      continue;
    }
    try {
      await admin.createTopics({ topics: [wanted], waitForLeaders: true });
      created.set(wanted.topic, {
        topic: wanted.topic,
        status: 'created',
        ...(wanted.numPartitions !== undefined ? { partitions: wanted.numPartitions } : {}),
        ...(wanted.replicationFactor !== undefined
          ? { replicationFactor: wanted.replicationFactor }
          : {}),
      });
    } catch (err) {
      // created meanwhile by another instance: compare it like any existing topic
      if ((await admin.listTopics()).includes(wanted.topic)) {
        existing.add(wanted.topic);
        continue;
      }
      brokers ??= (await admin.describeCluster()).brokers.length;
      created.set(wanted.topic, {
        topic: wanted.topic,
        status: 'error',
        error: creationError(err, wanted, brokers),
      });
    }
  }
  const toCompare = definitions.filter((d) => existing.has(d.topic));
  const actual = await describeTopics(admin, toCompare);
  return definitions.map((wanted) => {
    const done = created.get(wanted.topic);
    if (done) return done;
    const found = actual.get(wanted.topic);
    if (!found)
      return {
        topic: wanted.topic,
        status: 'error',
        error: 'listed by the cluster but not described',
      };
    return 'error' in found
      ? { topic: wanted.topic, status: 'error', error: found.error }
      : topicReport(wanted, found);
  });
}
