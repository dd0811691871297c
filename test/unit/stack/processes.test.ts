import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { isOwnProcess, isPortFree, withLock } from '../../../src/tools/stack/processes.js';

describe('isPortFree', () => {
  it('sees a port that something listens on as busy', async () => {
    const server = net.createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as net.AddressInfo;
    expect(await isPortFree(port)).toBe(false);
    server.close();
    await once(server, 'close');
    expect(await isPortFree(port)).toBe(true);
  });
});

describe('isOwnProcess', () => {
  it('does not take a live process without the stack marker for one of the stack', () => {
    expect(isOwnProcess(process.pid, '-Drefreshbus.stack.dir=/nowhere')).toBe(false);
  });

  it('knows a dead PID is not running', () => {
    expect(isOwnProcess(2 ** 22 + 12345, '-Drefreshbus.stack.dir=/nowhere')).toBe(false);
  });
});

describe('withLock', () => {
  it('runs two holders one after the other, never together', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lock-'));
    const lock = path.join(dir, 'stack.lock');
    const events: string[] = [];
    const holder = (name: string) =>
      withLock(lock, async () => {
        events.push(`${name}:in`);
        await new Promise((r) => setTimeout(r, 50));
        events.push(`${name}:out`);
      });
    await Promise.all([holder('a'), holder('b')]);
    // either may take the lock first (under load b does); never is one inside while the other is
    const [first, second] = events[0] === 'a:in' ? ['a', 'b'] : ['b', 'a'];
    expect(events).toEqual([`${first}:in`, `${first}:out`, `${second}:in`, `${second}:out`]);
  });

  it('takes over a lock left by a process that died', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lock-'));
    const lock = path.join(dir, 'stack.lock');
    await writeFile(lock, `${2 ** 22 + 4321}\n`);
    expect(await withLock(lock, () => Promise.resolve('ran'))).toBe('ran');
  });
});
