import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { Copy, DockerfileParser, From } from 'dockerfile-ast';
import { parse as parseYaml } from 'yaml';
import { buildProgram } from '../../../src/cli/main.js';
import { fullConfigSchema, loadConfig, packageRoot } from '../../../src/config/config.js';
import { authenticatorsFromConfig } from '../../../src/ingest/server.js';
import { createLogger } from '../../../src/lib/logger.js';

// No Docker engine on the machines this project is built on: these are the facts about the
// image and the compose services that can be checked without building or running them.

type Json = Record<string, unknown>;

const knownSettings = new Set(Object.keys(fullConfigSchema.shape));
const defaults = loadConfig({}) as unknown as Json;
const cliCommands = () => buildProgram().commands.map((c) => c.name());
/** Ports refreshbus services listen on: the ingest's and each `*_OPS_PORT` the config defines. */
const portSettings = [...knownSettings].filter(
  (k) => k === 'INGEST_PORT' || k.endsWith('_OPS_PORT'),
);

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  readonly keyword: string;
  /** The arguments, continuation lines joined; a COPY's flags are apart (`from`). */
  readonly args: string;
  /** A COPY's `--from=` stage. */
  readonly from?: string;
}
interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** The Dockerfile's instructions by stage, as Docker's own grammar reads them (dockerfile-ast). */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const dockerfile = DockerfileParser.parse(text);
  const args = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    const property = arg.getProperty();
    if (property) args.set(property.getName(), property.getValue() ?? '');
  }
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction instanceof From) {
      stages.push({
        from: instruction.getImage() ?? '',
        name: instruction.getBuildStage() ?? undefined,
        instructions: [],
      });
      continue;
    }
    const from = instruction instanceof Copy ? instruction.getFromFlag()?.getValue() : undefined;
    stages.at(-1)?.instructions.push({
      keyword: instruction.getKeyword(),
      args: instruction.getArgumentsContent() ?? '',
      ...(from ? { from } : {}),
    });
  }
  return { args, stages };
}

const of = (stage: Stage | undefined, keyword: string) =>
  stage?.instructions.filter((i) => i.keyword === keyword) ?? [];

/** The COPY instructions of `stage` that take from stage `source`. */
const copiesFrom = (stage: Stage | undefined, source: Stage | undefined) =>
  of(stage, 'COPY').filter((c) => c.from !== undefined && c.from === source?.name);

/** The stage the runtime's node_modules comes from. */
const depsStageOf = (stages: Stage[], runtime: Stage | undefined) => {
  const modules = of(runtime, 'COPY').find((c) => c.args.endsWith(' ./node_modules'));
  return stages.find((s) => s.name !== undefined && modules?.from === s.name);
};

/** `KEY=value KEY2=value2` (the ENV form the Dockerfile uses) → keys. */
const envKeys = (stage: Stage | undefined) =>
  of(stage, 'ENV').flatMap((i) => [...i.args.matchAll(/(\w+)=/g)].map((m) => m[1] ?? ''));

describe('Dockerfile', () => {
  let stages: Stage[];
  let args: Map<string, string>;
  let runtime: Stage | undefined;
  let dockerfile: string;

  beforeAll(async () => {
    dockerfile = await readFile(path.join(packageRoot, 'Dockerfile'), 'utf8');
    ({ stages, args } = parseDockerfile(dockerfile));
    runtime = stages.at(-1);
  });

  it('is multi-stage: the build happens in a stage the runtime image does not contain', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages.find((s) => of(s, 'RUN').some((r) => r.args.includes('npm run build')));
    expect(build, 'no stage runs npm run build').toBeDefined();
    expect(build).not.toBe(runtime);
    expect(of(build, 'RUN').some((r) => /\bnpm ci\b/.test(r.args))).toBe(true);
    // the runtime takes dist/ from the build, but not its node_modules (dev dependencies)
    expect(copiesFrom(runtime, build).map((c) => c.args)).toEqual(['/app/dist ./dist']);
  });

  it('runs on Node 22 (long-term support; 20 is end of life), with production dependencies installed without scripts', () => {
    for (const stage of stages) {
      const image = stage.from.replace(/^\$\{(\w+)\}$/, (_, name: string) => args.get(name) ?? '');
      expect(image, stage.name).toMatch(/^(node:22[-.\w]*|gcr\.io\/distroless\/nodejs22[-\w]*)$/);
    }
    const depsStage = depsStageOf(stages, runtime);
    expect(depsStage, 'node_modules must come from a stage of its own').toBeDefined();
    expect(
      of(depsStage, 'RUN')
        .map((r) => r.args)
        .join('\n'),
    ).toMatch(/npm ci (?=.*--omit=dev)(?=.*--ignore-scripts)/);
  });

  it('ships kafkajs with the patches of patches/ applied', () => {
    const build = stages.find((s) => of(s, 'RUN').some((r) => r.args.includes('npm run build')));
    expect(of(build, 'COPY').map((c) => c.args)).toContain('patches ./patches');
    expect(of(build, 'RUN').some((r) => /npm ci .*&& npx patch-package/.test(r.args))).toBe(true);
    expect(copiesFrom(depsStageOf(stages, runtime), build).map((c) => c.args)).toContain(
      '/app/node_modules/kafkajs ./node_modules/kafkajs',
    );
  });

  it('builds the Kafka client from source, linked against the system libraries it ships', () => {
    const build = stages.find((s) => of(s, 'RUN').some((r) => r.args.includes('npm run build')));
    expect(envKeys(build)).toContain('CKJS_LINKING');
    expect(of(build, 'ENV').map((e) => e.args)).toContain('CKJS_LINKING=dynamic');
    const runs = of(build, 'RUN').map((r) => r.args);
    expect(runs.some((r) => /apt-get install .*libssl-dev.*zlib1g-dev/.test(r))).toBe(true);
    expect(runs.some((r) => r.includes('npm rebuild @confluentinc/kafka-javascript'))).toBe(true);
    expect(copiesFrom(depsStageOf(stages, runtime), build).map((c) => c.args)).toContain(
      '/app/node_modules/@confluentinc/kafka-javascript ./node_modules/@confluentinc/kafka-javascript',
    );
    expect(of(runtime, 'RUN').some((r) => /apt-get install .*libssl3.*zlib1g/.test(r.args))).toBe(
      true,
    );
  });

  it('leaves the tooling (dist/tools: local stack, simulator, demo) out of the image', () => {
    const build = stages.find((s) => of(s, 'RUN').some((r) => r.args.includes('npm run build')));
    const buildRun = of(build, 'RUN').find((r) => r.args.includes('npm run build'));
    expect(buildRun?.args).toMatch(/npm run build && rm -rf dist\/tools$/);
    expect(existsSync(path.join(packageRoot, 'src', 'tools', 'cli', 'commands.ts'))).toBe(true);
  });

  it('copies what the services read at run time: dist, bin, schemas and package.json', () => {
    const targets = of(runtime, 'COPY').map((c) => c.args.split(/\s+/).at(-1));
    for (const target of ['./dist', './bin', './schemas', './node_modules', './'])
      expect(targets).toContain(target);
    expect(of(runtime, 'COPY').map((c) => c.args)).toContain('package.json ./');
  });

  it('runs as a non-root user, set after everything that needs root', () => {
    const instructions = runtime?.instructions ?? [];
    const userAt = instructions.findLastIndex((i) => i.keyword === 'USER');
    expect(userAt, 'the runtime stage sets no USER').toBeGreaterThanOrEqual(0);
    const user = instructions[userAt]?.args.split(':')[0];
    expect(['root', '0', '']).not.toContain(user);
    expect(
      instructions.slice(userAt).filter((i) => i.keyword === 'RUN' || i.keyword === 'COPY'),
    ).toEqual([]);
  });

  it('starts the CLI, by default with `all`, a command it has', () => {
    const [entrypoint] = of(runtime, 'ENTRYPOINT');
    const [cmd] = of(runtime, 'CMD');
    expect(JSON.parse(entrypoint?.args ?? 'null')).toEqual(['node', 'bin/refreshbus.js']);
    expect(existsSync(path.join(packageRoot, 'bin', 'refreshbus.js'))).toBe(true);
    const command = JSON.parse(cmd?.args ?? 'null') as string[];
    expect(command).toEqual(['all']);
    expect(cliCommands()).toContain(command[0]);
  });

  it('sets only environment variables the configuration knows (and NODE_ENV)', () => {
    const keys = envKeys(runtime).filter((k) => k !== 'NODE_ENV');
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(knownSettings, key).toContain(key);
  });

  it('exposes and health-checks every port the services listen on by default', () => {
    const exposed = of(runtime, 'EXPOSE').flatMap((e) => e.args.split(/\s+/));
    const [healthcheck] = of(runtime, 'HEALTHCHECK');
    expect(healthcheck?.args).toMatch(/CMD \["node",/);
    expect(portSettings.length).toBeGreaterThan(0);
    for (const setting of portSettings) {
      const port = String(defaults[setting]);
      expect(exposed, setting).toContain(port);
      expect(healthcheck?.args, setting).toContain(`e.${setting} || ${port}`);
    }
  });

  it('has a .dockerignore that lets in exactly what the Dockerfile copies from the context', async () => {
    const lines = (await readFile(path.join(packageRoot, '.dockerignore'), 'utf8'))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(lines[0]).toBe('*');
    const allowed = new Set(lines.slice(1).map((l) => l.replace(/^!/, '').replace(/\/$/, '')));
    const sources = stages.flatMap((s) =>
      of(s, 'COPY')
        .filter((c) => c.from === undefined)
        .flatMap((c) => c.args.split(/\s+/).slice(0, -1)),
    );
    expect(new Set(sources)).toEqual(allowed);
    for (const source of sources) expect(existsSync(path.join(packageRoot, source))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

interface Service {
  image?: string;
  build?: string | { context: string };
  profiles?: string[];
  command?: string[];
  environment?: Record<string, string | number | boolean>;
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
}

/** Compose's `${NAME:-default}` as a shell without NAME set sees it; any other `$` form is refused. */
function interpolate(value: string | number | boolean): string {
  const text = String(value).replace(/\$\{\w+:-([^}]*)\}/g, (_, fallback: string) => fallback);
  if (text.includes('$')) throw new Error(`"${String(value)}": only \${NAME:-default} is allowed`);
  return text;
}

const APP_SERVICES = ['ingest', 'normalize', 'process'] as const;
/** The port each app service listens on, by its setting. */
const portSettingOf = {
  ingest: 'INGEST_PORT',
  normalize: 'NORMALIZE_OPS_PORT',
  process: 'PROCESS_OPS_PORT',
} as const;
const shutdownSettingOf = {
  ingest: 'INGEST_SHUTDOWN_TIMEOUT_MS',
  normalize: 'NORMALIZE_SHUTDOWN_TIMEOUT_MS',
  process: 'PROCESS_SHUTDOWN_TIMEOUT_MS',
} as const;

describe('docker-compose.yml', () => {
  let services: Record<string, Service>;
  const env = (name: string) =>
    Object.fromEntries(
      Object.entries(services[name]?.environment ?? {}).map(([k, v]) => [k, interpolate(v)]),
    );

  beforeAll(async () => {
    const text = await readFile(path.join(packageRoot, 'docker-compose.yml'), 'utf8');
    services = (parseYaml(text, { merge: true }) as { services: Record<string, Service> }).services;
  });

  it('keeps Kafka and the registry out of profiles, so `up kafka registry` starts only them', () => {
    expect(services.kafka?.profiles).toBeUndefined();
    expect(services.registry?.profiles).toBeUndefined();
    const unprofiled = Object.entries(services).filter(([, s]) => !s.profiles?.length);
    expect(unprofiled.map(([name]) => name).sort()).toEqual(['kafka', 'registry']);
  });

  it.each(APP_SERVICES)(
    '%s runs the CLI command of its name from the Dockerfile, under the app profile',
    (name) => {
      const service = services[name];
      expect(service?.profiles).toEqual(['app']);
      const build = service?.build;
      expect(typeof build === 'string' ? build : build?.context).toBe('.');
      expect(service?.command).toEqual([name]);
      expect(cliCommands()).toContain(name);
      expect(service?.depends_on).toMatchObject({
        kafka: { condition: 'service_healthy' },
        registry: { condition: 'service_healthy' },
      });
    },
  );

  it.each(APP_SERVICES)('%s sets only settings the configuration knows, and they load', (name) => {
    const values = env(name);
    expect(Object.keys(values).length).toBeGreaterThan(0);
    for (const key of Object.keys(values)) expect(knownSettings, key).toContain(key);
    expect(() => loadConfig(values)).not.toThrow();
  });

  it.each(APP_SERVICES)("%s connects to Kafka's INTERNAL listener and the registry", (name) => {
    const config = loadConfig(env(name));
    const advertised = String(services.kafka?.environment?.KAFKA_ADVERTISED_LISTENERS ?? '');
    const internal = /INTERNAL:\/\/([^,]+)/.exec(advertised)?.[1];
    expect(internal).toBeDefined();
    expect(config.KAFKA_BROKERS).toEqual([internal]);
    const registryPort = services.registry?.ports?.[0]?.split(':').at(-1);
    expect(config.SCHEMA_REGISTRY_URL).toBe(
      `http://registry:${registryPort ?? '?'}/apis/ccompat/v7`,
    );
  });

  it('ingest would start: listening beyond loopback, with every route authenticated', () => {
    const config = loadConfig(env('ingest'));
    expect(config.INGEST_HOST).toBe('0.0.0.0');
    const silent = createLogger(
      'silent',
      new Writable({
        write: (_c, _e, done) => {
          done();
        },
      }),
    );
    expect(() => authenticatorsFromConfig(config, silent)).not.toThrow();
    for (const settings of Object.values(config.auth)) expect(settings.modes).not.toContain('none');
  });

  it.each(APP_SERVICES)(
    '%s publishes its port on loopback only and health-checks readiness on that port',
    (name) => {
      const setting = portSettingOf[name];
      expect(knownSettings, setting).toContain(setting);
      const port = String((loadConfig(env(name)) as unknown as Json)[setting]);
      expect(services[name]?.ports).toEqual([`127.0.0.1:${port}:${port}`]);
      expect(services[name]?.healthcheck?.test.join(' ')).toContain(
        `http://127.0.0.1:${port}/readyz`,
      );
    },
  );

  it.each(APP_SERVICES)('%s is given longer to stop than its shutdown timeout', (name) => {
    const grace = /^(\d+)s$/.exec(services[name]?.stop_grace_period ?? '')?.[1];
    const timeoutMs = (loadConfig(env(name)) as unknown as Json)[shutdownSettingOf[name]];
    expect(Number(grace) * 1000).toBeGreaterThan(Number(timeoutMs));
  });
});
