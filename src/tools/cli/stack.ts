import type { Command } from 'commander';
import type { Config } from '../../config/config.js';
import { openStack } from '../stack/select.js';

const say = (line: string) => {
  console.error(line);
};

/** `refreshbus stack up | down | status`. */
export function registerStackCommands(program: Command, config: () => Config): void {
  const stack = program
    .command('stack')
    .description(
      'run the local infrastructure: Kafka (KRaft) and a Confluent-compatible schema registry',
    );

  stack
    .command('up')
    .description('start Kafka and the schema registry (idempotent) and wait until both are ready')
    .action(async () => {
      const started = Date.now();
      const s = await openStack(config(), say);
      const endpoints = await s.up();
      say(`stack: ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      console.log(`KAFKA_BROKERS=${endpoints.brokers.join(',')}`);
      console.log(`SCHEMA_REGISTRY_URL=${endpoints.registryUrl}`);
    });

  stack
    .command('down')
    .description('stop what `stack up` started, by its PIDs')
    .option('--purge', 'also delete the data (topics, offsets, registered schemas)', false)
    .action(async (options: { purge: boolean }) => {
      const s = await openStack(config(), say);
      await s.down({ purge: options.purge });
    });

  stack
    .command('status')
    .description('show what runs and whether it is ready; exits 1 when something is not ready')
    .action(async () => {
      const s = await openStack(config(), say);
      const lines = await s.describe();
      for (const line of lines) console.log(line);
      if (lines.some((l) => /stopped|not ready/.test(l))) process.exitCode = 1;
    });
}
