import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { Option } from 'commander';
import type { Config } from '../config/config.js';
import { opsClients, withAdmin } from '../ops/clients.js';
import { jsonLines, signalAbort } from '../ops/output.js';
import { parseCount, parseOffset, parsePartition, parseTime } from '../ops/parse.js';
import type { StartAt } from '../ops/reader.js';
import { readTopic } from '../ops/reader.js';
import { recordLine } from '../ops/records.js';
import { createRegistry } from '../registry/registry.js';

interface TailOptions {
  fromBeginning?: boolean;
  offset?: bigint | 'end';
  since?: number;
  partition?: number[];
  max?: number;
  follow?: boolean;
}

function startOf(options: TailOptions): StartAt {
  if (options.offset === 'end') return { from: 'end' };
  if (options.offset !== undefined) return { from: 'offset', offset: options.offset };
  if (options.since !== undefined) return { from: 'time', at: options.since };
  return { from: 'beginning' };
}

/** `refreshbus tail <topic>`. */
export function registerTailCommand(program: Command, config: () => Config): void {
  program
    .command('tail')
    .description(
      'print records of a topic as JSON lines (read_committed): Avro values decoded by their ' +
        'schema id, other values as UTF-8 text (base64 if not UTF-8); commits no offsets',
    )
    .argument('<topic>', 'the topic to read')
    .addOption(
      new Option('--from-beginning', 'start at the oldest record (the default)').conflicts([
        'offset',
        'since',
      ]),
    )
    .addOption(
      new Option(
        '--offset <n>',
        'start at this offset in every partition read (or "end": new records only)',
      )
        .argParser(parseOffset)
        .conflicts(['since']),
    )
    .addOption(
      new Option(
        '--since <time>',
        'start at the first record at or after this ISO-8601 time',
      ).argParser(parseTime),
    )
    .option('--partition <p>', 'only this partition (repeat for more)', parsePartition)
    .option('--max <n>', 'stop after printing n records', parseCount)
    .option('--follow', 'keep printing new records until interrupted (Ctrl-C)')
    .option('--no-follow', 'stop at the end offsets taken at start (the default)')
    .action(async (topic: string, options: TailOptions) => {
      await tail(config(), topic, options);
    });
}

/** Prints the records of `topic` the options select, then how many on stderr. */
async function tail(cfg: Config, topic: string, options: TailOptions): Promise<void> {
  const clients = opsClients(cfg, 'tail');
  const registry = createRegistry(clients.endpoints.registryUrl);
  const out = jsonLines();
  const interrupt = signalAbort();
  const stop = AbortSignal.any([out.closed, interrupt.signal]);
  let printed = 0;
  try {
    const result = await withAdmin(clients, (admin) =>
      readTopic(
        clients.kafka,
        admin,
        {
          topic,
          partitions: options.partition,
          start: startOf(options),
          follow: options.follow ?? false,
          groupId: `${cfg.KAFKA_CLIENT_ID}-tail-${randomUUID()}`,
          signal: stop,
          notice: (line) => {
            console.error(`tail: ${line}`);
          },
        },
        async (partition, message) => {
          await out.write(await recordLine(topic, partition, message, (v) => registry.decode(v)));
          if (!out.closed.aborted) printed += 1;
          return options.max !== undefined && printed >= options.max ? 'stop' : 'continue';
        },
      ),
    );
    const unfinished = result.ranges.filter(
      (r) => (result.positions.get(r.partition) ?? r.start) < r.end,
    );
    if (result.reason === 'idle' && unfinished.length)
      console.error(
        `tail: stopped waiting — nothing more could be read from ${unfinished
          .map(
            (r) => `partition ${r.partition} (at ${result.positions.get(r.partition)} of ${r.end})`,
          )
          .join(', ')}; records there may be in a transaction not yet committed`,
      );
    console.error(`tail: ${printed} record${printed === 1 ? '' : 's'} from ${topic}`);
  } finally {
    interrupt.dispose();
    out.dispose();
  }
}
