import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from '../../src/config/config.js';
import type { MachineInfo } from './machine.js';
import type { Series } from './svg.js';
import { latencySvg } from './svg.js';

/** A figure of the issue's targets: measured value against its target. */
export interface Figure {
  readonly name: string;
  readonly unit: string;
  readonly measured: number | null;
  /** `>=` or `<=` the value; absent: reported, no target. */
  readonly target?: { readonly op: '>=' | '<='; readonly value: number };
  readonly note?: string;
}

/** A baseline measured in the same run, and how refreshbus compares with it. */
export interface Baseline {
  readonly name: string;
  readonly unit: string;
  readonly baseline: number | null;
  readonly refreshbus: number | null;
  /** refreshbus / baseline. */
  readonly ratio: number | null;
  readonly target?: { readonly op: '>=' | '<='; readonly value: number };
  readonly note?: string;
}

/** A latency percentile chart: refreshbus and its baselines. */
export interface Chart {
  readonly title: string;
  readonly subtitle: string;
  readonly series: readonly Series[];
}

/** What a stage prints on stdout (JSON) and `bench/run.ts` collects. */
export interface StageResult {
  readonly stage: string;
  readonly title: string;
  readonly quick: boolean;
  readonly startedAt: string;
  readonly seconds: number;
  /** 1/5/15-minute load averages before and after the stage (other work on the machine). */
  readonly load: { readonly before: readonly number[]; readonly after: readonly number[] };
  readonly settings: Readonly<Record<string, string | number | boolean>>;
  readonly figures: readonly Figure[];
  readonly baselines: readonly Baseline[];
  readonly charts: readonly Chart[];
  readonly notes: readonly string[];
  /** Everything measured, raw. */
  readonly details: unknown;
}

/** A stage that failed: the report says so rather than leaving it out. */
export interface StageFailure {
  readonly stage: string;
  readonly error: string;
}

export const met = (measured: number | null, target: Figure['target']): boolean | undefined => {
  if (!target || measured === null || !Number.isFinite(measured)) return undefined;
  return target.op === '>=' ? measured >= target.value : measured <= target.value;
};

export const ratio = (a: number | null, b: number | null): number | null =>
  a === null || b === null || b === 0 ? null : Math.round((a / b) * 100) / 100;

const num = (n: number | null) =>
  n === null || !Number.isFinite(n) ? '—' : n.toLocaleString('en-GB', { maximumFractionDigits: 2 });
const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
const op = (o: '>=' | '<=') => (o === '>=' ? '≥' : '≤');
const unit = (u: string) => (u ? ` ${u}` : '');
const yesNo = (b: boolean | undefined) => (b === undefined ? '—' : b ? '✅ yes' : '❌ no');

/**
 * The report's file name: `YYYY-MM-DD` of today (UTC), or BENCH_REPORT_NAME (a second run the
 * same day, say).
 */
export const reportDate = () =>
  process.env.BENCH_REPORT_NAME ?? new Date().toISOString().slice(0, 10);

/**
 * Writes `bench/results/<date>.md` and `.json` and one SVG per chart
 * (`<date>-<stage>[-n].svg`), linked from the markdown. Returns the markdown's path.
 */
export async function writeReport(options: {
  machine: MachineInfo;
  command: string;
  results: readonly StageResult[];
  failures: readonly StageFailure[];
  dir?: string;
  date?: string;
  /** Conditions worth knowing when reading the figures (a busy machine, say). */
  note?: string;
  /** How long the bench waited for a quiet machine before each stage. */
  settling?: string;
}): Promise<string> {
  const dir = options.dir ?? path.join(packageRoot, 'bench', 'results');
  const date = options.date ?? reportDate();
  await mkdir(dir, { recursive: true });
  const { machine, results } = options;
  const md: string[] = [
    `# refreshbus benchmark — ${date}`,
    '',
    `Command: \`${options.command}\` (${results.some((r) => r.quick) ? 'quick mode: shorter runs and smaller sizes than the issue’s' : 'full mode: the sizes of issue 7'}).`,
    'Each stage ran in its own process; each measured its baselines in the same run, so the ratios hold on a noisy machine better than the absolute figures.',
    ...(options.settling ? ['', options.settling] : []),
    ...(options.note ? ['', `**Note:** ${options.note}`] : []),
    '',
    '## Machine',
    '',
    '| | |',
    '|---|---|',
    `| CPU | ${cell(machine.cpuModel)} × ${machine.cores} |`,
    `| Memory | ${machine.memoryGB} GB |`,
    `| OS | ${cell(machine.os)} |`,
    `| Node | ${machine.node} |`,
    `| kafkajs | ${machine.kafkajs} |`,
    `| autocannon | ${machine.autocannon} |`,
    `| Kafka | ${machine.kafka} (broker on the same machine) |`,
    `| Apicurio Registry | ${machine.apicurio} (on the same machine) |`,
    `| refreshbus | ${machine.refreshbusCommit} |`,
    `| Load average at start (1/5/15 min) | ${machine.loadAverage.join(' / ')} |`,
    '',
    '## Targets',
    '',
    '| Stage | Figure | Target | Measured | Met? |',
    '|---|---|---|---|---|',
  ];
  for (const r of results) {
    for (const f of r.figures) {
      md.push(
        `| ${r.stage} | ${cell(f.name)}${f.note ? ` (${cell(f.note)})` : ''} | ${f.target ? `${op(f.target.op)} ${num(f.target.value)}${unit(f.unit)}` : '—'} | ${num(f.measured)}${unit(f.unit)} | ${yesNo(met(f.measured, f.target))} |`,
      );
    }
  }
  for (const f of options.failures)
    md.push(`| ${f.stage} | stage failed | — | — | ❌ ${cell(f.error.slice(0, 200))} |`);
  md.push(
    '',
    '## Baselines (same run)',
    '',
    '| Stage | Comparison | Baseline | refreshbus | Ratio | Target |',
    '|---|---|---|---|---|---|',
  );
  for (const r of results) {
    for (const b of r.baselines) {
      md.push(
        `| ${r.stage} | ${cell(b.name)}${b.note ? ` (${cell(b.note)})` : ''} | ${num(b.baseline)}${unit(b.unit)} | ${num(b.refreshbus)}${unit(b.unit)} | ${b.ratio === null ? '—' : `${num(b.ratio)}×`} | ${b.target ? `${op(b.target.op)} ${b.target.value}× ${yesNo(met(b.ratio, b.target))}` : '—'} |`,
      );
    }
  }
  for (const r of results) {
    md.push(
      '',
      `## ${r.title}`,
      '',
      `Ran ${r.seconds.toFixed(0)} s from ${r.startedAt}; load average before ${r.load.before.join(' / ')}, after ${r.load.after.join(' / ')}.`,
      '',
      '| Setting | Value |',
      '|---|---|',
      ...Object.entries(r.settings).map(([k, v]) => `| ${cell(k)} | ${cell(String(v))} |`),
      '',
    );
    let n = 0;
    for (const chart of r.charts) {
      const file = `${date}-${r.stage}${n ? `-${n + 1}` : ''}.svg`;
      n++;
      await writeFile(path.join(dir, file), latencySvg(chart.title, chart.subtitle, chart.series));
      md.push(`![${cell(chart.title)}](./${file})`, '');
      for (const s of chart.series)
        md.push(
          `- ${cell(s.label)}: ${s.points.map((p) => `p${p.p} ${num(p.ms)} ms`).join(' · ')}`,
        );
      md.push('');
    }
    if (r.notes.length) md.push(...r.notes.map((note) => `- ${note}`), '');
  }
  const mdPath = path.join(dir, `${date}.md`);
  await writeFile(mdPath, md.join('\n'));
  await writeFile(
    path.join(dir, `${date}.json`),
    JSON.stringify(
      {
        date,
        command: options.command,
        machine,
        results,
        failures: options.failures,
        ...(options.settling ? { settling: options.settling } : {}),
        ...(options.note ? { note: options.note } : {}),
      },
      null,
      2,
    ) + '\n',
  );
  return mdPath;
}
