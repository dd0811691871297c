import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Config } from '../../config/config.js';
import { packageRoot } from '../../config/config.js';
import { StackError } from './errors.js';
import type { Endpoints, Say } from './local-stack.js';
import { localEndpoints } from '../../config/endpoints.js';
import { LocalStack } from './local-stack.js';

const run = promisify(execFile);

/** Which infrastructure refreshbus talks to, and why it was chosen. */
export type StackKind = 'external' | 'docker' | 'local';

/** True when a Docker engine (not just the client) answers within a few seconds. */
export async function dockerEngineAnswers(): Promise<boolean> {
  try {
    await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** Applies the selection order: KAFKA_BROKERS → a Docker engine → the local JVM stack. */
export async function chooseStack(config: Config): Promise<{ kind: StackKind; reason: string }> {
  const forced = config.REFRESHBUS_STACK;
  if (forced === 'external' || (forced === 'auto' && config.KAFKA_BROKERS !== undefined)) {
    if (config.KAFKA_BROKERS === undefined) {
      throw new StackError('REFRESHBUS_STACK=external needs KAFKA_BROKERS and SCHEMA_REGISTRY_URL');
    }
    return { kind: 'external', reason: 'KAFKA_BROKERS is set' };
  }
  if (forced === 'docker') return { kind: 'docker', reason: 'REFRESHBUS_STACK=docker' };
  if (forced === 'local') return { kind: 'local', reason: 'REFRESHBUS_STACK=local' };
  if (await dockerEngineAnswers()) return { kind: 'docker', reason: 'a Docker engine answers' };
  return { kind: 'local', reason: 'no KAFKA_BROKERS and no Docker engine' };
}

const composeFile = path.join(packageRoot, 'docker-compose.yml');

async function compose(args: string[]): Promise<void> {
  try {
    await run('docker', ['compose', '-f', composeFile, ...args], { timeout: 10 * 60_000 });
  } catch (err) {
    const out = err as { stderr?: string };
    throw new StackError(`docker compose ${args.join(' ')} failed: ${out.stderr ?? String(err)}`, {
      cause: err,
    });
  }
}

/** The stack commands, whichever infrastructure was chosen. */
export interface Stack {
  readonly kind: StackKind;
  up(): Promise<Endpoints>;
  down(options?: { purge?: boolean }): Promise<void>;
  /** Human-readable lines describing what runs. */
  describe(): Promise<string[]>;
}

export async function openStack(config: Config, say: Say): Promise<Stack> {
  const { kind, reason } = await chooseStack(config);
  say(`stack: ${kind} (${reason})`);
  if (kind === 'external') {
    const endpoints: Endpoints = {
      brokers: config.KAFKA_BROKERS ?? [],
      registryUrl: config.SCHEMA_REGISTRY_URL ?? '',
    };
    return {
      kind,
      up: () => Promise.resolve(endpoints),
      down: () => {
        say('stack: external infrastructure is not managed by refreshbus; nothing to stop');
        return Promise.resolve();
      },
      describe: () =>
        Promise.resolve([
          `kafka: ${endpoints.brokers.join(',')}`,
          `registry: ${endpoints.registryUrl}`,
        ]),
    };
  }
  if (kind === 'docker') {
    const endpoints = localEndpoints(config);
    return {
      kind,
      up: async () => {
        await compose(['up', '-d', '--wait', 'kafka', 'registry']);
        return endpoints;
      },
      down: (options) => compose(['down', ...(options?.purge ? ['--volumes'] : [])]),
      describe: async () => {
        const { stdout } = await run('docker', ['compose', '-f', composeFile, 'ps']);
        return stdout.trimEnd().split('\n');
      },
    };
  }
  const local = new LocalStack(config, say);
  return {
    kind,
    up: () => local.up(),
    down: (options) => local.down(options),
    describe: async () =>
      (await local.status()).map(
        (s) =>
          `${s.component}: ${s.pid === undefined ? 'stopped' : `pid ${s.pid}, ${s.ready ? 'ready' : 'not ready'}`}` +
          (s.component === 'kafka'
            ? ` — ${local.endpoints.brokers.join(',')}`
            : ` — ${local.endpoints.registryUrl}`),
      ),
  };
}
