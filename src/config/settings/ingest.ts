import { z } from 'zod';
import { bool, csv, ms } from './kinds.js';

/** The ingest's settings: listening, limits and time limits, batching, shutdown, proxies, JWKS (the routes' authentication settings are in auth.ts). */
export const ingestSettings = {
  INGEST_HOST: z.string().min(1).default('127.0.0.1').describe('Ingest: address to listen on.'),
  INGEST_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(8080)
    .describe('Ingest: HTTP port (0 = any free port).'),
  PLAID_API_URL: z
    .url()
    .default('https://production.plaid.com')
    .describe(
      "Ingest: Plaid's API host, where the `plaid` check fetches webhook verification keys (https://sandbox.plaid.com for the sandbox).",
    ),
  PLAID_CLIENT_ID: z
    .string()
    .min(1)
    .optional()
    .describe('Ingest: the Plaid client id, for fetching verification keys (required with plaid).'),
  PLAID_SECRET: z
    .string()
    .min(1)
    .optional()
    .describe('Ingest: the Plaid secret, for fetching verification keys (required with plaid).'),
  JWKS_CACHE_MAX_AGE_MS: ms(600_000).describe(
    'Ingest: how long fetched JWKS keys are trusted before a refetch.',
  ),
  JWKS_COOLDOWN_MS: z.coerce
    .number()
    .int()
    .nonnegative()
    .default(30_000)
    .describe('Ingest: least time between two JWKS refetches triggered by an unknown key id.'),
  INGEST_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024)
    .describe('Ingest: largest accepted body; larger ones get 413 and are not read further.'),
  INGEST_HEADERS_TIMEOUT_MS: ms(10_000).describe(
    'Ingest: time a client has to send the request headers.',
  ),
  INGEST_REQUEST_TIMEOUT_MS: ms(30_000).describe(
    'Ingest: time a client has to send the whole request.',
  ),
  INGEST_KEEP_ALIVE_TIMEOUT_MS: ms(72_000).describe(
    'Ingest: how long an idle keep-alive connection stays open; above the idle timeout of a load balancer or sender pool in front, or they meet ECONNRESET.',
  ),
  INGEST_PUBLISH_TIMEOUT_MS: ms(5000).describe(
    'Ingest: how long a request waits for Kafka to acknowledge its record before answering 503.',
  ),
  INGEST_RETRY_AFTER_SECONDS: z.coerce
    .number()
    .int()
    .nonnegative()
    .default(5)
    .describe('Ingest: Retry-After sent with 503.'),
  INGEST_MAX_IN_FLIGHT: z.coerce
    .number()
    .int()
    .positive()
    .default(10_000)
    .describe('Ingest: records waiting for Kafka at once; beyond it requests are shed with 503.'),
  INGEST_BATCH_MAX_RECORDS: z.coerce
    .number()
    .int()
    .positive()
    .default(1000)
    .describe('Ingest: records per produce request.'),
  INGEST_BATCH_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(768 * 1024)
    .describe(
      'Ingest: bytes per produce request; keep below the broker/topic message.max.bytes (1 MiB by default), as one partition may get all of it.',
    ),
  INGEST_MAX_IN_FLIGHT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024)
    .describe(
      'Ingest: body bytes waiting for Kafka at once; beyond it requests are shed with 503.',
    ),
  INGEST_BATCH_LINGER_MS: z.coerce
    .number()
    .nonnegative()
    .default(2)
    .describe('Ingest: how long a batch waits for more records once one is queued.'),
  INGEST_SHUTDOWN_TIMEOUT_MS: ms(15_000).describe(
    'Ingest: on SIGTERM, time to drain requests and flush before exiting.',
  ),
  INGEST_TRUSTED_PROXIES: csv
    .optional()
    .describe('Ingest: proxies (IPs/CIDRs) whose X-Forwarded-For is believed; others are ignored.'),
  INGEST_ALLOW_UNAUTHENTICATED_REMOTE: bool(false).describe(
    'Ingest: allow an *_AUTH=none route while listening on a non-loopback address (never in production).',
  ),
};
