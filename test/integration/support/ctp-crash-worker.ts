// Runs the copy processor in its own process and stops inside the first transaction, after
// outputs and offsets were sent but before commit, so the parent can SIGKILL it right there.
import { startCopyProcessor } from './ctp.js';

const [brokers, input, output, groupId, transactionalId] = process.argv.slice(2);
if (!brokers || !input || !output || !groupId || !transactionalId) {
  console.error('usage: ctp-crash-worker <brokers> <input> <output> <groupId> <transactionalId>');
  process.exit(2);
}

await startCopyProcessor({
  brokers: brokers.split(','),
  input,
  output,
  groupId,
  transactionalId,
  beforeCommit: async () => {
    process.stdout.write('BEFORE_COMMIT\n');
    await new Promise(() => undefined); // wait here until killed
  },
});
