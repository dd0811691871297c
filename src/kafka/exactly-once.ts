/**
 * Exactly-once processing on kafkajs, which predates KIP-447 ({@link ExactlyOnceRunner}), in the
 * parts Kafka Streams has under exactly-once (alpha):
 * - exactly-once/options.ts: what the runner is given and reports;
 * - exactly-once/producers.ts: a transactional producer per input partition (Streams'
 *   `StreamsProducer`), its lock and its fence, and one transaction;
 * - exactly-once/ownership.ts: the checks before a commit — group membership and the committed
 *   offset floor;
 * - exactly-once/chunks.ts: a chunk's processing, retries and dead letter (a task's processing);
 * - exactly-once/runner.ts: the consume loop and the lifecycle (Streams' `StreamThread`).
 */
export type {
  BatchProcessor,
  CommittedTransaction,
  ExactlyOnceOptions,
  InputChunk,
  PartitionLag,
  ProcessResult,
  RunnerStatus,
  TopicRecords,
} from './exactly-once/options.js';
export { chunkMessages, whileHeartbeating } from './exactly-once/chunks.js';
export { OwnershipUncertainError } from './exactly-once/ownership.js';
export {
  CommitOutcomeUnknownError,
  FencedError,
  splitForProduce,
} from './exactly-once/producers.js';
export { ExactlyOnceRunner } from './exactly-once/runner.js';
