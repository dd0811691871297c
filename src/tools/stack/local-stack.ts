import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import type { Config } from '../../config/config.js';
import { APICURIO_VERSION, KAFKA_VERSION, ensureApicurio, ensureKafkaJars } from './artifacts.js';
import { StackError } from './errors.js';
import { findJava } from './java.js';
import {
  isOwnProcess,
  isPortFree,
  readPid,
  stackMarker,
  startDaemon,
  stopDaemon,
  tail,
  withLock,
} from './processes.js';

import type { Endpoints } from '../../config/endpoints.js';
import { localEndpoints } from '../../config/endpoints.js';

/** Where Kafka and the registry can be reached. */
export type { Endpoints };

type Component = 'kafka' | 'registry';

/** The local stack's layout: everything lives under one gitignored folder. */
export interface StackLayout {
  readonly root: string;
  readonly artifacts: string;
  readonly run: string;
  readonly logs: string;
  readonly kafkaData: string;
  readonly registryData: string;
  readonly marker: string;
}

export function stackLayout(root: string, artifacts = path.join(root, 'artifacts')): StackLayout {
  return {
    root,
    artifacts,
    run: path.join(root, 'run'),
    logs: path.join(root, 'logs'),
    kafkaData: path.join(root, 'data', 'kafka'),
    registryData: path.join(root, 'data', 'registry'),
    marker: stackMarker(root),
  };
}

const pidFile = (layout: StackLayout, c: Component) => path.join(layout.run, `${c}.pid`);
const logFile = (layout: StackLayout, c: Component) => path.join(layout.logs, `${c}.log`);

function kafkaServerProperties(config: Config, layout: StackLayout): string {
  const port = config.REFRESHBUS_KAFKA_PORT;
  const ctrl = config.REFRESHBUS_KAFKA_CONTROLLER_PORT;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${ctrl}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${ctrl}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${layout.kafkaData}`,
    // single node: internal topics cannot be replicated, and 50 partitions each is slow on 2 cores
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=6',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=6',
    'group.initial.rebalance.delay.ms=0',
    // topics are created on purpose (`topics apply`, tests), never by a typo
    'auto.create.topics.enable=false',
    'num.partitions=3',
    '',
  ].join('\n');
}

const LOG4J = [
  'log4j.rootLogger=INFO, stdout',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  'log4j.logger.org.apache.kafka=WARN',
  'log4j.logger.kafka.request.logger=WARN',
  'log4j.logger.state.change.logger=WARN',
  '',
].join('\n');

/** 16 random bytes in base64url: the 22-character cluster id KRaft's StorageTool wants. */
function newClusterId(): string {
  // base64url may start with '-', which kafka-storage's argument parser takes for an option
  // ("--cluster-id: expected one argument"; 1 start in 64 failed): draw again then
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

async function kafkaReady(brokers: readonly string[]): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'refreshbus-stack-probe',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function registryReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(3000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Which part of the stack `up` starts: both by default. */
export interface UpOptions {
  /** Only the broker. @default false */
  readonly kafkaOnly?: boolean;
  /** Only the schema registry. @default false */
  readonly registryOnly?: boolean;
}

/** A line of progress for the person running the stack. */
export type Say = (line: string) => void;

export class LocalStack {
  readonly layout: StackLayout;
  readonly endpoints: Endpoints;

  /** `artifactsDir` lets a second stack (tests) reuse the first one's downloads. */
  constructor(
    private readonly config: Config,
    private readonly say: Say,
    artifactsDir?: string,
  ) {
    this.layout = stackLayout(config.REFRESHBUS_STACK_DIR, artifactsDir);
    this.endpoints = localEndpoints(config);
  }

  private async running(c: Component): Promise<number | undefined> {
    const pid = await readPid(pidFile(this.layout, c));
    return pid !== undefined && isOwnProcess(pid, this.layout.marker) ? pid : undefined;
  }

  /**
   * Starts whatever is not running yet and waits until both answer (or just the one asked for:
   * tests run a broker or a registry of their own beside the shared stack). Safe to call twice.
   */
  async up(options: UpOptions = {}): Promise<Endpoints> {
    await mkdir(this.layout.run, { recursive: true });
    return withLock(path.join(this.layout.run, 'stack.lock'), () => this.upLocked(options));
  }

  private async upLocked(options: UpOptions): Promise<Endpoints> {
    const l = this.layout;
    await Promise.all(
      [l.run, l.logs, l.kafkaData, l.registryData, l.artifacts].map((d) =>
        mkdir(d, { recursive: true }),
      ),
    );
    // what this call started, it stops again if the stack does not come up: nothing is left behind
    const started: Component[] = [];
    try {
      const kafka = !options.registryOnly;
      const registry = !options.kafkaOnly;
      if (kafka && (await this.startKafka())) started.push('kafka');
      if (registry && (await this.startRegistry())) started.push('registry');
      if (kafka) await this.awaitReady('kafka', () => kafkaReady(this.endpoints.brokers));
      if (registry) {
        await this.awaitReady('registry', () => registryReady(this.endpoints.registryUrl));
      }
    } catch (err) {
      for (const c of started.reverse()) await stopDaemon(pidFile(l, c), l.marker, 30_000);
      throw err;
    }
    return this.endpoints;
  }

  private async assertPortsFree(c: Component, ports: readonly number[]): Promise<void> {
    for (const port of ports) {
      if (!(await isPortFree(port))) {
        throw new StackError(
          `port ${port} (needed by ${c}) is in use by another process. Stop it, or choose other ports with ` +
            'REFRESHBUS_KAFKA_PORT / REFRESHBUS_KAFKA_CONTROLLER_PORT / REFRESHBUS_REGISTRY_PORT / REFRESHBUS_REGISTRY_MANAGEMENT_PORT.',
        );
      }
    }
  }

  /** Starts Kafka unless it runs; true when this call started it. */
  private async startKafka(): Promise<boolean> {
    const existing = await this.running('kafka');
    if (existing !== undefined) {
      this.say(`kafka: already running (pid ${existing})`);
      return false;
    }
    const l = this.layout;
    await this.assertPortsFree('kafka', [
      this.config.REFRESHBUS_KAFKA_PORT,
      this.config.REFRESHBUS_KAFKA_CONTROLLER_PORT,
    ]);
    const java = await findJava(17, `Kafka ${KAFKA_VERSION}`, {
      preferred: this.config.REFRESHBUS_JAVA_HOME,
      javaHome: this.config.JAVA_HOME,
    });
    const home = await ensureKafkaJars(l.artifacts, this.say);
    const props = path.join(l.run, 'server.properties');
    const log4j = path.join(l.run, 'log4j.properties');
    await writeFile(props, kafkaServerProperties(this.config, l));
    await writeFile(log4j, LOG4J);
    const classpath = `${path.join(home, 'lib')}/*`;
    const jvm = [l.marker, '-cp', classpath, `-Dlog4j.configuration=file:${log4j}`];
    if (!existsSync(path.join(l.kafkaData, 'meta.properties'))) {
      await rm(l.kafkaData, { recursive: true, force: true });
      await mkdir(l.kafkaData, { recursive: true });
      await new Promise<void>((resolve, reject) => {
        execFile(
          java.bin,
          [...jvm, 'kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', props],
          { timeout: 120_000 },
          (err, _stdout, stderr) => {
            if (err)
              reject(new StackError(`formatting Kafka storage failed: ${stderr || err.message}`));
            else resolve();
          },
        );
      });
    }
    const pid = await startDaemon({
      command: java.bin,
      args: ['-Xms256m', '-Xmx1g', '-XX:+UseG1GC', ...jvm, 'kafka.Kafka', props],
      cwd: l.root,
      env: { ...process.env },
      logFile: logFile(l, 'kafka'),
      pidFile: pidFile(l, 'kafka'),
    });
    this.say(
      `kafka: starting Apache Kafka ${KAFKA_VERSION} (KRaft, Java ${java.major}, pid ${pid})`,
    );
    return true;
  }

  /** Starts the registry unless it runs; true when this call started it. */
  private async startRegistry(): Promise<boolean> {
    const existing = await this.running('registry');
    if (existing !== undefined) {
      this.say(`registry: already running (pid ${existing})`);
      return false;
    }
    const l = this.layout;
    const c = this.config;
    await this.assertPortsFree('registry', [
      c.REFRESHBUS_REGISTRY_PORT,
      c.REFRESHBUS_REGISTRY_MANAGEMENT_PORT,
    ]);
    const java = await findJava(21, `Apicurio Registry ${APICURIO_VERSION}`, {
      preferred: c.REFRESHBUS_JAVA_HOME,
      javaHome: this.config.JAVA_HOME,
    });
    const home = await ensureApicurio(l.artifacts, this.say);
    const pid = await startDaemon({
      command: java.bin,
      args: ['-Xms128m', '-Xmx512m', l.marker, '-jar', path.join(home, 'quarkus-run.jar')],
      cwd: home,
      env: {
        ...process.env,
        QUARKUS_HTTP_HOST: '127.0.0.1',
        QUARKUS_HTTP_PORT: String(c.REFRESHBUS_REGISTRY_PORT),
        QUARKUS_MANAGEMENT_HOST: '127.0.0.1',
        QUARKUS_MANAGEMENT_PORT: String(c.REFRESHBUS_REGISTRY_MANAGEMENT_PORT),
        // schemas must outlive a registry restart: records on Kafka refer to them by id
        APICURIO_STORAGE_KIND: 'sql',
        APICURIO_STORAGE_SQL_KIND: 'h2',
        APICURIO_DATASOURCE_URL: `jdbc:h2:file:${path.join(l.registryData, 'registry')}`,
        APICURIO_DATASOURCE_USERNAME: 'sa',
        APICURIO_DATASOURCE_PASSWORD: 'sa',
      },
      logFile: logFile(l, 'registry'),
      pidFile: pidFile(l, 'registry'),
    });
    this.say(
      `registry: starting Apicurio Registry ${APICURIO_VERSION} (Java ${java.major}, pid ${pid})`,
    );
    return true;
  }

  private async awaitReady(c: Component, ready: () => Promise<boolean>): Promise<void> {
    const started = Date.now();
    const deadline = started + this.config.REFRESHBUS_STACK_START_TIMEOUT_MS;
    for (;;) {
      if (await ready()) {
        this.say(`${c}: ready (${((Date.now() - started) / 1000).toFixed(1)} s)`);
        return;
      }
      if ((await this.running(c)) === undefined) {
        throw new StackError(
          `${c} exited while starting. Last lines of ${logFile(this.layout, c)}:\n${await tail(logFile(this.layout, c))}`,
        );
      }
      if (Date.now() > deadline) {
        throw new StackError(
          `${c} was not ready within ${this.config.REFRESHBUS_STACK_START_TIMEOUT_MS} ms (REFRESHBUS_STACK_START_TIMEOUT_MS). ` +
            `Last lines of ${logFile(this.layout, c)}:\n${await tail(logFile(this.layout, c))}`,
        );
      }
      await sleep(500);
    }
  }

  /** Stops both daemons by their PIDs; with `purge`, also deletes their data. */
  async down(options: { purge?: boolean } = {}): Promise<void> {
    await mkdir(this.layout.run, { recursive: true });
    await withLock(path.join(this.layout.run, 'stack.lock'), () => this.downLocked(options));
  }

  private async downLocked(options: { purge?: boolean }): Promise<void> {
    for (const c of ['registry', 'kafka'] as const) {
      const stopped = await stopDaemon(pidFile(this.layout, c), this.layout.marker, 30_000);
      this.say(`${c}: ${stopped ? 'stopped' : 'not running'}`);
    }
    if (options.purge) {
      await rm(path.join(this.layout.root, 'data'), { recursive: true, force: true });
      this.say('data: deleted');
    }
  }

  async status(): Promise<{ component: Component; pid: number | undefined; ready: boolean }[]> {
    return Promise.all(
      (['kafka', 'registry'] as const).map(async (component) => {
        const pid = await this.running(component);
        const ready =
          pid !== undefined &&
          (component === 'kafka'
            ? await kafkaReady(this.endpoints.brokers)
            : await registryReady(this.endpoints.registryUrl));
        return { component, pid, ready };
      }),
    );
  }
}
