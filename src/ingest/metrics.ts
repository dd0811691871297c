import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { createMetricsRegistry } from '../observability/metrics.js';
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
  const kafkaReady = new Gauge({
    name: 'refreshbus_ingest_kafka_ready',
    help: '1 while Kafka accepts writes (what /readyz reports), else 0.',
    registers: [registry],
  });
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
  return { registry, requests, publishLatency, batchRecords, inFlight, kafkaReady, observer };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;
