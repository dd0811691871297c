import { dedicatedStack } from './dedicated-stack.js';

/**
 * An Apicurio registry of a test's own (same app as the local stack, its own ports and H2 file),
 * for tests that stop and restart the registry without disturbing the shared one. Its schemas
 * outlive a restart, as the shared one's do.
 */
export async function dedicatedRegistry() {
  const { endpoints, ...lifecycle } = await dedicatedStack(
    'registry',
    ['REFRESHBUS_REGISTRY_PORT', 'REFRESHBUS_REGISTRY_MANAGEMENT_PORT'],
    { registryOnly: true },
  );
  return { registryUrl: endpoints.registryUrl, ...lifecycle };
}
