import { dedicatedStack } from './dedicated-stack.js';

/**
 * A Kafka broker of a test's own (same jars as the local stack, its own ports and data), for
 * tests that stop and restart the broker without disturbing the shared one.
 */
export async function dedicatedBroker() {
  const { endpoints, ...lifecycle } = await dedicatedStack(
    'broker',
    ['REFRESHBUS_KAFKA_PORT', 'REFRESHBUS_KAFKA_CONTROLLER_PORT'],
    { kafkaOnly: true },
  );
  return { brokers: [...endpoints.brokers], ...lifecycle };
}
