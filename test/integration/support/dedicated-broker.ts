import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/config/config.js';
import { LocalStack, stackLayout } from '../../../src/tools/stack/local-stack.js';

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * A Kafka broker of a test's own (same jars as the local stack, its own ports and data), for
 * tests that stop and restart the broker without disturbing the shared one.
 */
export async function dedicatedBroker() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'refreshbus-broker-'));
  const config = loadConfig({
    REFRESHBUS_STACK_DIR: dir,
    REFRESHBUS_STACK: 'local',
    REFRESHBUS_KAFKA_PORT: String(await freePort()),
    REFRESHBUS_KAFKA_CONTROLLER_PORT: String(await freePort()),
  });
  const sharedArtifacts = stackLayout(loadConfig().REFRESHBUS_STACK_DIR).artifacts;
  const stack = new LocalStack(config, () => undefined, sharedArtifacts);
  const endpoints = await stack.up({ kafkaOnly: true });
  return {
    brokers: [...endpoints.brokers],
    stop: () => stack.down(),
    start: () => stack.up({ kafkaOnly: true }),
    async destroy() {
      await stack.down();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
