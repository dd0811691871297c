import { spawn } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../../../src/config/config.js';
import { brokers, registryUrl, uniqueName } from './kafka.js';

/** Settings for one test: the shared broker and registry, topics and application id of its own. */
export function opsEnv(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  const base = uniqueName(prefix);
  return {
    KAFKA_BROKERS: brokers().join(','),
    SCHEMA_REGISTRY_URL: registryUrl(),
    TOPIC_WEBHOOKS_RAW: `${base}.raw`,
    TOPIC_REFRESH_REQUESTS: `${base}.requests`,
    TOPIC_REFRESH_EVENTS: `${base}.events`,
    TOPIC_REFRESH_DLQ: `${base}.dlq`,
    TOPIC_PROCESS_DLQ: `${base}.process-dlq`,
    TOPIC_CUSTOMER_COMPLETED: `${base}.completed`,
    TOPIC_CUSTOMER_NEW_TRANSACTIONS: `${base}.new-transactions`,
    TOPIC_CUSTOMER_ALERTS: `${base}.alerts`,
    TOPIC_CONNECTIONS: `${base}.connections`,
    PROCESS_APPLICATION_ID: `${base}.app`,
    TOPIC_PARTITIONS: '2',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the built CLI (`node bin/refreshbus.js …`, as an operator would; `npm test` builds it
 * first) with `env` only, and returns its exit code and output.
 */
export function refreshbus(
  args: readonly string[],
  env: Record<string, string>,
  options: { timeoutMs?: number; whileRunning?: () => Promise<void> } = {},
): Promise<CliRun> {
  const child = spawn(process.execPath, [path.join(packageRoot, 'bin/refreshbus.js'), ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`refreshbus ${args.join(' ')} ran over ${timeoutMs} ms\n${stdout}\n${stderr}`),
      );
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    options.whileRunning?.().catch((err: unknown) => {
      child.kill('SIGKILL');
      reject(err instanceof Error ? err : new Error(String(err)));
    });
  });
}

/** The JSON lines a command printed on stdout. */
export function jsonLinesOf(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
