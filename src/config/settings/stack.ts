import path from 'node:path';
import { z } from 'zod';
import { packageRoot } from '../package-root.js';
import { port } from './kinds.js';

/** The local stack's settings (`refreshbus stack`, tooling): ports, folder, JDK. */
export const stackSettings = {
  REFRESHBUS_STACK: z
    .enum(['auto', 'external', 'docker', 'local'])
    .default('auto')
    .describe(
      'Which infrastructure to use: auto = KAFKA_BROKERS if set, else a Docker engine if one answers, else the local JVM stack.',
    ),
  REFRESHBUS_STACK_DIR: z
    .string()
    .min(1)
    .default(path.join(packageRoot, '.refreshbus'))
    .describe('Folder of the local JVM stack: downloaded artifacts, data, logs and PIDs.'),
  REFRESHBUS_KAFKA_PORT: port(9092).describe('Local stack: Kafka client (PLAINTEXT) port.'),
  REFRESHBUS_KAFKA_CONTROLLER_PORT: port(9093).describe('Local stack: KRaft controller port.'),
  REFRESHBUS_REGISTRY_PORT: port(8081).describe('Local stack: schema registry HTTP port.'),
  REFRESHBUS_REGISTRY_MANAGEMENT_PORT: port(9081).describe(
    'Local stack: schema registry (Quarkus) management port, bound to 127.0.0.1.',
  ),
  REFRESHBUS_STACK_START_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(120_000)
    .describe('Local stack: how long `stack up` waits for each service to become ready.'),
  JAVA_HOME: z
    .string()
    .optional()
    .describe('Local stack: the default JDK, searched after REFRESHBUS_JAVA_HOME.'),
  REFRESHBUS_JAVA_HOME: z
    .string()
    .optional()
    .describe(
      'Local stack: a JDK to prefer. Kafka needs Java 17+, the Apicurio registry Java 21+; JAVA_HOME, PATH and /usr/lib/jvm are searched otherwise.',
    ),
};
