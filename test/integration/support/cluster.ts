import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../../../src/config/config.js';
import { KAFKA_VERSION, ensureKafkaJars } from '../../../src/tools/stack/artifacts.js';
import { findJava } from '../../../src/tools/stack/java.js';
import {
  isOwnProcess,
  readPid,
  startDaemon,
  stackMarker,
  tail,
} from '../../../src/tools/stack/processes.js';
import { stackLayout } from '../../../src/tools/stack/local-stack.js';
import { freePort } from './fleet.js';

/** How many nodes the cluster has: three voters, so losing one keeps the quorum. */
const NODES = [1, 2, 3] as const;
export type NodeId = (typeof NODES)[number];

interface NodePorts {
  readonly broker: number;
  readonly controller: number;
}

/**
 * Each node is broker and controller at once (a 3-voter KRaft quorum): three JVMs rather than
 * four, and any one may die. Replication as production runs it: RF 3, min ISR 2, for the
 * offsets and transaction state topics too. A killed broker is fenced after
 * `broker.session.timeout.ms` (Kafka's default 9 s is shortened: it only delays the test).
 */
function nodeProperties(
  id: NodeId,
  ports: Readonly<Record<NodeId, NodePorts>>,
  dataDir: string,
): string {
  const voters = NODES.map((n) => `${n}@127.0.0.1:${ports[n].controller}`).join(',');
  const own = ports[id];
  return [
    'process.roles=broker,controller',
    `node.id=${id}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://127.0.0.1:${own.broker},CONTROLLER://127.0.0.1:${own.controller}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${own.broker}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${dataDir}`,
    'default.replication.factor=3',
    'min.insync.replicas=2',
    'offsets.topic.replication.factor=3',
    'offsets.topic.num.partitions=6',
    'transaction.state.log.replication.factor=3',
    'transaction.state.log.min.isr=2',
    'transaction.state.log.num.partitions=6',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    'num.partitions=3',
    'broker.heartbeat.interval.ms=1000',
    'broker.session.timeout.ms=4000',
    // three JVMs beside other brokers on two cores: few threads each
    'num.network.threads=2',
    'num.io.threads=2',
    'background.threads=2',
    'num.replica.fetchers=1',
    'log.cleaner.threads=1',
    '',
  ].join('\n');
}

const LOG4J = [
  'log4j.rootLogger=WARN, stdout',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  '',
].join('\n');

/** A running three-node cluster. */
export interface KafkaCluster {
  /** Every node's client address (give them all to clients: any may be the one that is down). */
  readonly brokers: string[];
  /** A node's client address. */
  address(node: NodeId): string;
  /** The node listening on a client address. */
  nodeAt(address: string): NodeId;
  /** SIGKILL: no controlled shutdown, no leadership handed over, unflushed pages lost. */
  kill(node: NodeId): Promise<void>;
  /** Starts a killed node again on its data and waits until the cluster lists it. */
  restart(node: NodeId): Promise<void>;
  /** Kills every node and deletes the data. */
  destroy(): Promise<void>;
}

async function brokersListed(brokers: readonly string[]): Promise<number[]> {
  const kafka = new Kafka({
    clientId: 'refreshbus-cluster-probe',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const { brokers: listed } = await admin.describeCluster();
    return listed.map((b) => b.nodeId);
  } catch {
    return [];
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Starts a three-node KRaft cluster from the local stack's Kafka jars, on free ports in a temp dir. */
export async function startCluster(
  options: { startTimeoutMs?: number } = {},
): Promise<KafkaCluster> {
  const startTimeoutMs = options.startTimeoutMs ?? 90_000;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'refreshbus-cluster-'));
  const marker = stackMarker(dir);
  const base = loadConfig();
  const home = await ensureKafkaJars(
    stackLayout(base.REFRESHBUS_STACK_DIR).artifacts,
    () => undefined,
  );
  const java = await findJava(17, `Kafka ${KAFKA_VERSION}`, {
    preferred: base.REFRESHBUS_JAVA_HOME,
    javaHome: base.JAVA_HOME,
  });
  const ports = {} as Record<NodeId, NodePorts>;
  for (const n of NODES) ports[n] = { broker: await freePort(), controller: await freePort() };
  const log4j = path.join(dir, 'log4j.properties');
  await writeFile(log4j, LOG4J);
  const jvm = [marker, '-cp', `${path.join(home, 'lib')}/*`, `-Dlog4j.configuration=file:${log4j}`];
  const nodeDir = (n: NodeId) => path.join(dir, `node-${n}`);
  const props = (n: NodeId) => path.join(nodeDir(n), 'server.properties');
  const pidFile = (n: NodeId) => path.join(nodeDir(n), 'kafka.pid');
  const logFile = (n: NodeId) => path.join(nodeDir(n), 'kafka.log');
  const address = (n: NodeId) => `127.0.0.1:${ports[n].broker}`;
  const brokers = NODES.map(address);

  // what `kafka-storage format` writes, without a JVM per node (20 s on a busy 2-core box): the
  // node's identity; with no bootstrap.checkpoint the quorum starts at the release's metadata version
  const clusterId = randomBytes(16).toString('base64url');
  await Promise.all(
    NODES.map(async (n) => {
      const data = path.join(nodeDir(n), 'data');
      await mkdir(data, { recursive: true });
      await writeFile(props(n), nodeProperties(n, ports, data));
      await writeFile(
        path.join(data, 'meta.properties'),
        [
          'version=1',
          `cluster.id=${clusterId}`,
          `node.id=${n}`,
          `directory.id=${randomBytes(16).toString('base64url')}`,
          '',
        ].join('\n'),
      );
    }),
  );

  const startNode = (n: NodeId) =>
    startDaemon({
      command: java.bin,
      args: [
        '-Xms64m',
        '-Xmx256m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        ...jvm,
        'kafka.Kafka',
        props(n),
      ],
      cwd: nodeDir(n),
      env: { ...process.env },
      logFile: logFile(n),
      pidFile: pidFile(n),
    });

  const running = async (n: NodeId) => {
    const pid = await readPid(pidFile(n));
    return pid !== undefined && isOwnProcess(pid, marker) ? pid : undefined;
  };

  const kill = async (n: NodeId) => {
    const pid = await running(n);
    if (pid === undefined) return;
    process.kill(pid, 'SIGKILL');
    while (isOwnProcess(pid, marker)) await sleep(50);
  };

  const awaitListed = async (wanted: readonly NodeId[]) => {
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      const listed = await brokersListed(brokers);
      if (wanted.every((n) => listed.includes(n))) return;
      for (const n of wanted) {
        if ((await running(n)) === undefined)
          throw new Error(`kafka node ${n} exited while starting:\n${await tail(logFile(n))}`);
      }
      if (Date.now() > deadline)
        throw new Error(
          `kafka nodes ${wanted.join(', ')} not all listed within ${startTimeoutMs} ms (listed: ${listed.join(', ') || 'none'}):\n${await tail(logFile(wanted[0] ?? 1))}`,
        );
      await sleep(250);
    }
  };

  const destroy = async () => {
    await Promise.all(NODES.map(kill));
    await rm(dir, { recursive: true, force: true });
  };

  try {
    for (const n of NODES) await startNode(n);
    await awaitListed(NODES);
  } catch (err) {
    await destroy();
    throw err;
  }

  return {
    brokers,
    address,
    nodeAt(addr) {
      const n = NODES.find((x) => address(x) === addr);
      if (n === undefined) throw new Error(`no node of this cluster listens on ${addr}`);
      return n;
    },
    kill,
    async restart(n) {
      if ((await running(n)) === undefined) await startNode(n);
      await awaitListed([n]);
    },
    destroy,
  };
}
