/**
 * What the services need of an exactly-once runner, whichever Kafka engine runs it
 * (`KAFKA_ENGINE`): kafkajs's {@link ExactlyOnceRunner} or librdkafka's {@link EosRunner}.
 */
import type { Kafka } from 'kafkajs';
import { EosRunner } from './eos/runner.js';
import type { EosRunnerOptions } from './eos/runner.js';
import { ExactlyOnceRunner } from './exactly-once.js';
import type {
  ExactlyOnceOptions,
  PartitionLag,
  ProcessResult,
  RunnerStatus,
} from './exactly-once.js';

export interface StreamRunner {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): RunnerStatus;
  lag(): Promise<PartitionLag[]>;
  transact(topic: string, partition: number, build: () => Promise<ProcessResult>): Promise<void>;
  initProducer(topic: string, partition: number): Promise<void>;
  onAssigned(listener: (assignment: Record<string, number[]>) => void): void;
}

export type KafkaEngine = 'kafkajs' | 'librdkafka';

/** The runner of `engine`; kafkajs needs its client, librdkafka the brokers and a client id. */
export function createStreamRunner(
  engine: KafkaEngine,
  options: Omit<ExactlyOnceOptions, 'kafka'> &
    Pick<EosRunnerOptions, 'brokers' | 'clientId'> & { readonly kafka: Kafka },
): StreamRunner {
  // each takes what it knows of the options (kafkajs its client, librdkafka the brokers)
  return engine === 'librdkafka' ? new EosRunner(options) : new ExactlyOnceRunner(options);
}
