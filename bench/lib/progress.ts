import { sleep } from './options.js';

/** How long a job took to get through `total` units, and its rate in the middle of the run. */
export interface Progress {
  /** From start to the last unit done (includes start-up: group join, restore…). */
  readonly seconds: number;
  /** total / seconds. */
  readonly overallPerSecond: number;
  /** Rate between 10 % and 90 % done: the steady state, without start-up and tail. */
  readonly steadyPerSecond: number;
  /** Timeline samples [seconds since start, units done], for the report. */
  readonly timeline: readonly (readonly [number, number])[];
}

/**
 * Polls `done()` every `intervalMs` from `startedAt` until it reaches `total`; throws after
 * `timeoutMs` without progress. `onTick` runs at each poll (memory readings, say).
 */
export async function trackProgress(options: {
  total: number;
  done: () => Promise<number>;
  startedAt: number;
  intervalMs?: number;
  stallTimeoutMs?: number;
  onTick?: (done: number) => void | Promise<void>;
  what: string;
}): Promise<Progress> {
  const { total, startedAt } = options;
  const interval = options.intervalMs ?? 250;
  const timeline: [number, number][] = [];
  let last = -1;
  let lastChange = Date.now();
  let lastLog = 0;
  for (;;) {
    const done = await options.done();
    const now = Date.now();
    timeline.push([(now - startedAt) / 1000, done]);
    await options.onTick?.(done);
    if (done !== last) {
      last = done;
      lastChange = now;
    }
    if (now - lastLog > 10_000) {
      lastLog = now;
      process.stderr.write(
        `  ${options.what}: ${done}/${total} after ${((now - startedAt) / 1000).toFixed(1)} s\n`,
      );
    }
    if (done >= total) break;
    if (now - lastChange > (options.stallTimeoutMs ?? 120_000))
      throw new Error(
        `${options.what}: no progress for ${options.stallTimeoutMs ?? 120_000} ms (${done}/${total})`,
      );
    await sleep(interval);
  }
  const seconds = (timeline[timeline.length - 1]?.[0] ?? 0) || Number.NaN;
  const crossing = (fraction: number) => timeline.find(([, d]) => d >= fraction * total);
  const from = crossing(0.1);
  const to = crossing(0.9);
  const steady =
    from && to && to[0] > from[0] ? (to[1] - from[1]) / (to[0] - from[0]) : total / seconds;
  return {
    seconds: Math.round(seconds * 10) / 10,
    overallPerSecond: Math.round(total / seconds),
    steadyPerSecond: Math.round(steady),
    timeline: thin(timeline, 60),
  };
}

/** At most `n` evenly spread samples (the report keeps a short timeline). */
function thin<T>(list: readonly T[], n: number): T[] {
  if (list.length <= n) return [...list];
  const step = list.length / n;
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const item = list[Math.floor(i * step)];
    if (item !== undefined) out.push(item);
  }
  const lastItem = list[list.length - 1];
  if (lastItem !== undefined) out.push(lastItem);
  return out;
}
