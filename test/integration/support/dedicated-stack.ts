import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/config/config.js';
import type { UpOptions } from '../../../src/tools/stack/local-stack.js';
import { LocalStack, stackLayout } from '../../../src/tools/stack/local-stack.js';
import { freePort } from './fleet.js';

/**
 * A part of the local stack (`only`) of a test's own — same artifacts as the shared stack, its own
 * data directory and a free port for each of `portSettings` — for tests that stop and restart it
 * without disturbing the shared one.
 */
export async function dedicatedStack(name: string, portSettings: string[], only: UpOptions) {
  const dir = await mkdtemp(path.join(os.tmpdir(), `refreshbus-${name}-`));
  const ports: Record<string, string> = {};
  for (const setting of portSettings) ports[setting] = String(await freePort());
  const config = loadConfig({ REFRESHBUS_STACK_DIR: dir, REFRESHBUS_STACK: 'local', ...ports });
  const sharedArtifacts = stackLayout(loadConfig().REFRESHBUS_STACK_DIR).artifacts;
  const stack = new LocalStack(config, () => undefined, sharedArtifacts);
  return {
    endpoints: await stack.up(only),
    stop: () => stack.down(),
    start: () => stack.up(only),
    async destroy() {
      await stack.down();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
