import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Logger } from '../lib/logger.js';

/**
 * A directory of its own under STATE_DIR for this process's values files. Directories left by
 * processes that died without stopping (named after their pid) are removed: their state is in the
 * changelogs, and a restore rebuilds it.
 */
export function createStateDir(configured: string | undefined, logger: Logger): string {
  const base = configured ?? path.join(os.tmpdir(), 'refreshbus-state');
  fs.mkdirSync(base, { recursive: true, mode: 0o700 });
  for (const entry of fs.readdirSync(base)) {
    const pid = Number(/^(\d+)-/.exec(entry)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    fs.rmSync(path.join(base, entry), { recursive: true, force: true });
    logger.info({ dir: path.join(base, entry) }, 'removed the state files of a stopped process');
  }
  return fs.mkdtempSync(path.join(base, `${String(process.pid)}-`));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A full garbage collection once every assigned partition is restored. A restore allocates
 * hundreds of MB that die at once (kafkajs's fetch responses and decoded records, the states'
 * timers); V8 keeps them, and the buffers they hold, resident until its next major collection,
 * which an idle processor may not run for a long time. `gc` is V8's own, exposed for this call.
 */
let fullGc: (() => void) | undefined;

export function collectRestoreGarbage(logger: Logger): void {
  setImmediate(() => {
    try {
      if (!fullGc) {
        v8.setFlagsFromString('--expose-gc');
        fullGc = vm.runInNewContext('gc') as () => void;
      }
      const started = performance.now();
      fullGc();
      logger.debug(
        { ms: Math.round(performance.now() - started) },
        'collected the restore garbage',
      );
    } catch (err) {
      logger.debug({ err }, 'no full garbage collection after the restore');
    }
  });
}
