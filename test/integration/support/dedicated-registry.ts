import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/config/config.js';
import { LocalStack, stackLayout } from '../../../src/tools/stack/local-stack.js';
import { freePort } from './dedicated-broker.js';

/**
 * An Apicurio registry of a test's own (same app as the local stack, its own ports and H2 file),
 * for tests that stop and restart the registry without disturbing the shared one. Its schemas
 * outlive a restart, as the shared one's do.
 */
export async function dedicatedRegistry() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'refreshbus-registry-'));
  const config = loadConfig({
    REFRESHBUS_STACK_DIR: dir,
    REFRESHBUS_STACK: 'local',
    REFRESHBUS_REGISTRY_PORT: String(await freePort()),
    REFRESHBUS_REGISTRY_MANAGEMENT_PORT: String(await freePort()),
  });
  const sharedArtifacts = stackLayout(loadConfig().REFRESHBUS_STACK_DIR).artifacts;
  const stack = new LocalStack(config, () => undefined, sharedArtifacts);
  const endpoints = await stack.up({ registryOnly: true });
  return {
    registryUrl: endpoints.registryUrl,
    stop: () => stack.down(),
    start: () => stack.up({ registryOnly: true }),
    async destroy() {
      await stack.down();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
