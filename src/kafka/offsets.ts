import type { Admin } from 'kafkajs';
import { kafkaErrorType } from './errors.js';

const isUnstable = (err: unknown): boolean => kafkaErrorType(err) === 'UNSTABLE_OFFSET_COMMIT';

export interface StableOffsetOptions {
  /** Give up (rethrow UNSTABLE_OFFSET_COMMIT) after this long. @default 10000 */
  readonly timeoutMs?: number;
  /** Called before each wait for a pending transactional commit to settle. */
  readonly onUnstable?: (attempt: number) => void;
}

/**
 * The group's committed offset of one partition, never one a pending transaction is about to
 * replace (-1 when the group has none).
 *
 * A transaction's offset commit becomes visible only after its markers are written and the group
 * coordinator has applied them — a few milliseconds after EndTxn answered, and even after the
 * next InitProducerId of the same transactional id returned. A plain OffsetFetch answers the
 * previous offset meanwhile, and a consumer starting there processes the committed records again.
 * This asks with OffsetFetch v7's require_stable (KIP-447; added to kafkajs by this project's
 * patch), which answers UNSTABLE_OFFSET_COMMIT instead, and waits until the offset is stable.
 */
export async function fetchStableOffset(
  admin: Admin,
  groupId: string,
  topic: string,
  partition: number,
  options: StableOffsetOptions = {},
): Promise<bigint> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (let attempt = 1, backoff = 5; ; attempt++, backoff = Math.min(backoff * 2, 500)) {
    try {
      // only this partition: the others' owners are committing all the time
      const [offsets] = await admin.fetchOffsets({
        groupId,
        topics: [{ topic, partitions: [partition] }],
        requireStable: true,
      });
      return BigInt(offsets?.partitions.find((p) => p.partition === partition)?.offset ?? '-1');
    } catch (err) {
      if (!isUnstable(err) || Date.now() + backoff > deadline) throw err;
      options.onUnstable?.(attempt);
      await new Promise((r) => setTimeout(r, backoff));
    }
  }
}
