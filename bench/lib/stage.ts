import { checkBuild } from './child.js';
import { loadAverage } from './machine.js';
import { quick, say } from './options.js';
import type { StageResult } from './report.js';
import type { BenchStack } from './stack.js';
import { openBenchStack } from './stack.js';

type Cleanups = (() => Promise<void>)[];
type Measured = Omit<StageResult, 'stage' | 'title' | 'quick' | 'startedAt' | 'seconds' | 'load'>;

/**
 * Runs a stage as a script: measures, prints its JSON on stdout, runs `cleanup` whatever
 * happens, and exits (kafkajs timers would keep the process alive).
 */
export async function runStage(
  stage: string,
  title: string,
  measure: (cleanups: (() => Promise<void>)[]) => Promise<Measured>,
): Promise<never> {
  const started = Date.now();
  const before = loadAverage();
  const cleanups: (() => Promise<void>)[] = [];
  let code = 0;
  try {
    const measured = await measure(cleanups);
    const result: StageResult = {
      stage,
      title,
      quick,
      startedAt: new Date(started).toISOString(),
      seconds: Math.round((Date.now() - started) / 100) / 10,
      load: { before, after: loadAverage() },
      ...measured,
    };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } catch (err) {
    say(`${stage} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    code = 1;
  }
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (err) {
      say(`cleanup failed: ${String(err)}`);
    }
  }
  process.exit(code);
}

/**
 * {@link runStage} for a stage of the built services (checked to be up to date) against a bench
 * stack named after the stage, closed when it ends.
 */
export function runStackStage(
  stage: string,
  title: string,
  measure: (stack: BenchStack, cleanups: Cleanups) => Promise<Measured>,
): Promise<never> {
  return runStage(stage, title, async (cleanups) => {
    checkBuild();
    const stack = await openBenchStack(stage);
    cleanups.push(() => stack.close());
    return measure(stack, cleanups);
  });
}
