/**
 * The whole benchmark: builds refreshbus, starts the local stack if none runs, runs each stage
 * in its own process (so memory and JIT state do not carry over), and writes
 * bench/results/<date>.md and .json with one latency chart (SVG) per stage.
 *
 *   npm run bench                       full mode: the sizes of issue 7 (about 25 minutes)
 *   BENCH_QUICK=1 npm run bench         quick mode (about 5 minutes)
 *   npm run bench -- --stages=ingest,e2e [--skip-build] [stage flags, passed on]
 *   npm run bench -- --from-json=bench/results/<date>.json   (re-render the report)
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { loadConfig, packageRoot } from '../src/config/config.js';
import { openStack } from '../src/tools/stack/select.js';
import { lastJson, startBenchScript } from './lib/child.js';
import { waitForQuietMachine } from './lib/cpu.js';
import { machineInfo } from './lib/machine.js';
import { flagOption, quick, say } from './lib/options.js';
import type { StageFailure, StageResult } from './lib/report.js';
import { met, writeReport } from './lib/report.js';

const STAGES = ['ingest', 'normalize', 'process', 'e2e'] as const;
const run = promisify(execFile);

/** `--note="…"` or BENCH_NOTE: a line on the conditions, written at the top of the report. */
const note =
  process.argv.find((a) => a.startsWith('--note='))?.slice('--note='.length) ??
  process.env.BENCH_NOTE;

// `--from-json=bench/results/<date>.json`: write the markdown and charts again from a run's JSON
const fromJson = process.argv
  .find((a) => a.startsWith('--from-json='))
  ?.slice('--from-json='.length);
if (fromJson) {
  const saved = JSON.parse(await readFile(fromJson, 'utf8')) as Parameters<typeof writeReport>[0];
  say(`report: ${await writeReport({ ...saved, ...(note ? { note } : {}) })}`);
  process.exit(0);
}

const stagesFlag = process.argv.find((a) => a.startsWith('--stages='))?.slice('--stages='.length);
const stages = stagesFlag ? stagesFlag.split(',').map((s) => s.trim()) : [...STAGES];
const unknown = stages.filter((s) => !(STAGES as readonly string[]).includes(s));
if (unknown.length) {
  say(`unknown stage(s): ${unknown.join(', ')} (known: ${STAGES.join(', ')})`);
  process.exit(2);
}
const passOn = process.argv
  .slice(2)
  .filter((a) => !a.startsWith('--stages=') && !a.startsWith('--note='));

if (!flagOption('skip-build')) {
  say('building (npm run build): the services are measured as deployed, from dist/');
  try {
    await run('npm', ['run', 'build'], { cwd: packageRoot, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const out = err as { stdout?: string };
    say(`build reported errors (dist/ was still written by tsc):\n${out.stdout ?? String(err)}`);
  }
}

// start the stack once here (a fresh clone has none); each stage then reuses it
await (await openStack(loadConfig(), say)).up();
const machine = machineInfo();

const results: StageResult[] = [];
const failures: StageFailure[] = [];
const QUIET = { busyBelowPercent: 15, quietMs: 5000, maxMs: 120_000 };
const settled: string[] = [];
for (const stage of stages) {
  // the broker goes on with the last stage's work for a while (segments of millions of records,
  // deleted topics, compaction, its GC): wait for the machine to be quiet before measuring again
  const quiet = await waitForQuietMachine(QUIET);
  settled.push(
    `${stage} ${(quiet.waitedMs / 1000).toFixed(0)} s${quiet.quiet ? '' : ` (not quiet: ${quiet.lastBusyPercent} % busy)`}`,
  );
  say(
    `— stage ${stage} — (machine quiet after ${(quiet.waitedMs / 1000).toFixed(1)} s${quiet.quiet ? '' : ', or not: gave up'})`,
  );
  const child = startBenchScript(
    stage,
    `bench/${stage}.ts`,
    passOn,
    quick ? { BENCH_QUICK: '1' } : {},
  );
  const code = await child.exited;
  try {
    if (code !== 0) throw new Error(`exited with ${code}`);
    const result = lastJson(child.stdout()) as StageResult;
    results.push(result);
    for (const f of result.figures)
      say(
        `  ${f.name}: ${f.measured} ${f.unit}${f.target ? ` (target ${f.target.op} ${f.target.value}: ${met(f.measured, f.target) ? 'met' : 'NOT met'})` : ''}`,
      );
  } catch (err) {
    failures.push({ stage, error: err instanceof Error ? err.message : String(err) });
    say(`stage ${stage} failed: ${String(err)}`);
  }
}

const command = `${process.env.BENCH_QUICK ? `BENCH_QUICK=${process.env.BENCH_QUICK} ` : ''}npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const report = await writeReport({
  machine,
  command,
  results,
  failures,
  settling: `Before each stage the bench waited for the machine to be quiet (under ${QUIET.busyBelowPercent} % of all cores busy for ${QUIET.quietMs / 1000} s in a row, at most ${QUIET.maxMs / 1000} s): ${settled.join(', ')}.`,
  ...(note ? { note } : {}),
});
say(`report: ${report}`);
process.exit(failures.length ? 1 : 0);
