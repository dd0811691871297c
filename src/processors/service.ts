import type { Config } from '../config/config.js';
import { createKafka } from '../kafka/client.js';
import { createMissingTopics } from '../kafka/topics.js';
import type { Logger } from '../lib/logger.js';
import { retrying } from '../lib/retry.js';
import { createRegistry, registerValueSchema } from '../registry/registry.js';
import { readSchema } from '../registry/schemas.js';
import type { Endpoints } from '../stack/local-stack.js';
import { ProcessorHost } from './host.js';

/** Starts the stateful processors chosen by PROCESSORS. */
export async function startProcessors(
  config: Config,
  endpoints: Endpoints,
  logger: Logger,
  clock?: () => number,
) {
  const log = logger.child({ component: 'process' });
  const kafka = createKafka(
    { brokers: endpoints.brokers, clientId: `${config.KAFKA_CLIENT_ID}-process` },
    logger,
  );
  await createMissingTopics(kafka, config, log);

  const registry = createRegistry(endpoints.registryUrl);
  const register = async (
    name: 'CustomerRefreshCompleted' | 'NewTransactionsAvailable' | 'ReconnectAlert',
    topic: string,
  ) => registerValueSchema(registry, topic, await readSchema(name));
  const schemaIds = await retrying('registering output schemas', log, async () => ({
    completed: await register('CustomerRefreshCompleted', config.TOPIC_CUSTOMER_COMPLETED),
    'new-transactions': await register(
      'NewTransactionsAvailable',
      config.TOPIC_CUSTOMER_NEW_TRANSACTIONS,
    ),
    alert: await register('ReconnectAlert', config.TOPIC_CUSTOMER_ALERTS),
  }));
  const host = new ProcessorHost(kafka, registry, schemaIds, config, log, clock);
  await host.start();
  log.info({ processors: config.PROCESSORS }, 'processors running');
  return { host, close: () => host.stop() };
}
