import type { Admin, Kafka } from 'kafkajs';
import { pino } from 'pino';
import { resolveEndpoints } from '../cli/endpoints.js';
import type { OperatorConfig } from '../config/config.js';
import { createKafka } from '../kafka/client.js';
import type { Logger } from '../lib/logger.js';
import { createLogger } from '../lib/logger.js';
import type { Endpoints } from '../config/endpoints.js';
import { OperatorError, messageOf } from './errors.js';

/** What an operator command talks to. Logs go to stderr: stdout carries the command's output. */
export interface OpsClients {
  readonly endpoints: Endpoints;
  readonly kafka: Kafka;
  readonly logger: Logger;
}

export function opsClients(config: OperatorConfig, name: string): OpsClients {
  // kafkajs's logs (rebalances, retries, the errors the command reports itself) are noise for a
  // one-shot command; LOG_LEVEL=debug or trace shows them
  const level = ['debug', 'trace'].includes(config.LOG_LEVEL) ? config.LOG_LEVEL : 'fatal';
  const logger = createLogger(level, pino.destination(2));
  const endpoints = resolveEndpoints(config, logger);
  const kafka = createKafka(
    {
      brokers: endpoints.brokers,
      clientId: `${config.KAFKA_CLIENT_ID}-${name}`,
      // fail within seconds when nothing answers, rather than retry for a minute
      retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 3000 },
    },
    logger,
  );
  return { endpoints, kafka, logger };
}

/** A connected admin client, or an OperatorError saying which brokers did not answer. */
export async function connectAdmin(kafka: Kafka, brokers: readonly string[]): Promise<Admin> {
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (err) {
    throw new OperatorError(
      `cannot connect to Kafka at ${brokers.join(',')}: ${messageOf(err)} ` +
        '(set KAFKA_BROKERS, or start the local stack with `refreshbus stack up`)',
      { cause: err },
    );
  }
  return admin;
}

/** Runs `fn` with a connected admin client and disconnects it afterwards. */
export async function withAdmin<T>(
  clients: OpsClients,
  fn: (admin: Admin) => Promise<T>,
): Promise<T> {
  const admin = await connectAdmin(clients.kafka, clients.endpoints.brokers);
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}
