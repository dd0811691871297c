import type { Admin, Batch, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { OperatorError } from './errors.js';

/** Where a read starts, in every partition read. */
export type StartAt =
  | { readonly from: 'beginning' }
  | { readonly from: 'end' }
  | { readonly from: 'offset'; readonly offset: bigint }
  | { readonly from: 'time'; readonly at: number };

export interface PartitionRange {
  readonly partition: number;
  /** The first offset to read. */
  readonly start: bigint;
  /** The end offset when the read began (the high watermark): a read without `follow` stops there. */
  readonly end: bigint;
}

/**
 * Where each partition's read starts and ends. `--offset` is clamped to what the partition still
 * holds (with a note); `byTime` is the first offset at or after the time, per partition.
 */
export function planRanges(
  offsets: readonly { partition: number; low: string; high: string }[],
  start: StartAt,
  byTime?: ReadonlyMap<number, string>,
): { ranges: PartitionRange[]; notes: string[] } {
  const notes: string[] = [];
  const ranges = [...offsets]
    .sort((a, b) => a.partition - b.partition)
    .map(({ partition, low, high }) => {
      const lo = BigInt(low);
      const hi = BigInt(high);
      let from: bigint;
      switch (start.from) {
        case 'beginning':
          from = lo;
          break;
        case 'end':
          from = hi;
          break;
        case 'offset':
          from = start.offset < lo ? lo : start.offset > hi ? hi : start.offset;
          if (from !== start.offset)
            notes.push(
              hi === lo
                ? `partition ${partition} holds no records (its offsets start and end at ${hi}): starting at ${from}`
                : start.offset > hi
                  ? `partition ${partition} ends at offset ${hi}: starting there`
                  : `partition ${partition} starts at offset ${lo} (older records were deleted): starting there`,
            );
          break;
        case 'time': {
          const at = byTime?.get(partition);
          from = at === undefined || BigInt(at) < 0n ? hi : BigInt(at);
          if (from < lo) from = lo;
          break;
        }
      }
      return { partition, start: from, end: hi };
    });
  return { ranges, notes };
}

export type StopReason = 'end' | 'stopped' | 'aborted' | 'idle';

export interface ReadResult {
  readonly reason: StopReason;
  readonly ranges: readonly PartitionRange[];
  /** The next offset of each partition when the read stopped. */
  readonly positions: ReadonlyMap<number, bigint>;
}

export interface ReadOptions {
  readonly topic: string;
  /** Only these partitions (default: all). */
  readonly partitions?: readonly number[] | undefined;
  readonly start: StartAt;
  /** Keep reading new records (until `signal` or the callback stops); else stop at the end offsets of the start. */
  readonly follow: boolean;
  /** A group of its own: nothing is committed, and the group is deleted afterwards. */
  readonly groupId: string;
  readonly signal?: AbortSignal | undefined;
  /** Without `follow`: give up when nothing arrived for this long (an open transaction ahead). */
  readonly idleMs?: number;
  /** Notes for the operator (stderr), such as a clamped offset. */
  readonly notice?: (line: string) => void;
}

/** The partition ranges of `topic` for a read, or an OperatorError for an unknown topic/partition. */
export async function resolveRanges(
  admin: Admin,
  options: Pick<ReadOptions, 'topic' | 'partitions' | 'start'>,
): Promise<{ ranges: PartitionRange[]; notes: string[] }> {
  const { topic } = options;
  // listTopics first: a metadata request for a missing topic could create it on some brokers
  if (!(await admin.listTopics()).includes(topic))
    throw new OperatorError(`topic "${topic}" does not exist`);
  let offsets = await admin.fetchTopicOffsets(topic);
  if (options.partitions?.length) {
    const have = new Set(offsets.map((o) => o.partition));
    const missing = options.partitions.filter((p) => !have.has(p));
    if (missing.length)
      throw new OperatorError(
        `topic "${topic}" has partitions 0–${offsets.length - 1}; no partition ${missing.join(', ')}`,
      );
    const wanted = new Set(options.partitions);
    offsets = offsets.filter((o) => wanted.has(o.partition));
  }
  let byTime: Map<number, string> | undefined;
  if (options.start.from === 'time') {
    const found = await admin.fetchTopicOffsetsByTimestamp(topic, options.start.at);
    byTime = new Map(found.map((f) => [f.partition, f.offset]));
  }
  return planRanges(offsets, options.start, byTime);
}

/** What a running read shares between its consumer's events, its batch loop and its watchdog. */
interface ActiveRead {
  readonly topic: string;
  readonly follow: boolean;
  readonly consumer: Consumer;
  readonly ranges: readonly PartitionRange[];
  /** The next offset of each partition (the result's `positions`). */
  readonly position: Map<number, bigint>;
  /** The end offset of each partition when the read began. */
  readonly end: ReadonlyMap<number, bigint>;
  /** Partitions read to their end (none with `follow`). */
  readonly done: Set<number>;
  /** Set by `finish` and `fail`: no more records are handed out. */
  stopped: boolean;
  joined: boolean;
  /** In onRecord: a slow reader of the output is not an idle partition. */
  busy: boolean;
  lastActivity: number;
  finish: (reason: StopReason) => void;
  fail: (err: unknown) => void;
}

/**
 * Reads a topic read_committed, from given offsets per partition, with a consumer group of its
 * own that commits nothing (kafkajs has no `assign`: it subscribes, and seeks every assigned
 * partition when the group is joined — again after a rebalance, to where it had got). Calls
 * `onRecord` for each record in partition order; `'stop'` ends the read.
 *
 * Without `follow`, the read ends at the end offsets taken when it began. A transactional
 * partition ends with a commit marker that is never handed to the consumer: the batch events,
 * which do report it, tell when a partition is done.
 */
export async function readTopic(
  kafka: Kafka,
  admin: Admin,
  options: ReadOptions,
  onRecord: (partition: number, message: KafkaMessage) => Promise<'continue' | 'stop'>,
): Promise<ReadResult> {
  const { topic, follow } = options;
  const { ranges, notes } = await resolveRanges(admin, options);
  for (const note of notes) options.notice?.(note);
  const position = new Map(ranges.map((r) => [r.partition, r.start]));
  const end = new Map(ranges.map((r) => [r.partition, r.end]));
  const done = new Set(
    follow ? [] : ranges.filter((r) => r.start >= r.end).map((r) => r.partition),
  );
  const result = (reason: StopReason): ReadResult => ({ reason, ranges, positions: position });
  if (!follow && done.size === ranges.length) return result('end');
  if (options.signal?.aborted) return result('aborted');

  const consumer = kafka.consumer({
    groupId: options.groupId,
    readUncommitted: false,
    maxWaitTimeInMs: 500,
    allowAutoTopicCreation: false,
  });
  const read: ActiveRead = {
    topic,
    follow,
    consumer,
    ranges,
    position,
    end,
    done,
    stopped: false,
    joined: false,
    busy: false,
    lastActivity: Date.now(),
    // set by `settlement`
    finish: () => undefined,
    fail: () => undefined,
  };
  const finished = settlement(read);
  const onAbort = () => {
    read.finish('aborted');
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const idleMs = options.idleMs ?? 10_000;
  const watchdog = setInterval(() => {
    if (!follow && read.joined && !read.busy && Date.now() - read.lastActivity > idleMs)
      read.finish('idle');
  }, 250);

  try {
    await consumer.connect();
    followGroup(read);
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => deliverBatch(read, batch, onRecord),
    });
    return result(await finished);
  } finally {
    clearInterval(watchdog);
    options.signal?.removeEventListener('abort', onAbort);
    await consumer.disconnect();
    await admin.deleteGroups([options.groupId]).catch(() => undefined);
  }
}

/**
 * The promise a read ends with: sets the read's `finish` (a stop reason) and `fail` (an error)
 * that settle it, either of them setting `stopped`.
 */
function settlement(read: ActiveRead): Promise<StopReason> {
  const finished = new Promise<StopReason>((resolve, reject) => {
    read.finish = (reason) => {
      read.stopped = true;
      resolve(reason);
    };
    read.fail = (err) => {
      read.stopped = true;
      reject(err instanceof Error ? err : new Error(String(err)));
    };
  });
  // a failure before `finished` is awaited must not count as an unhandled rejection
  finished.catch(() => undefined);
  return finished;
}

/**
 * Follows the group: seeks each assigned partition to where the read got (pausing those with
 * nothing to read), moves positions on as batches end, and fails on a crash kafkajs won't restart.
 */
function followGroup(read: ActiveRead): void {
  const { consumer, topic, position, end, done } = read;
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    read.joined = true;
    read.lastActivity = Date.now();
    const assigned = payload.memberAssignment[topic] ?? [];
    const idle: number[] = [];
    for (const partition of assigned) {
      const at = position.get(partition);
      if (at === undefined || done.has(partition)) idle.push(partition);
      else consumer.seek({ topic, partition, offset: at.toString() });
    }
    if (idle.length) consumer.pause([{ topic, partitions: idle }]);
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic !== topic) return;
    read.lastActivity = Date.now();
    const next = BigInt(payload.lastOffset) + 1n;
    const at = position.get(payload.partition);
    if (at !== undefined && next > at) position.set(payload.partition, next);
    const stop = end.get(payload.partition);
    if (stop !== undefined && next >= stop) markDone(read, payload.partition);
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) read.fail(payload.error);
  });
}

/** A partition read to its end: paused, and once every partition is, the read ends. */
function markDone(read: ActiveRead, partition: number): void {
  if (read.follow || read.done.has(partition)) return;
  read.done.add(partition);
  read.consumer.pause([{ topic: read.topic, partitions: [partition] }]);
  if (read.done.size === read.ranges.length) read.finish('end');
}

/** Hands a batch's records to `onRecord`, up to the partition's end offset unless following. */
async function deliverBatch(
  read: ActiveRead,
  batch: Batch,
  onRecord: (partition: number, message: KafkaMessage) => Promise<'continue' | 'stop'>,
): Promise<void> {
  const partition = batch.partition;
  const stop = read.end.get(partition);
  if (stop === undefined) return;
  for (const message of batch.messages) {
    if (read.stopped) return;
    const offset = BigInt(message.offset);
    if (!read.follow && offset >= stop) break;
    read.lastActivity = Date.now();
    read.position.set(partition, offset + 1n);
    read.busy = true;
    try {
      if ((await onRecord(partition, message)) === 'stop') {
        read.finish('stopped');
        return;
      }
    } catch (err) {
      read.fail(err);
      return;
    } finally {
      read.busy = false;
      read.lastActivity = Date.now();
    }
  }
}
