import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { packageRoot } from '../../../src/config/config.js';

/** A TCP port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

export type ServiceKind = 'ingest' | 'normalize' | 'process';

interface Member {
  readonly name: string;
  readonly kind: ServiceKind;
  child: ChildProcess | undefined;
  /** Resolves when the current child has exited. */
  exited: Promise<void>;
}

/**
 * refreshbus services as real processes (`node bin/refreshbus.js <kind>`), so they can be killed
 * with SIGKILL at any moment and started again with the same environment.
 */
export class Fleet {
  private readonly members = new Map<string, Member>();
  readonly kills: { at: number; name: string }[] = [];

  constructor(
    private readonly env: Record<string, string>,
    private readonly logDir?: string,
  ) {}

  /** Starts (or restarts) the member `name` running `kind`. */
  start(name: string, kind: ServiceKind): void {
    const member = this.members.get(name) ?? {
      name,
      kind,
      child: undefined,
      exited: Promise.resolve(),
    };
    if (member.child && member.child.exitCode === null && member.child.signalCode === null) return;
    const child = spawn(process.execPath, [path.join(packageRoot, 'bin/refreshbus.js'), kind], {
      env: { PATH: process.env.PATH ?? '', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (this.logDir) {
      const log = createWriteStream(path.join(this.logDir, `${name}-${String(child.pid)}.log`));
      child.stdout.pipe(log);
      child.stderr.pipe(log);
    } else {
      child.stdout.resume();
      child.stderr.resume();
    }
    member.child = child;
    member.exited = new Promise((resolve) => {
      child.once('exit', () => {
        resolve();
      });
    });
    this.members.set(name, member);
  }

  names(kind?: ServiceKind): string[] {
    return [...this.members.values()].filter((m) => !kind || m.kind === kind).map((m) => m.name);
  }

  running(name: string): boolean {
    const child = this.members.get(name)?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** SIGKILL: no shutdown hook runs, nothing is flushed. */
  async kill(name: string): Promise<void> {
    const member = this.members.get(name);
    if (!member?.child || !this.running(name)) return;
    member.child.kill('SIGKILL');
    this.kills.push({ at: Date.now(), name });
    await member.exited;
  }

  /** SIGTERM: the member leaves as in a scale-in, finishing what it holds. */
  async stop(name: string): Promise<void> {
    const member = this.members.get(name);
    if (!member?.child || !this.running(name)) return;
    member.child.kill('SIGTERM');
    await member.exited;
    this.members.delete(name);
  }

  async killAll(): Promise<void> {
    await Promise.all(
      [...this.members.values()].map(async (m) => {
        if (m.child && this.running(m.name)) {
          m.child.kill('SIGKILL');
          await m.exited;
        }
      }),
    );
    this.members.clear();
  }
}
