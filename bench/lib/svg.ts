import type { CurvePoint } from './stats.js';

/** One line of a latency chart. */
export interface Series {
  readonly label: string;
  readonly points: readonly CurvePoint[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const W = 760;
const H = 440;
const M = { left: 70, right: 20, top: 50, bottom: 60 };
/** x is log10(1/(1-p)): 0 at p0, 1 at p90, 2 at p99, 3 at p99.9, 4 at p99.99. */
const X_MAX = 4;
const X_TICKS: readonly [number, string][] = [
  [0, 'p0'],
  [Math.log10(2), 'p50'],
  [1, 'p90'],
  [2, 'p99'],
  [3, 'p99.9'],
  [4, 'p99.99'],
];

const escape = (s: string) =>
  s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');

const xOf = (p: number) => Math.min(X_MAX, -Math.log10(Math.max(1e-4, 1 - p / 100)));

const fmt = (n: number) => (n >= 1 ? String(Math.round(n)) : n.toFixed(1));

/**
 * A hand-written SVG of latency percentile curves (x: percentile on a log(1/(1-p)) axis, so the
 * tail gets room; y: milliseconds, log scale), one line per series — refreshbus against its baselines.
 */
export function latencySvg(title: string, subtitle: string, series: readonly Series[]): string {
  const drawn = series.filter((s) => s.points.length > 0);
  const all = drawn.flatMap((s) => s.points.map((p) => p.ms)).filter((ms) => ms > 0);
  // log y: latency spans 1 ms to seconds, and a linear axis would hide everything below the tail
  const yMin = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...all, 1))));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(yMin * 10, ...all)));
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const px = (p: number) => M.left + (xOf(p) / X_MAX) * plotW;
  const py = (ms: number) =>
    M.top +
    plotH -
    ((Math.log10(Math.max(yMin, ms)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) *
      plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${escape(title)}</text>`,
    `<text x="${W / 2}" y="37" text-anchor="middle" fill="#555">${escape(subtitle)}</text>`,
  ];
  const yTicks: number[] = [];
  for (let decade = yMin; decade < yMax * 1.001; decade *= 10)
    for (const m of [1, 2, 5]) if (decade * m <= yMax * 1.001) yTicks.push(decade * m);
  for (const v of yTicks) {
    const y = py(v).toFixed(1);
    out.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${M.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(v)}</text>`,
    );
  }
  for (const [x, label] of X_TICKS) {
    const sx = (M.left + (x / X_MAX) * plotW).toFixed(1);
    out.push(
      `<line x1="${sx}" x2="${sx}" y1="${M.top}" y2="${M.top + plotH}" stroke="#e5e5e5"/>`,
      `<text x="${sx}" y="${M.top + plotH + 16}" text-anchor="middle">${label}</text>`,
    );
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
    `<text x="${M.left + plotW / 2}" y="${H - 22}" text-anchor="middle" fill="#333">percentile (log scale of 1/(1−p))</text>`,
    `<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#333">latency (ms, log scale)</text>`,
  );
  drawn.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] ?? '#000';
    const pts = [...s.points].sort((a, b) => a.p - b.p);
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${px(p.p).toFixed(1)},${py(p.ms).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const p of pts)
      out.push(
        `<circle cx="${px(p.p).toFixed(1)}" cy="${py(p.ms).toFixed(1)}" r="3" fill="${color}"><title>${escape(`${s.label}: p${p.p} = ${p.ms} ms`)}</title></circle>`,
      );
    const ly = M.top + 14 + i * 16;
    out.push(
      `<line x1="${M.left + 10}" x2="${M.left + 30}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${M.left + 36}" y="${ly}" dominant-baseline="middle">${escape(s.label)}</text>`,
    );
  });
  out.push('</svg>', '');
  return out.join('\n');
}
