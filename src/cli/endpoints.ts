import type { CommonConfig, LocalDefaultConfig } from '../config/config.js';
import type { Logger } from '../lib/logger.js';
import type { Endpoints } from '../config/endpoints.js';
import { localEndpoints } from '../config/endpoints.js';

/** Where a service connects: KAFKA_BROKERS/SCHEMA_REGISTRY_URL, else the local stack's (or compose's) ports. */
export function resolveEndpoints(
  config: Pick<CommonConfig, 'KAFKA_BROKERS' | 'SCHEMA_REGISTRY_URL'> & LocalDefaultConfig,
  logger: Logger,
): Endpoints {
  if (config.KAFKA_BROKERS && config.SCHEMA_REGISTRY_URL) {
    return { brokers: config.KAFKA_BROKERS, registryUrl: config.SCHEMA_REGISTRY_URL };
  }
  const endpoints = localEndpoints(config);
  logger.info(
    { brokers: endpoints.brokers, registry: endpoints.registryUrl },
    'KAFKA_BROKERS not set: using the local stack (start it with `refreshbus stack up`)',
  );
  return endpoints;
}
