/**
 * Benchmark parameters: `--name=value` flags, then `BENCH_NAME` environment variables, then the
 * mode's default. Quick mode (`BENCH_QUICK=1` or `--quick`) is for development; full mode runs
 * the sizes of issue 7.
 */
const flags = new Map<string, string>();
for (const arg of process.argv.slice(2)) {
  const match = /^--([\w-]+)(?:=(.*))?$/.exec(arg);
  if (match?.[1]) flags.set(match[1], match[2] ?? 'true');
}

/** True in quick mode. */
export const quick =
  flags.get('quick') === 'true' || ['1', 'true', 'yes'].includes(process.env.BENCH_QUICK ?? '');

function raw(name: string): string | undefined {
  const flag = flags.get(name);
  if (flag !== undefined) return flag;
  const env = process.env[`BENCH_${name.toUpperCase().replaceAll('-', '_')}`];
  return env === undefined || env === '' ? undefined : env;
}

/** A number parameter: `--name=…`, `BENCH_NAME`, else the quick or full default. */
export function numberOption(name: string, quickDefault: number, fullDefault: number): number {
  const value = raw(name);
  if (value === undefined) return quick ? quickDefault : fullDefault;
  const n = Number(value.replaceAll('_', ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: not a number: ${value}`);
  return n;
}

/** A list of numbers (`--connections=64,128`). */
export function numberListOption(
  name: string,
  quickDefault: readonly number[],
  fullDefault: readonly number[],
): number[] {
  const value = raw(name);
  if (value === undefined) return [...(quick ? quickDefault : fullDefault)];
  const list = value.split(',').map((s) => Number(s.trim()));
  if (list.some((n) => !Number.isFinite(n) || n <= 0))
    throw new Error(`--${name}: not a list of numbers: ${value}`);
  return list;
}

/** A list of words (`--topology=split,all`), each one of `allowed`. */
export function stringListOption<T extends string>(
  name: string,
  allowed: readonly T[],
  fallback: readonly T[],
): T[] {
  const value = raw(name);
  if (value === undefined) return [...fallback];
  const list = value.split(',').map((s) => s.trim());
  const unknown = list.filter((s) => !(allowed as readonly string[]).includes(s));
  if (unknown.length)
    throw new Error(`--${name}: unknown ${unknown.join(', ')} (one of ${allowed.join(', ')})`);
  return list as T[];
}

/** A yes/no parameter (`--skip-baseline`, `BENCH_SKIP_BASELINE=1`). */
export function flagOption(name: string): boolean {
  const value = raw(name);
  return value !== undefined && ['1', 'true', 'yes'].includes(value);
}

/** Progress lines go to stderr; stdout carries only the stage's JSON. */
export function say(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
