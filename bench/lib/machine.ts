import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/config/config.js';
import { APICURIO_VERSION, KAFKA_VERSION } from '../../src/tools/stack/artifacts.js';

/** What the figures were measured on. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGB: number;
  readonly os: string;
  readonly node: string;
  readonly kafkajs: string;
  readonly autocannon: string;
  readonly kafka: string;
  readonly apicurio: string;
  readonly refreshbusCommit: string;
  /** 1, 5 and 15 minute load averages when the info was taken. */
  readonly loadAverage: readonly number[];
}

function packageVersion(name: string): string {
  try {
    const json = JSON.parse(
      readFileSync(path.join(packageRoot, 'node_modules', name, 'package.json'), 'utf8'),
    ) as { version?: string };
    return json.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** HEAD's short hash, and whether src/ had uncommitted changes (measured code ≠ the commit). */
function gitCommit(): string {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: packageRoot, encoding: 'utf8' }).trim();
    const head = git('rev-parse', '--short=12', 'HEAD');
    const dirty = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length;
    return dirty ? `${head} + ${dirty} uncommitted file(s) in src/` : head;
  } catch {
    return 'unknown';
  }
}

/** 1/5/15-minute load averages, rounded. */
export const loadAverage = () => os.loadavg().map((n) => Math.round(n * 100) / 100);

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node: process.version,
    kafkajs: packageVersion('kafkajs'),
    autocannon: packageVersion('autocannon'),
    kafka: KAFKA_VERSION,
    apicurio: APICURIO_VERSION,
    refreshbusCommit: gitCommit(),
    loadAverage: loadAverage(),
  };
}
