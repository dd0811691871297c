import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { createMetricsRegistry } from '../observability/metrics.js';
import { BUD_SIGNATURE_PATHS } from './auth/bud-jws.js';
import type { AuthResult } from './auth/types.js';
import type { PublisherObserver } from './publisher.js';

/**
 * The ingest's Prometheus metrics, in the given registry (shared in `refreshbus all`) or a new one
 * of its own (so tests can build many apps).
 */
export function createIngestMetrics(
  options: { defaultMetrics?: boolean; registry?: Registry | undefined } = {},
) {
  const registry =
    options.registry ?? createMetricsRegistry({ defaultMetrics: options.defaultMetrics ?? true });
  const requests = new Counter({
    name: 'refreshbus_ingest_requests_total',
    help: 'HTTP requests answered, by route source and status code.',
    labelNames: ['source', 'status'] as const,
    registers: [registry],
  });
  const publishLatency = new Histogram({
    name: 'refreshbus_ingest_publish_duration_seconds',
    help: 'Time from a request being authenticated to Kafka acknowledging its record (acks=all).',
    labelNames: ['source'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const batchRecords = new Histogram({
    name: 'refreshbus_ingest_batch_records',
    help: 'Records per produce request.',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers: [registry],
  });
  const batchFailures = new Counter({
    name: 'refreshbus_ingest_batch_failures_total',
    help: 'Produce requests that failed.',
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'refreshbus_ingest_in_flight_records',
    help: 'Records queued or waiting for Kafka to acknowledge them.',
    registers: [registry],
  });
  const clientAborts = new Counter({
    name: 'refreshbus_ingest_client_aborts_total',
    help: 'Requests whose client closed the connection before its body was received (logged at debug).',
    registers: [registry],
  });
  const kafkaReady = new Gauge({
    name: 'refreshbus_ingest_kafka_ready',
    help: '1 while Kafka accepts writes (what /readyz reports), else 0.',
    registers: [registry],
  });
  const { budSignatureVerified, authPassed } = createBudSignatureMetrics(registry);
  const observer: PublisherObserver = {
    batchSent: (records) => {
      batchRecords.observe(records);
    },
    batchFailed: () => {
      batchFailures.inc();
    },
    inFlight: (count) => {
      inFlight.set(count);
    },
  };
  return {
    registry,
    requests,
    publishLatency,
    batchRecords,
    inFlight,
    clientAborts,
    kafkaReady,
    budSignatureVerified,
    authPassed,
    observer,
  };
}

/**
 * How Bud X-Signature checks passed, by signature path: the counter, every path shown from the
 * start, and `authPassed` that counts an accepted request into it.
 */
function createBudSignatureMetrics(registry: Registry) {
  const budSignatureVerified = new Counter({
    name: 'refreshbus_ingest_bud_signature_verified_total',
    help: "Bud X-Signature checks passed, by what the signed payload was: the body's exact bytes (exact), the same JSON (json), or claims stating the body's SHA-256 (digest).",
    labelNames: ['path'] as const,
    registers: [registry],
  });
  // every path shows from the start, so a rate over it is defined before the first webhook
  for (const path of BUD_SIGNATURE_PATHS) budSignatureVerified.inc({ path }, 0);
  /** Counts how an accepted request's checks passed (see `AuthResult.detail`). */
  const authPassed = (detail: Extract<AuthResult, { ok: true }>['detail']) => {
    const path = detail?.['bud-jws'];
    if (path !== undefined && (BUD_SIGNATURE_PATHS as readonly string[]).includes(path)) {
      budSignatureVerified.inc({ path });
    }
  };
  return { budSignatureVerified, authPassed };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;
