import { execFileSync, spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** How the local stack marks its own JVMs, so a recycled PID is never mistaken for one of them. */
export function stackMarker(stackDir: string): string {
  return `-Drefreshbus.stack.dir=${stackDir}`;
}

/** True when `pid` is alive and its command line carries `marker`. */
export function isOwnProcess(pid: number, marker: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const cmdline = `/proc/${pid}/cmdline`;
  try {
    if (existsSync(cmdline)) return readFileSync(cmdline, 'utf8').split('\0').includes(marker);
    // no /proc (macOS, BSD): ask ps
    return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' }).includes(
      marker,
    );
  } catch {
    return false;
  }
}

/**
 * Runs `fn` holding an exclusive lock file, so two `stack up`/`down` at once cannot both start a
 * broker (or format its storage). A lock left by a dead process is taken over.
 */
export async function withLock<T>(lockFile: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lockFile, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = await readPid(lockFile);
      const alive = holder !== undefined && isAlive(holder);
      if (!alive) {
        await rm(lockFile, { force: true });
        continue;
      }
      if (attempt > 600)
        throw new Error(`another refreshbus stack command (pid ${holder}) holds ${lockFile}`);
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockFile, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function readPid(pidFile: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Starts a detached daemon whose stdout and stderr append to `logFile`; records its PID. */
export async function startDaemon(options: {
  command: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  pidFile: string;
}): Promise<number> {
  const fd = openSync(options.logFile, 'a');
  try {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => {
        if (child.pid === undefined) reject(new Error(`${options.command} did not start`));
        else resolve(child.pid);
      });
    });
    child.unref();
    await writeFile(options.pidFile, `${pid}\n`);
    return pid;
  } finally {
    closeSync(fd);
  }
}

/** Stops a daemon by its PID: SIGTERM, then SIGKILL after `graceMs`. Returns true if it was running. */
export async function stopDaemon(
  pidFile: string,
  marker: string,
  graceMs: number,
): Promise<boolean> {
  const pid = await readPid(pidFile);
  let wasRunning = false;
  if (pid !== undefined && isOwnProcess(pid, marker)) {
    wasRunning = true;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isOwnProcess(pid, marker) && Date.now() < deadline) await sleep(200);
    if (isOwnProcess(pid, marker)) {
      process.kill(pid, 'SIGKILL');
      while (isOwnProcess(pid, marker)) await sleep(100);
    }
  }
  await rm(pidFile, { force: true });
  return wasRunning;
}

/** True when nothing listens on `port` at 127.0.0.1 (so the stack may bind it). */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/** The last `lines` lines of a log file, for error messages. */
export async function tail(file: string, lines = 30): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log yet)';
  }
}
