import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import { topicDefinitions } from '../kafka/topics.js';
import { opsClients, withAdmin } from '../ops/clients.js';
import {
  applyTopics,
  formatTopicReports,
  summarizeTopicReports,
  topicsPass,
} from '../ops/topics.js';

/** `refreshbus topics apply [--check] [--json]`. */
export function registerTopicsCommands(program: Command, config: () => Config): void {
  const topics = program
    .command('topics')
    .description("create and check refreshbus's topics from their one definition");

  topics
    .command('apply')
    .description(
      'create the missing topics, then compare every topic with its definition (partitions, ' +
        'replication factor, cleanup.policy, retention.ms, min.insync.replicas, max.message.bytes); ' +
        'drift is reported, never fixed; exits 1 on drift, a missing topic (--check) or an error',
    )
    .option('--check', 'create nothing: report missing topics as failures too', false)
    .option('--json', 'print one JSON document instead of lines', false)
    .action(async (options: { check: boolean; json: boolean }) => {
      const cfg = config();
      const clients = opsClients(cfg, 'topics');
      const reports = await withAdmin(clients, (admin) =>
        applyTopics(admin, topicDefinitions(cfg), { check: options.check }),
      );
      const ok = topicsPass(reports);
      if (options.json) console.log(JSON.stringify({ ok, topics: reports }, null, 2));
      else for (const line of formatTopicReports(reports)) console.log(line);
      console.error(
        `${summarizeTopicReports(reports)} (Kafka at ${clients.endpoints.brokers.join(',')})`,
      );
      if (!ok) process.exitCode = 1;
    });
}
