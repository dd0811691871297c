/**
 * End-to-end reader, run as a worker thread of bench/e2e.ts: a read_committed kafkajs consumer on
 * its own event loop (the sender's HTTP work on the main thread does not delay its clock), posting
 * the first CreateTime and arrival (epoch ms) of each key per topic.
 *
 *   new Worker(new URL('./workers/arrivals.ts', import.meta.url), { workerData: ArrivalsConfig })
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { Kafka, logLevel } from 'kafkajs';

/** What the worker is given. */
export interface ArrivalsConfig {
  readonly brokers: readonly string[];
  readonly groupId: string;
  readonly topics: readonly string[];
}

/** Messages the worker posts. */
export type ArrivalsMessage =
  | { readonly type: 'running' }
  | {
      readonly type: 'arrivals';
      readonly topic: string;
      readonly keys: string[];
      readonly ts: number[];
      readonly rx: number;
    }
  | { readonly type: 'stopped'; readonly loopDelayP99Ms: number; readonly loopDelayMaxMs: number };

const config = workerData as ArrivalsConfig;
const port = parentPort;
if (!port) throw new Error('bench/workers/arrivals.ts runs as a worker thread');
const post = (message: ArrivalsMessage) => {
  port.postMessage(message);
};

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const seen = new Map(config.topics.map((t) => [t, new Set<string>()]));
const kafka = new Kafka({
  clientId: `${config.groupId}.client`,
  brokers: [...config.brokers],
  logLevel: logLevel.NOTHING,
});
const consumer = kafka.consumer({ groupId: config.groupId, readUncommitted: false });
await consumer.connect();
for (const topic of config.topics) await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  eachBatch: async ({ batch }) => {
    const rx = Date.now();
    const known = seen.get(batch.topic);
    const keys: string[] = [];
    const ts: number[] = [];
    for (const m of batch.messages) {
      const key = m.key?.toString();
      if (key === undefined || known?.has(key)) continue;
      known?.add(key);
      keys.push(key);
      ts.push(Number(m.timestamp));
    }
    if (keys.length) post({ type: 'arrivals', topic: batch.topic, keys, ts, rx });
    await Promise.resolve();
  },
});
post({ type: 'running' });
port.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  void consumer.disconnect().finally(() => {
    delay.disable();
    post({
      type: 'stopped',
      loopDelayP99Ms: Math.round(delay.percentile(99) / 1e5) / 10,
      loopDelayMaxMs: Math.round(delay.max / 1e5) / 10,
    });
    port.close();
  });
});
