import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of a process from /proc/<pid>/stat, in clock ticks; undefined once it is gone. */
function processTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces: count fields after its closing parenthesis
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** Busy and total ticks of the whole machine (/proc/stat's first line). */
function machineTicks(): { busy: number; total: number } {
  try {
    const [, ...values] =
      readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/) ?? [];
    const n = values.map(Number);
    const total = n.reduce((a, b) => a + b, 0);
    const idle = (n[3] ?? 0) + (n[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** The pid of the first process whose command line contains `needle` (e.g. the broker's). */
export function findPid(needle: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** CPU use of one process over the sampled window: percent of one core (200 = two cores busy). */
export interface CpuUse {
  readonly meanPercent: number;
  /** The busiest sampling interval. */
  readonly maxPercent: number;
  /** Share of intervals at ≥ 90 % of one core (a single-threaded event loop saturated). */
  readonly saturatedShare: number;
}

/**
 * Samples the CPU use of `pids` (by label) and of the whole machine every `intervalMs` until
 * `stop()`, from /proc (Linux only; other systems report nothing).
 */
export function sampleCpu(
  pids: Readonly<Record<string, number | undefined>>,
  intervalMs = 1000,
): {
  stop(): {
    processes: Record<string, CpuUse>;
    machinePercent: CpuUse;
    othersPercent: CpuUse;
    cores: number;
  };
} {
  const series = new Map<string, number[]>();
  const machine: number[] = [];
  /** Percent of one core used by processes not in `pids` (other work on the machine). */
  const others: number[] = [];
  let last = new Map(Object.entries(pids).map(([label, pid]) => [label, pid && processTicks(pid)]));
  let lastMachine = machineTicks();
  let lastAt = process.hrtime.bigint();
  const timer = setInterval(() => {
    const now = process.hrtime.bigint();
    const seconds = Number(now - lastAt) / 1e9;
    lastAt = now;
    const next = new Map<string, number | undefined>();
    let ours = 0;
    for (const [label, pid] of Object.entries(pids)) {
      const ticks = pid === undefined ? undefined : processTicks(pid);
      next.set(label, ticks);
      const before = last.get(label);
      if (ticks === undefined || before === undefined || seconds <= 0) continue;
      const list = series.get(label) ?? [];
      ours += ticks - before;
      list.push(((ticks - before) / TICKS_PER_SECOND / seconds) * 100);
      series.set(label, list);
    }
    last = next;
    const m = machineTicks();
    if (m.total > lastMachine.total) {
      machine.push(((m.busy - lastMachine.busy) / (m.total - lastMachine.total)) * 100);
      // /proc/stat counts ticks of all cores: busy ticks over the interval, less ours
      others.push(
        Math.max(0, ((m.busy - lastMachine.busy - ours) / TICKS_PER_SECOND / seconds) * 100),
      );
    }
    lastMachine = m;
  }, intervalMs);
  const use = (list: readonly number[], saturatedAt: number): CpuUse => ({
    meanPercent: Math.round(list.reduce((a, b) => a + b, 0) / Math.max(1, list.length)),
    maxPercent: Math.round(Math.max(0, ...list)),
    saturatedShare:
      Math.round((list.filter((p) => p >= saturatedAt).length / Math.max(1, list.length)) * 100) /
      100,
  });
  return {
    stop() {
      clearInterval(timer);
      return {
        processes: Object.fromEntries([...series].map(([label, list]) => [label, use(list, 90)])),
        // machine-wide: percent of all cores
        machinePercent: use(machine, 90),
        othersPercent: use(others, 90),
        cores: os.cpus().length,
      };
    },
  };
}

/**
 * Waits until the whole machine has been quiet — under `busyBelowPercent` of all cores — for
 * `quietMs` in a row, at most `maxMs`. Between stages: the broker goes on with the last stage's
 * work (log segments, compaction, deleted topics, its garbage collector) for a while after the
 * stage's processes have exited, and that is not the next stage's to pay. Returns how long it
 * waited and whether the machine did become quiet.
 */
export async function waitForQuietMachine({
  busyBelowPercent = 15,
  quietMs = 5000,
  maxMs = 120_000,
  intervalMs = 1000,
} = {}): Promise<{ waitedMs: number; quiet: boolean; lastBusyPercent: number }> {
  const started = Date.now();
  let last = machineTicks();
  let quietSince = Date.now();
  let lastBusyPercent = Number.NaN;
  while (Date.now() - started < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    const now = machineTicks();
    if (now.total <= last.total)
      return { waitedMs: Date.now() - started, quiet: false, lastBusyPercent }; // no /proc/stat
    lastBusyPercent = Math.round(((now.busy - last.busy) / (now.total - last.total)) * 100);
    last = now;
    if (lastBusyPercent >= busyBelowPercent) quietSince = Date.now();
    else if (Date.now() - quietSince >= quietMs)
      return { waitedMs: Date.now() - started, quiet: true, lastBusyPercent };
  }
  return { waitedMs: Date.now() - started, quiet: false, lastBusyPercent };
}
