import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../../src/config/config.js';
import { LocalStack } from '../../src/tools/stack/local-stack.js';
import { chooseStack } from '../../src/tools/stack/select.js';

declare module 'vitest' {
  export interface ProvidedContext {
    brokers: string[];
    registryUrl: string;
  }
}

const say = (line: string) => {
  console.log(`[stack] ${line}`);
};

/**
 * Starts (or reuses) the infrastructure once for all integration tests and hands its addresses
 * to them: KAFKA_BROKERS → a Docker engine (testcontainers + docker-compose.yml) → the local JVM
 * stack. What this setup started, it stops; a stack that was already running is left running.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const config = loadConfig();
  const { kind, reason } = await chooseStack(config);
  say(`using ${kind} (${reason})`);

  if (kind === 'external') {
    project.provide('brokers', [...(config.KAFKA_BROKERS ?? [])]);
    project.provide('registryUrl', config.SCHEMA_REGISTRY_URL ?? '');
    return () => Promise.resolve();
  }

  if (kind === 'docker') {
    const { DockerComposeEnvironment, Wait } = await import('testcontainers');
    const env = await new DockerComposeEnvironment(
      path.resolve(import.meta.dirname, '../..'),
      'docker-compose.yml',
    )
      .withWaitStrategy('kafka', Wait.forHealthCheck())
      .withWaitStrategy('registry', Wait.forHealthCheck())
      .up(['kafka', 'registry']);
    project.provide('brokers', [`127.0.0.1:${config.REFRESHBUS_KAFKA_PORT}`]);
    project.provide(
      'registryUrl',
      `http://127.0.0.1:${config.REFRESHBUS_REGISTRY_PORT}/apis/ccompat/v7`,
    );
    return async () => {
      await env.down();
    };
  }

  const stack = new LocalStack(config, say);
  const wasRunning = (await stack.status()).every((s) => s.pid !== undefined);
  let endpoints;
  try {
    endpoints = await stack.up();
  } catch (err) {
    if (!wasRunning) await stack.down();
    throw err;
  }
  project.provide('brokers', [...endpoints.brokers]);
  project.provide('registryUrl', endpoints.registryUrl);
  return async () => {
    if (!wasRunning) await stack.down();
  };
}
