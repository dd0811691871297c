/**
 * The outcomes of a chunk's attempts in the librdkafka engine: how its attempts have gone, and
 * what a committed chunk reports (metrics, logs).
 */
import type { ErrorClass } from '../errors.js';
import { failureOf } from '../errors.js';
import type { InputChunk, ProcessResult } from '../exactly-once.js';
import { countByTopic } from './binding.js';
import type { EosRunnerOptions } from './runner.js';

/** The partition was revoked (or the runner stopped) while its work was being built. */
export class StaleError extends Error {
  constructor() {
    super('the partition is no longer this member’s');
    this.name = 'StaleError';
  }
}

/** How a chunk's attempts have gone: its backoff, unknown failures, and its poison if found. */
export interface Attempt {
  backoff: number;
  unknown: number;
  poison?: { err: unknown; kind: ErrorClass };
}

/** Metrics and logs of a committed chunk: its outputs applied, or its record dead-lettered. */
export function reportCommitted(
  options: Pick<EosRunnerOptions, 'logger' | 'onDeadLettered' | 'onCommitted'>,
  chunk: InputChunk,
  poison: Attempt['poison'],
  result: ProcessResult | undefined,
  started: bigint,
): void {
  const { topic, partition } = chunk;
  if (poison) {
    const failure = failureOf(poison.err, poison.kind);
    options.logger.error(
      {
        topic,
        partition,
        offset: chunk.messages[0]?.offset,
        code: failure.code,
        kind: poison.kind,
        reason: failure.message.slice(0, 300),
      },
      'input record dead-lettered',
    );
    options.onDeadLettered?.({ topic, partition, code: failure.code, kind: poison.kind });
    return;
  }
  result?.afterCommit?.();
  options.onCommitted?.({
    topic,
    partition,
    records: chunk.messages.length,
    outputs: countByTopic(result?.records ?? []),
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  });
}
