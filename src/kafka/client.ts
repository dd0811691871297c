import { Kafka, logLevel } from 'kafkajs';
import type { KafkaConfig, LogEntry } from 'kafkajs';
import type { Logger } from '../lib/logger.js';

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs's `logCreator`, routed into pino with the kafkajs namespace as a field. */
export function pinoLogCreator(logger: Logger) {
  const log = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      const { message, ...rest } = entry;
      log[levels[level] ?? 'info']({ namespace, ...rest }, message);
    };
}

/** One Kafka client for a service, logging through pino. */
export function createKafka(
  options: { brokers: readonly string[]; clientId: string } & Partial<
    Omit<KafkaConfig, 'brokers' | 'clientId'>
  >,
  logger: Logger,
): Kafka {
  const { brokers, ...rest } = options;
  return new Kafka({
    ...rest,
    brokers: [...brokers],
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(logger),
  });
}
