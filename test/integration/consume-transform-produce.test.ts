import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCopyProcessor, transform } from './support/ctp.js';
import { brokers, testBroker, uniqueName } from './support/kafka.js';

const broker = testBroker();

/** Starts the crash worker and resolves once it sits inside an uncommitted transaction. */
function runWorkerUntilBeforeCommit(args: string[]) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'support/ctp-crash-worker.ts'), ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const reachedBeforeCommit = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('BEFORE_COMMIT')) resolve();
    });
    child.once('exit', (code) => {
      reject(new Error(`worker exited (${code}) before reaching the commit: ${stderr}`));
    });
  });
  return { child, reachedBeforeCommit };
}

describe('consume-transform-produce in one transaction', () => {
  it('after a crash before commit, re-delivers the input and the crashed output never becomes visible', async () => {
    const input = uniqueName('ctp-in');
    const output = uniqueName('ctp-out');
    const groupId = uniqueName('ctp-group');
    const transactionalId = uniqueName('ctp-txn');
    await broker.createTopics([input, output]);

    const values = Array.from({ length: 20 }, (_, i) => `record-${i}`);
    const producer = await broker.producer({ idempotent: true });
    await producer.send({
      topic: input,
      acks: -1,
      messages: values.map((value) => ({ key: 'k', value })),
    });

    const worker = runWorkerUntilBeforeCommit([
      brokers().join(','),
      input,
      output,
      groupId,
      transactionalId,
    ]);
    await worker.reachedBeforeCommit;
    const exited = new Promise((resolve) => worker.child.once('exit', resolve));
    worker.child.kill('SIGKILL');
    await exited;

    // the crashed transaction wrote its output to the log, but nobody committed it
    const written = await broker.readAll(output, { readCommitted: false, count: values.length });
    expect(written.length).toBeGreaterThan(0);
    const offsetsAfterCrash = await (
      await broker.admin()
    ).fetchOffsets({ groupId, topics: [input] });
    expect(offsetsAfterCrash[0]?.partitions[0]?.offset).toBe('-1');

    // a restart with the same transactional id fences the dead producer and aborts its transaction
    const restarted = await startCopyProcessor({
      brokers: brokers(),
      input,
      output,
      groupId,
      transactionalId,
    });
    broker.resources.track(restarted, async (r) => {
      await r.consumer.disconnect();
      await r.producer.disconnect();
    });

    const visible = await broker.readAll(output, { readCommitted: true, count: values.length });
    expect(visible.map((m) => m.value?.toString())).toEqual(values.map(transform));
    expect(visible.map((m) => m.headers?.['source-offset']?.toString())).toEqual(
      values.map((_, i) => String(i)),
    );

    const everything = await broker.readAll(output, {
      readCommitted: false,
      count: written.length + values.length,
    });
    expect(everything.length).toBe(written.length + values.length);

    const committed = await (await broker.admin()).fetchOffsets({ groupId, topics: [input] });
    expect(committed[0]?.partitions[0]?.offset).toBe(String(values.length));
  });
});
