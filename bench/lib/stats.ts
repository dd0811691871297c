/** A point of a latency percentile curve: `p` in percent (0…100), `ms` the latency at it. */
export interface CurvePoint {
  readonly p: number;
  readonly ms: number;
}

/** Latency summary in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

/** The percentiles drawn on every curve (the SVG's x-axis is log(1/(1-p))). */
export const CURVE_PERCENTILES = [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99] as const;

/** The value at percentile `p` of ascending `sorted` (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** Summary and percentile curve of latency samples (ms). */
export function summarize(samples: readonly number[]): {
  summary: LatencySummary;
  curve: CurvePoint[];
} {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => round2(percentile(sorted, p));
  return {
    summary: {
      count: sorted.length,
      min: round2(sorted[0] ?? Number.NaN),
      p50: at(50),
      p90: at(90),
      p99: at(99),
      p999: at(99.9),
      max: round2(sorted[sorted.length - 1] ?? Number.NaN),
      mean: round2(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
    },
    curve: CURVE_PERCENTILES.map((p) => ({ p, ms: p === 0 ? round2(sorted[0] ?? 0) : at(p) })),
  };
}

/** Autocannon's latency histogram as a curve (it reports p2.5…p99.999, min and max). */
export function autocannonCurve(latency: {
  min: number;
  p2_5: number;
  p50: number;
  p75: number;
  p90: number;
  p97_5: number;
  p99: number;
  p99_9: number;
  p99_99: number;
}): CurvePoint[] {
  return [
    { p: 0, ms: latency.min },
    { p: 2.5, ms: latency.p2_5 },
    { p: 50, ms: latency.p50 },
    { p: 75, ms: latency.p75 },
    { p: 90, ms: latency.p90 },
    { p: 97.5, ms: latency.p97_5 },
    { p: 99, ms: latency.p99 },
    { p: 99.9, ms: latency.p99_9 },
    { p: 99.99, ms: latency.p99_99 },
  ];
}

/**
 * A curve from a Prometheus histogram's cumulative buckets (`le` in seconds → count), linearly
 * interpolated within a bucket; coarse, as the buckets are.
 */
export function bucketCurve(buckets: readonly { le: number; count: number }[]): CurvePoint[] {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted[sorted.length - 1]?.count ?? 0;
  if (total === 0) return [];
  const finite = sorted.filter((b) => Number.isFinite(b.le));
  const top = finite[finite.length - 1]?.le ?? 0;
  return CURVE_PERCENTILES.map((p) => {
    const target = (p / 100) * total;
    let lower = { le: 0, count: 0 };
    for (const b of sorted) {
      if (b.count >= target) {
        const le = Number.isFinite(b.le) ? b.le : top;
        const span = b.count - lower.count;
        const fraction = span > 0 ? (target - lower.count) / span : 1;
        return { p, ms: round2((lower.le + (le - lower.le) * fraction) * 1000) };
      }
      lower = b;
    }
    return { p, ms: round2(top * 1000) };
  });
}

/**
 * p99 per window of `windowMs` of the run, by the instant each sample started (ms since the
 * run's start): shows whether a tail is spread over the run or comes from a few seconds of it.
 */
export function windowedP99(
  samples: readonly { readonly at: number; readonly ms: number }[],
  windowMs: number,
): { fromS: number; count: number; p99: number }[] {
  const windows: number[][] = [];
  for (const { at, ms } of samples) {
    const w = Math.max(0, Math.floor(at / windowMs));
    (windows[w] ??= []).push(ms);
  }
  const out: { fromS: number; count: number; p99: number }[] = [];
  // windows without a sample are holes of the sparse array: count 0, p99 NaN
  for (let w = 0; w < windows.length; w++) {
    const sorted = [...(windows[w] ?? [])].sort((a, b) => a - b);
    out.push({
      fromS: (w * windowMs) / 1000,
      count: sorted.length,
      p99: round2(percentile(sorted, 99)),
    });
  }
  return out;
}
