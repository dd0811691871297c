import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { StackError } from './errors.js';

const run = promisify(execFile);

/** Versions of the infrastructure the local stack runs; docker-compose.yml pins the same. */
export const KAFKA_VERSION = '3.9.1';
export const APICURIO_VERSION = '3.3.3';
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.6.1';

/** Kafka's POM leaves the logging binding out; without one the broker logs nothing useful. */
function kafkaPom(): string {
  const dep = (g: string, a: string, v: string) =>
    `<dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.refreshbus</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>${KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
    ${dep('org.apache.kafka', 'kafka_2.13', KAFKA_VERSION)}
    ${dep('org.apache.kafka', 'kafka-tools', KAFKA_VERSION)}
    ${dep('org.slf4j', 'slf4j-reload4j', '1.7.36')}
    ${dep('ch.qos.reload4j', 'reload4j', '1.2.25')}
  </dependencies>
</project>
`;
}

async function ensureMaven(): Promise<void> {
  try {
    await run('mvn', ['-v'], { timeout: 30_000 });
  } catch {
    throw new StackError(
      'Maven (mvn) was not found: the local stack downloads Kafka and the schema registry from Maven Central with it. ' +
        'Install it (Debian: apt-get install maven) or set KAFKA_BROKERS and SCHEMA_REGISTRY_URL to use existing infrastructure.',
    );
  }
}

async function mvn(args: string[], what: string): Promise<void> {
  try {
    await run('mvn', ['-B', '-q', ...args], { timeout: 15 * 60_000, maxBuffer: 32 * 1024 * 1024 });
  } catch (err) {
    const out = err as { stdout?: string; stderr?: string };
    const tail = `${out.stdout ?? ''}${out.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new StackError(`downloading ${what} from Maven Central failed:\n${tail}`, { cause: err });
  }
}

/** Where an artifact is unpacked; a `.complete` marker makes a half-finished download retry. */
async function ensureOnce(
  dir: string,
  log: (line: string) => void,
  what: string,
  fetch: () => Promise<void>,
): Promise<string> {
  const marker = path.join(dir, '.complete');
  if (existsSync(marker)) return dir;
  await ensureMaven();
  log(`downloading ${what} (cached in ~/.m2 for next time)…`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await fetch();
  await writeFile(marker, new Date().toISOString());
  return dir;
}

/** Resolves Kafka's jars into `<artifacts>/kafka-<v>/lib`; returns that folder's parent. */
export function ensureKafkaJars(
  artifactsDir: string,
  log: (line: string) => void,
): Promise<string> {
  const dir = path.join(artifactsDir, `kafka-${KAFKA_VERSION}`);
  return ensureOnce(dir, log, `Apache Kafka ${KAFKA_VERSION}`, async () => {
    const pom = path.join(dir, 'pom.xml');
    await writeFile(pom, kafkaPom());
    await mvn(
      [
        '-f',
        pom,
        `${DEPENDENCY_PLUGIN}:copy-dependencies`,
        `-DoutputDirectory=${path.join(dir, 'lib')}`,
        '-DincludeScope=runtime',
      ],
      `Apache Kafka ${KAFKA_VERSION}`,
    );
  });
}

/** Fetches and unpacks the Apicurio Registry Quarkus app; returns the folder holding quarkus-run.jar. */
export function ensureApicurio(artifactsDir: string, log: (line: string) => void): Promise<string> {
  const dir = path.join(artifactsDir, `apicurio-registry-${APICURIO_VERSION}`);
  return ensureOnce(dir, log, `Apicurio Registry ${APICURIO_VERSION}`, async () => {
    await mvn(
      [
        `${DEPENDENCY_PLUGIN}:copy`,
        `-Dartifact=io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`,
        `-DoutputDirectory=${dir}`,
      ],
      `Apicurio Registry ${APICURIO_VERSION}`,
    );
    const tarball = path.join(dir, `apicurio-registry-app-${APICURIO_VERSION}-all.tar.gz`);
    await run('tar', ['-xzf', tarball, '-C', dir]);
    await rm(tarball);
    if (!existsSync(path.join(dir, 'quarkus-run.jar'))) {
      throw new StackError(`the Apicurio archive did not contain quarkus-run.jar (in ${dir})`);
    }
  });
}
