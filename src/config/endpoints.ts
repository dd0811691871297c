import type { LocalDefaultConfig } from './config.js';

/** Where the services find Kafka and the schema registry: plain configuration, whoever started them. */
export interface Endpoints {
  readonly brokers: readonly string[];
  readonly registryUrl: string;
}

/**
 * The local default: where `refreshbus stack up` (or docker-compose.yml's published ports) puts
 * Kafka and the registry, from REFRESHBUS_KAFKA_PORT and REFRESHBUS_REGISTRY_PORT.
 */
export function localEndpoints(config: LocalDefaultConfig): Endpoints {
  return {
    brokers: [`127.0.0.1:${config.REFRESHBUS_KAFKA_PORT}`],
    registryUrl: `http://127.0.0.1:${config.REFRESHBUS_REGISTRY_PORT}/apis/ccompat/v7`,
  };
}
