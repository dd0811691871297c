import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The package root (where package.json lives), whether running from `src/` or `dist/`. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x.length > 0),
  )
  .pipe(z.array(z.string()).min(1));

/**
 * Every setting refreshbus reads from the environment, with its default and documentation.
 * `process.env` is read nowhere else: call {@link loadConfig} once at start.
 */
export const configSchema = z.object({
  KAFKA_BROKERS: csv
    .optional()
    .describe(
      'Comma-separated Kafka bootstrap servers. Unset: a local stack is used (Docker if an engine answers, else the JVM stack).',
    ),
  SCHEMA_REGISTRY_URL: z
    .url()
    .optional()
    .describe(
      'Confluent-compatible Schema Registry base URL (for Apicurio: http://host:port/apis/ccompat/v7). Required with KAFKA_BROKERS.',
    ),
  KAFKA_CLIENT_ID: z.string().min(1).default('refreshbus').describe('Kafka client id prefix.'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level.'),
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
});

export type Config = Readonly<z.infer<typeof configSchema>>;

/** Raised when the environment does not describe a valid configuration; lists every problem. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Parses the environment once into a typed, frozen configuration, or throws listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const known = Object.fromEntries(
    Object.keys(configSchema.shape)
      .filter((key) => env[key] !== undefined && env[key] !== '')
      .map((key) => [key, env[key]]),
  );
  const parsed = configSchema.safeParse(known);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  const config = parsed.data;
  if (config.KAFKA_BROKERS !== undefined && config.SCHEMA_REGISTRY_URL === undefined) {
    throw new ConfigError(['SCHEMA_REGISTRY_URL: required when KAFKA_BROKERS is set']);
  }
  return Object.freeze(config);
}
