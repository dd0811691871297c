import { loadConfig } from '../../../src/config/config.js';
import type { Config } from '../../../src/config/config.js';
import { startIngest } from '../../../src/ingest/server.js';
import type { RunningIngest } from '../../../src/ingest/server.js';
import { createLogger } from '../../../src/lib/logger.js';
import type { Endpoints } from '../../../src/tools/stack/local-stack.js';
import { brokers, registryUrl } from './kafka.js';

export const HMAC_SECRET =
  'whsec_' + Buffer.from('integration-test-secret-0123456789').toString('base64');

/** Config for an ingest under test: ephemeral port, unique topics, quiet logs. */
export function ingestConfig(env: Record<string, string>, endpoints?: Endpoints): Config {
  return loadConfig({
    KAFKA_BROKERS: (endpoints?.brokers ?? brokers()).join(','),
    SCHEMA_REGISTRY_URL: endpoints?.registryUrl ?? registryUrl(),
    INGEST_PORT: '0',
    LOG_LEVEL: 'silent',
    BUD_AUTH: 'hmac',
    BUD_WEBHOOK_SECRETS: HMAC_SECRET,
    YODLEE_AUTH: 'ip',
    YODLEE_ALLOWED_CIDRS: '127.0.0.1/32,::1/128',
    REFRESH_REQUESTS_AUTH: 'none',
    PLAID_AUTH: 'none',
    CONNECTIONS_AUTH: 'none',
    ...env,
  });
}

export async function runIngest(config: Config): Promise<RunningIngest> {
  const endpoints = {
    brokers: config.KAFKA_BROKERS ?? [],
    registryUrl: config.SCHEMA_REGISTRY_URL ?? '',
  };
  return startIngest(config, endpoints, createLogger(config.LOG_LEVEL));
}

export async function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(30_000),
  });
  return {
    status: res.status,
    headers: res.headers,
    json: (await res.json()) as Record<string, unknown>,
  };
}
