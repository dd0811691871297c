import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { KAFKA_VERSION } from '../../src/tools/stack/artifacts.js';
import { findJava } from '../../src/tools/stack/java.js';
import { stackLayout } from '../../src/tools/stack/local-stack.js';
import { startService } from './child.js';
import { say } from './options.js';

/**
 * Kafka's own performance tools (`org.apache.kafka.tools.ProducerPerformance` and
 * `ConsumerPerformance` in kafka-tools-<v>.jar), run from the jars the local stack downloaded,
 * with the JDK the stack would choose: the broker's ceiling on this machine.
 */
async function runTool(
  className: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<string> {
  const config = loadConfig();
  const java = await findJava(17, `Kafka ${KAFKA_VERSION} tools`, {
    preferred: config.REFRESHBUS_JAVA_HOME,
    javaHome: config.JAVA_HOME,
  });
  const lib = path.join(
    stackLayout(config.REFRESHBUS_STACK_DIR).artifacts,
    `kafka-${KAFKA_VERSION}`,
    'lib',
  );
  const dir = mkdtempSync(path.join(os.tmpdir(), 'refreshbus-bench-'));
  const log4j = path.join(dir, 'log4j.properties');
  writeFileSync(
    log4j,
    'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\n' +
      'log4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n' +
      'log4j.appender.stderr.layout.ConversionPattern=%p %m (%c)%n\n',
  );
  say(`${className.split('.').pop() ?? className} ${args.join(' ')}`);
  const tool = startService(className.split('.').pop() ?? 'java', java.bin, [
    '-Xms256m',
    '-Xmx512m',
    '-cp',
    `${lib}/*`,
    `-Dlog4j.configuration=file:${log4j}`,
    className,
    ...args,
  ]);
  const timer = setTimeout(() => void tool.stop(5000), timeoutMs);
  const code = await tool.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${className} exited with ${code}:\n${tool.stdout()}`);
  return tool.stdout();
}

/** ProducerPerformance's summary line. */
export interface ProducerPerformanceResult {
  readonly records: number;
  readonly recordsPerSecond: number;
  readonly mbPerSecond: number;
  readonly avgLatencyMs: number;
  readonly maxLatencyMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
}

/** Parses `N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency, a ms 50th, b ms 95th, c ms 99th, d ms 99.9th.` */
export function parseProducerPerformance(stdout: string): ProducerPerformanceResult {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.includes('50th'));
  const m =
    line &&
    /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th/.exec(
      line,
    );
  if (!m) throw new Error(`ProducerPerformance: no summary line in:\n${stdout.slice(-2000)}`);
  const n = (i: number) => Number(m[i]);
  return {
    records: n(1),
    recordsPerSecond: Math.round(n(2)),
    mbPerSecond: n(3),
    avgLatencyMs: n(4),
    maxLatencyMs: n(5),
    p50Ms: n(6),
    p95Ms: n(7),
    p99Ms: n(8),
    p999Ms: n(9),
  };
}

/** The broker's produce ceiling: `records` of `recordSize` bytes, `acks=all`, unthrottled. */
export async function producerPerformance(options: {
  brokers: readonly string[];
  topic: string;
  records: number;
  recordSize: number;
  acks?: string;
}): Promise<ProducerPerformanceResult> {
  const stdout = await runTool(
    'org.apache.kafka.tools.ProducerPerformance',
    [
      '--topic',
      options.topic,
      '--num-records',
      String(options.records),
      '--record-size',
      String(options.recordSize),
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${options.brokers.join(',')}`,
      `acks=${options.acks ?? 'all'}`,
    ],
    10 * 60_000,
  );
  return parseProducerPerformance(stdout);
}

/** ConsumerPerformance's CSV line. */
export interface ConsumerPerformanceResult {
  readonly records: number;
  readonly mb: number;
  readonly recordsPerSecond: number;
  readonly mbPerSecond: number;
  /** Records/s over fetch time only (group join excluded). */
  readonly fetchRecordsPerSecond: number;
  readonly rebalanceMs: number;
}

/** Parses the line after the `start.time, end.time, data.consumed.in.MB, …` header. */
export function parseConsumerPerformance(stdout: string): ConsumerPerformanceResult {
  const lines = stdout.trim().split('\n');
  const header = lines.findIndex((l) => l.startsWith('start.time'));
  const names = (lines[header] ?? '').split(',').map((s) => s.trim());
  const values = (lines[header + 1] ?? '').split(',').map((s) => s.trim());
  const get = (name: string) => {
    const i = names.indexOf(name);
    const v = i >= 0 ? Number(values[i]) : Number.NaN;
    if (!Number.isFinite(v))
      throw new Error(`ConsumerPerformance: no ${name} in:\n${stdout.slice(-2000)}`);
    return v;
  };
  return {
    records: get('data.consumed.in.nMsg'),
    mb: get('data.consumed.in.MB'),
    recordsPerSecond: Math.round(get('nMsg.sec')),
    mbPerSecond: get('MB.sec'),
    fetchRecordsPerSecond: Math.round(get('fetch.nMsg.sec')),
    rebalanceMs: get('rebalance.time.ms'),
  };
}

/** The broker's consume ceiling: read `records` from `topic` from the start with a fresh group. */
export async function consumerPerformance(options: {
  brokers: readonly string[];
  topic: string;
  records: number;
  group: string;
}): Promise<ConsumerPerformanceResult> {
  const stdout = await runTool(
    'org.apache.kafka.tools.ConsumerPerformance',
    [
      '--bootstrap-server',
      options.brokers.join(','),
      '--topic',
      options.topic,
      '--messages',
      String(options.records),
      '--group',
      options.group,
      '--timeout',
      '60000',
    ],
    10 * 60_000,
  );
  return parseConsumerPerformance(stdout);
}
