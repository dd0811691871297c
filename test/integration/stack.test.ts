import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { StackError } from '../../src/tools/stack/errors.js';
import { LocalStack, stackLayout } from '../../src/tools/stack/local-stack.js';

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

describe('the local stack', () => {
  it('when a port is taken, fails saying so and leaves nothing it started running', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'refreshbus-stack-'));
    const busy = net.createServer().listen(0, '127.0.0.1');
    await once(busy, 'listening');
    try {
      const config = loadConfig({
        REFRESHBUS_STACK_DIR: dir,
        REFRESHBUS_KAFKA_PORT: String(await freePort()),
        REFRESHBUS_KAFKA_CONTROLLER_PORT: String(await freePort()),
        REFRESHBUS_REGISTRY_PORT: String((busy.address() as net.AddressInfo).port),
      });
      const sharedArtifacts = stackLayout(loadConfig().REFRESHBUS_STACK_DIR).artifacts;
      const stack = new LocalStack(config, () => undefined, sharedArtifacts);
      const failure = await stack.up().catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(StackError);
      expect((failure as Error).message).toMatch(/port \d+ \(needed by registry\) is in use/);
      // Kafka had been started by this call: it was stopped again
      expect((await stack.status()).map((s) => [s.component, s.pid])).toEqual([
        ['kafka', undefined],
        ['registry', undefined],
      ]);
    } finally {
      busy.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
