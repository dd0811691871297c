import type { OutageDay } from './pipeline.js';
import { answersBetween, expectLedgerHolds, figures, ingestAnswers } from './pipeline.js';

type DayResult = Awaited<ReturnType<OutageDay['finish']>>;

/**
 * Starts counting the ingest's answers (on the routes of `sources` only, if given): the function
 * returned gives those answered since, by status.
 */
export async function answersFrom(
  url: string,
  sources?: readonly string[],
): Promise<() => Promise<Record<string, number>>> {
  const before = await ingestAnswers(url, sources);
  return async () => answersBetween(before, await ingestAnswers(url, sources));
}

/**
 * The end of every outage test: the day's ledger holds (see {@link expectLedgerHolds}), and its
 * figures go to the log as `test`'s, with what the test measured of its outage (`more`).
 */
export function expectDayHeld(
  test: string,
  plan: OutageDay['plan'],
  { sent, report }: DayResult,
  more: Record<string, unknown>,
): void {
  expectLedgerHolds(plan, sent, report);
  console.info(JSON.stringify({ test, ...figures(plan, sent, report), ...more }));
}
