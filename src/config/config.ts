import { z } from 'zod';
import type { AuthSettings } from '../ingest/auth/modes.js';
import { authPrefixes, authShape } from './settings/auth.js';
import { commonSettings } from './settings/common.js';
import { ingestSettings } from './settings/ingest.js';
import { normalizeSettings } from './settings/normalize.js';
import { processSettings } from './settings/process.js';
import { stackSettings } from './settings/stack.js';
import { topicsSettings } from './settings/topics.js';

export { packageRoot } from './package-root.js';
export { authPrefixes };

/**
 * Every setting refreshbus reads from the environment, with its default and documentation, in
 * sections (src/config/settings/): each service's type below names the sections it reads.
 * `process.env` is read nowhere else: call {@link loadConfig} once at start.
 */
export const configSchema = z.object({
  ...commonSettings,
  ...topicsSettings,
  ...ingestSettings,
  ...normalizeSettings,
  ...processSettings,
  ...stackSettings,
});

export type Config = Readonly<z.infer<typeof configSchema>> & {
  /** Authentication settings per route prefix (`BUD`, `YODLEE`, `REFRESH_REQUESTS`). */
  readonly auth: Readonly<Record<string, AuthSettings>>;
};

/** The settings of a section (src/config/settings/), as parsed. */
type Section<S extends z.ZodRawShape> = Readonly<z.infer<z.ZodObject<S>>>;

/** The topics refreshbus creates and checks: their names, and the processors' changelogs. */
export type TopicsConfig = Section<typeof topicsSettings> &
  Pick<Section<typeof processSettings>, 'PROCESS_APPLICATION_ID'>;
/** What every service reads: Kafka, the registry, logging, ops endpoints, the topics. */
export type CommonConfig = Section<typeof commonSettings> & TopicsConfig;
/** The ingest's settings, and the routes' authentication. */
export type IngestConfig = CommonConfig &
  Section<typeof ingestSettings> & { readonly auth: Config['auth'] };
/** The normalizer's settings. */
export type NormalizerConfig = CommonConfig & Section<typeof normalizeSettings>;
/** The processors' settings. */
export type ProcessorsConfig = CommonConfig & Section<typeof processSettings>;
/** The local stack's settings (tooling). */
export type StackConfig = Section<typeof stackSettings>;
/** Where the local stack listens: the endpoints used when KAFKA_BROKERS is not set. */
export type LocalDefaultConfig = Pick<
  StackConfig,
  'REFRESHBUS_KAFKA_PORT' | 'REFRESHBUS_REGISTRY_PORT'
>;
/** The operator commands' settings: any service's common ones, and the local default. */
export type OperatorConfig = CommonConfig & LocalDefaultConfig;

export const fullConfigSchema = configSchema.extend(authShape());

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
    Object.keys(fullConfigSchema.shape)
      .filter((key) => env[key] !== undefined && env[key] !== '')
      .map((key) => [key, env[key]]),
  );
  const parsed = fullConfigSchema.safeParse(known);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  const data = parsed.data as z.infer<typeof configSchema> & Record<string, unknown>;
  const problems: string[] = [];
  if (data.KAFKA_BROKERS !== undefined && data.SCHEMA_REGISTRY_URL === undefined) {
    problems.push('SCHEMA_REGISTRY_URL: required when KAFKA_BROKERS is set');
  }
  if (data.INGEST_HEADERS_TIMEOUT_MS > data.INGEST_REQUEST_TIMEOUT_MS) {
    problems.push('INGEST_HEADERS_TIMEOUT_MS: must not exceed INGEST_REQUEST_TIMEOUT_MS');
  }
  if (problems.length) throw new ConfigError(problems);
  const auth: Record<string, AuthSettings> = {};
  for (const { prefix } of authPrefixes) {
    auth[prefix] = Object.freeze({
      modes: data[`${prefix}_AUTH`] as AuthSettings['modes'],
      jwksUrl: data[`${prefix}_JWKS_URL`] as string | undefined,
      webhookSecrets: data[`${prefix}_WEBHOOK_SECRETS`] as string[] | undefined,
      allowedCidrs: data[`${prefix}_ALLOWED_CIDRS`] as string[] | undefined,
      sharedSecret: data[`${prefix}_SHARED_SECRET`] as string | undefined,
      sharedSecretHeader: data[`${prefix}_SHARED_SECRET_HEADER`] as string,
    });
  }
  return Object.freeze({ ...data, auth: Object.freeze(auth) });
}
