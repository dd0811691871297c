import type { PartitionLag } from '../kafka/exactly-once.js';

/** What is known of one assigned input partition's progress. */
export interface PartitionProgress {
  readonly topic: string;
  readonly partition: number;
  /** Epoch ms of its last committed input, or of its assignment when none was committed since. */
  readonly movedAt: number;
  /** Since when (epoch ms) its transactions have been failing, if they are. */
  readonly failingSince: number | undefined;
  /** Records between its committed offset and its end at the last lag poll; none before one. */
  readonly lag: number | undefined;
  /** How long (ms) its waiting input has gone without a commit: 0 unless it is stalled. */
  readonly stalledMs: number;
}

/** A partition whose input has waited at least the stall limit without a commit. */
export interface StalledPartition {
  readonly topic: string;
  readonly partition: number;
  readonly stalledMs: number;
  readonly lag: number | undefined;
  readonly failing: boolean;
}

interface Progress {
  movedAt: number;
  failingSince: number | undefined;
  /** When the last failure happened, and whether its commit may have landed all the same. */
  lastFailure: { at: number; mayHaveLanded: boolean } | undefined;
  lag: number | undefined;
  /** Since when input has been known to wait (its transactions failing), if it is. */
  waitingSince: number | undefined;
}

/** A runner's error type for a commit whose outcome is unknown (CommitOutcomeUnknownError). */
const OUTCOME_UNKNOWN = 'COMMIT_OUTCOME_UNKNOWN';

const keyOf = (topic: string, partition: number) => `${topic}\u0000${String(partition)}`;

/**
 * Per-partition progress of one consumer group member, for readiness and metrics. The runner's
 * one "failing since" is reset by any partition's commit: a partition retrying one record for
 * ever stays hidden while its neighbours commit. Here each assigned partition has its own clock,
 * and is stalled when its input is waiting (its transactions failing) and it has committed
 * nothing for `stallMs`, counted from the later of its last commit, its assignment and the
 * moment its failures began. Its lag is kept for the metric and the reason.
 * Pure: time is passed in.
 */
export class PartitionHealth {
  private readonly partitions = new Map<string, Progress & { topic: string; partition: number }>();

  constructor(
    /** How long input may wait without a commit before its partition counts as stalled. */
    readonly stallMs: number,
  ) {}

  /** The member's assignment now: partitions new to it start their clock, others are dropped. */
  assigned(assignment: Readonly<Record<string, readonly number[]>>, now: number): void {
    const current = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const key = keyOf(topic, partition);
        current.add(key);
        if (!this.partitions.has(key))
          this.partitions.set(key, {
            topic,
            partition,
            movedAt: now,
            failingSince: undefined,
            lastFailure: undefined,
            lag: undefined,
            waitingSince: undefined,
          });
      }
    }
    for (const key of [...this.partitions.keys()])
      if (!current.has(key)) this.partitions.delete(key);
  }

  /**
   * A transaction of the partition committed. Only one with input (`records` above 0) moves it:
   * a timer transaction commits while its input may be stuck.
   */
  committed(topic: string, partition: number, records: number, now: number): void {
    const p = this.partitions.get(keyOf(topic, partition));
    if (!p) return;
    if (records > 0) p.movedAt = now;
    p.failingSince = undefined;
    p.lastFailure = undefined;
    this.updateWaiting(p, now);
  }

  /** A transaction of the partition failed (`type`: the runner's error type); it is retried. */
  failed(topic: string, partition: number, type: string, now: number): void {
    const p = this.partitions.get(keyOf(topic, partition));
    if (!p) return;
    p.failingSince ??= now;
    p.lastFailure = { at: now, mayHaveLanded: type === OUTCOME_UNKNOWN };
    this.updateWaiting(p, now);
  }

  /**
   * Lags read by a poll that began at `polledAt`. A retried chunk found already committed ends
   * without a commit of its own, so the poll also ends a failure it shows is over: nothing left
   * (lag 0), or only a commit marker left after a commit that may have landed.
   */
  lagsPolled(lags: readonly PartitionLag[], polledAt: number): void {
    for (const { topic, partition, lag } of lags) {
      const p = this.partitions.get(keyOf(topic, partition));
      if (!p) continue;
      p.lag = lag;
      const failure = p.lastFailure;
      if (failure && failure.at < polledAt && (lag === 0 || (lag === 1 && failure.mayHaveLanded))) {
        p.failingSince = undefined;
        p.lastFailure = undefined;
      }
      this.updateWaiting(p, polledAt);
    }
  }

  /** Every assigned partition's progress at `now`. */
  progress(now: number): PartitionProgress[] {
    return [...this.partitions.values()].map((p) => ({
      topic: p.topic,
      partition: p.partition,
      movedAt: p.movedAt,
      failingSince: p.failingSince,
      lag: p.lag,
      stalledMs: this.stalledMsOf(p, now),
    }));
  }

  /** The assigned partitions stalled at `now`, in topic and partition order. */
  stalled(now: number): StalledPartition[] {
    return this.progress(now)
      .filter((p) => p.stalledMs > 0)
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
      .map(({ topic, partition, stalledMs, lag, failingSince }) => ({
        topic,
        partition,
        stalledMs,
        lag,
        failing: failingSince !== undefined,
      }));
  }

  private stalledMsOf(p: Progress, now: number): number {
    if (p.waitingSince === undefined) return 0;
    const ms = now - Math.max(p.movedAt, p.waitingSince);
    return ms >= this.stallMs ? ms : 0;
  }

  private updateWaiting(p: Progress, now: number): void {
    // lag alone is no sign of waiting input: a transaction aborted at a partition's end (a crash
    // mid-transaction, a poison record's outputs before it was dead-lettered) leaves records a
    // read_committed consumer skips, and a lag of 2 or more that no commit will ever take away
    // until new input comes. A member that stops fetching altogether stops heartbeating too,
    // which readiness reports on its own.
    const waiting = p.failingSince !== undefined;
    if (!waiting) p.waitingSince = undefined;
    else p.waitingSince ??= now;
  }
}
