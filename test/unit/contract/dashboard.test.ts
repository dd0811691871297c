import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import type { Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/config/config.js';
import { createIngestMetrics } from '../../../src/ingest/metrics.js';
import { StreamMetrics, createMetricsRegistry } from '../../../src/observability/metrics.js';

/** The metric names the dashboard may use: what the services expose, as agreed (docs/operations.md, Observability). */
const METRICS = [
  'refreshbus_ingest_requests_total',
  'refreshbus_ingest_publish_duration_seconds_bucket',
  'refreshbus_ingest_batch_records_bucket',
  'refreshbus_ingest_batch_failures_total',
  'refreshbus_ingest_in_flight_records',
  'refreshbus_ingest_kafka_ready',
  'refreshbus_records_consumed_total',
  'refreshbus_records_produced_total',
  'refreshbus_dlq_records_total',
  'refreshbus_consumer_lag_records',
  'refreshbus_stream_partition_lag',
  'refreshbus_stream_partition_stalled_seconds',
  'refreshbus_transaction_commit_duration_seconds_bucket',
  'refreshbus_transactions_aborted_total',
  'refreshbus_rebalances_total',
  'refreshbus_assigned_partitions',
  'refreshbus_state_store_entries',
  'refreshbus_state_restore_records_total',
  'refreshbus_ready',
  'refreshbus_process_resident_memory_bytes',
  'refreshbus_nodejs_eventloop_lag_p99_seconds',
  'refreshbus_process_cpu_seconds_total',
  'refreshbus_nodejs_heap_size_used_bytes',
];

interface Target {
  expr: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  datasource?: { type: string; uid: string };
}
interface Dashboard {
  schemaVersion: number;
  uid: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

const DATASOURCE = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** Grafana's macros are not PromQL: give them a value Prometheus would get. */
const asPromql = (expr: string) => expr.replaceAll('$__rate_interval', '1m');

/** The syntax nodes of a PromQL expression; Error nodes mark what does not parse. */
function nodesOf(expr: string): { name: string; node: SyntaxNode }[] {
  const nodes: { name: string; node: SyntaxNode }[] = [];
  const cursor = parser.parse(expr).cursor();
  do nodes.push({ name: cursor.type.isError ? 'Error' : cursor.name, node: cursor.node });
  while (cursor.next());
  return nodes;
}

/** Each vector selector of the expression: its metric name and its text. */
function selectorsOf(expr: string): { metric: string; text: string }[] {
  return nodesOf(expr)
    .filter((n) => n.name === 'VectorSelector')
    .map(({ node }) => {
      const name = node.getChild('Identifier');
      return {
        metric: name ? expr.slice(name.from, name.to) : '',
        text: expr.slice(node.from, node.to),
      };
    });
}

/** Names a registry's metrics appear under in the exposition (histograms as _bucket/_sum/_count). */
async function exposedNames(registry: Registry): Promise<string[]> {
  return (await registry.getMetricsAsJSON()).flatMap((m) =>
    String(m.type) === 'histogram' || String(m.type) === 'summary'
      ? [m.name, `${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`]
      : [m.name],
  );
}

let dashboard: Dashboard;
const allPanels = () => dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const queries = () =>
  allPanels().flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p, target: t })));

beforeAll(async () => {
  dashboard = JSON.parse(
    await readFile(path.join(packageRoot, 'dashboards', 'refreshbus.json'), 'utf8'),
  ) as Dashboard;
});

describe('dashboards/refreshbus.json', () => {
  it('is a Grafana dashboard with a Prometheus data source variable and job/instance variables', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(dashboard.uid).toBe('refreshbus');
    const byName = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(byName.get('DS_PROMETHEUS')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const name of ['job', 'instance']) {
      const variable = byName.get(name);
      expect(variable?.type, name).toBe('query');
      expect(variable?.datasource).toEqual(DATASOURCE);
      const query = typeof variable?.query === 'string' ? variable.query : variable?.query.query;
      const metric = /^label_values\((\w+)/.exec(query ?? '')?.[1];
      expect(METRICS, `${name} is listed from ${metric ?? '?'}`).toContain(metric);
    }
  });

  it('has the rows Ingest, Normalizer, Processors and Runtime, in that order', () => {
    expect(dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title)).toEqual([
      'Ingest',
      'Normalizer',
      'Processors',
      'Runtime',
    ]);
  });

  it('gives every panel a unique id and a place of its own on the 24-column grid', () => {
    const panels = allPanels();
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
    for (const [i, a] of panels.entries()) {
      for (const b of panels.slice(i + 1)) {
        const overlap =
          a.gridPos.x < b.gridPos.x + b.gridPos.w &&
          b.gridPos.x < a.gridPos.x + a.gridPos.w &&
          a.gridPos.y < b.gridPos.y + b.gridPos.h &&
          b.gridPos.y < a.gridPos.y + a.gridPos.h;
        expect(overlap, `"${a.title}" overlaps "${b.title}"`).toBe(false);
      }
    }
  });

  it('queries only through the data source variable', () => {
    for (const p of allPanels().filter((x) => x.type !== 'row')) {
      expect(p.datasource, p.title).toEqual(DATASOURCE);
      expect(p.targets?.length, `${p.title} has no query`).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource, p.title).toEqual(DATASOURCE);
    }
  });

  it('has only valid PromQL, selecting only the agreed metric names, each by $job and $instance', () => {
    expect(queries().length).toBeGreaterThan(0);
    for (const { panel, target } of queries()) {
      const expr = asPromql(target.expr);
      expect(
        nodesOf(expr)
          .filter((n) => n.name === 'Error')
          .map((n) => `does not parse at ${n.node.from}`),
        `${panel.title}: ${expr}`,
      ).toEqual([]);
      const selectors = selectorsOf(expr);
      expect(selectors.length, `${panel.title}: ${expr}`).toBeGreaterThan(0);
      for (const { metric, text } of selectors) {
        expect(METRICS, `${panel.title}: ${metric}`).toContain(metric);
        expect(text, panel.title).toContain('job=~"$job"');
        expect(text, panel.title).toContain('instance=~"$instance"');
      }
    }
  });

  it('shows every agreed metric', () => {
    const used = new Set(queries().flatMap(({ target }) => selectorsOf(asPromql(target.expr))));
    const names = new Set([...used].map((s) => s.metric));
    for (const metric of METRICS) expect(names, metric).toContain(metric);
  });

  it("selects, in the Normalizer and Processors rows, that row's service", () => {
    let service: string | undefined;
    for (const p of dashboard.panels) {
      if (p.type === 'row') {
        service = { Normalizer: 'normalize', Processors: 'process' }[p.title];
        continue;
      }
      for (const t of p.targets ?? []) {
        const label = /service="(\w+)"/.exec(t.expr)?.[1];
        if (label !== undefined) expect(label, p.title).toBe(service);
      }
    }
  });

  it('uses metric names refreshbus exposes: a metric renamed in src/ fails here', async () => {
    const exposed = new Set([
      ...(await exposedNames(createIngestMetrics({ defaultMetrics: false }).registry)),
      ...(await exposedNames(
        StreamMetrics.of(createMetricsRegistry({ defaultMetrics: false })).registry,
      )),
      ...(await exposedNames(createMetricsRegistry())),
    ]);
    for (const metric of METRICS) expect(exposed, metric).toContain(metric);
  });
});
