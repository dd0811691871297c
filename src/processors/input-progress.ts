/** How long a partition counts as behind after a chunk that left input waiting. @default 5000 */
export const BEHIND_FOR_MS = 5000;

/**
 * One input partition's progress, for holding deadlines back while input from before them is
 * still waiting: under a backlog a round's sibling webhooks are in the topic but not processed
 * yet, and closing the round on the clock alone would split it in two.
 */
export class InputProgress {
  /** Newest record timestamp processed. */
  private time = 0;
  /** Per input topic: until when it counts as behind. */
  private readonly behindUntil = new Map<string, number>();

  /**
   * Notes a processed chunk: its records' timestamps, its last offset and the partition's end
   * when it was fetched. At most a transaction marker after the last record means caught up; a
   * topic left "behind" by records kafkajs never hands over (aborted ones) stops counting after
   * `behindForMs`.
   */
  note(
    chunk: {
      topic: string;
      timestamps: readonly number[];
      lastOffset: string;
      highWatermark?: string | undefined;
    },
    now: number,
    behindForMs = BEHIND_FOR_MS,
  ): void {
    for (const t of chunk.timestamps) this.time = Math.max(this.time, t);
    const waiting =
      chunk.highWatermark !== undefined &&
      BigInt(chunk.highWatermark) - BigInt(chunk.lastOffset) > 2n;
    this.behindUntil.set(chunk.topic, waiting ? now + behindForMs : 0);
  }

  /** A deadline fires once the clock passed it and no input from before it is known to wait. */
  mayFire(at: number, now: number): boolean {
    if (at > now) return false;
    if (at <= this.time) return true;
    return [...this.behindUntil.values()].every((until) => until <= now);
  }
}
