import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { isOwnProcess, isPortFree } from '../../../src/stack/processes.js';

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
