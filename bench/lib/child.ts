import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/config/config.js';
import { say, sleep } from './options.js';

/** A process a stage started (a refreshbus service, a baseline server, a JVM tool). */
export interface Service {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything it wrote to stdout so far. */
  stdout(): string;
  /** Resolves with the exit code (or signal) once it has exited. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts a process; its stderr is passed through (prefixed), its stdout kept. */
export function startService(
  label: string,
  command: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Service {
  const child = spawn(command, [...args], {
    cwd: packageRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n'))
      if (line.trim()) process.stderr.write(`  [${label}] ${line}\n`);
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(code ?? signal ?? 'unknown');
    });
  });
  if (child.pid === undefined) throw new Error(`${label}: could not start ${command}`);
  const pid = child.pid;
  return {
    pid,
    child,
    stdout: () => out,
    exited,
    async stop(graceMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * `node bin/refreshbus.js <command>` (the built CLI, as deployed) with the given environment.
 * `BENCH_NODE_ARGS` adds Node options to the service only, e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`
 * (Node refuses `--cpu-prof` in NODE_OPTIONS, and that would profile every process anyway).
 */
export function startRefreshbus(command: string, env: Readonly<Record<string, string>>): Service {
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return startService(
    `refreshbus ${command}`,
    process.execPath,
    [...nodeArgs, 'bin/refreshbus.js', command],
    env,
  );
}

/** A TypeScript file of bench/ run by Node with tsx's loader (baselines, stages). */
export function startBenchScript(
  label: string,
  file: string,
  args: readonly string[] = [],
  env: Readonly<Record<string, string>> = {},
): Service {
  return startService(label, process.execPath, ['--import', 'tsx', file, ...args], env);
}

/** Waits until `url` answers 200 (or `accept` says so), polling; throws after `timeoutMs`. */
export async function waitForHttp(
  url: string,
  timeoutMs: number,
  service?: Service,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return Date.now();
    } catch {
      // not listening yet
    }
    if (service && (service.child.exitCode !== null || service.child.signalCode !== null))
      throw new Error(`${url}: the process exited before answering`);
    if (Date.now() - started > timeoutMs) {
      // what the service said last (its log lines: messages and codes, never webhook bodies)
      const tail = service?.stdout().trimEnd().split('\n').slice(-15).join('\n') ?? '';
      throw new Error(
        `${url}: no 200 within ${timeoutMs} ms${tail ? `; the service's last log lines:\n${tail}` : ''}`,
      );
    }
    await sleep(100);
  }
}

/** Resident memory of a process from /proc/<pid>/status, in MB (VmRSS now, VmHWM its peak). */
export function readMemory(pid: number): { rssMB: number; peakRssMB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMB: Math.round(kb('VmRSS') / 1024), peakRssMB: Math.round(kb('VmHWM') / 1024) };
  } catch {
    return undefined;
  }
}

function newerThan(dir: string, mtimeMs: number): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...newerThan(full, mtimeMs));
    else if (statSync(full).mtimeMs > mtimeMs) found.push(path.relative(packageRoot, full));
  }
  return found;
}

/**
 * The refreshbus services run from `dist/` (as deployed). Warns when `src/` is newer than the
 * build: then the figures are of older code (`npm run build`, or let `npm run bench` build).
 */
export function checkBuild(): void {
  const main = path.join(packageRoot, 'dist', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error('dist/ is missing: run `npm run build` first');
  const newer = newerThan(path.join(packageRoot, 'src'), statSync(main).mtimeMs);
  if (newer.length)
    say(
      `WARNING: changed since the last build (npm run build), so not measured: ${newer.slice(0, 5).join(', ')}${newer.length > 5 ? ` and ${newer.length - 5} more` : ''}`,
    );
}

/** Parses the last JSON object a process printed on stdout (a stage's figures). */
export function lastJson(stdout: string): unknown {
  const start = stdout.lastIndexOf('\n{');
  const text = start >= 0 ? stdout.slice(start + 1) : stdout.slice(stdout.indexOf('{'));
  return JSON.parse(text) as unknown;
}
