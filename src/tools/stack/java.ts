import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { StackError } from './errors.js';

const run = promisify(execFile);

/** A Java runtime found on this machine. */
export interface JavaRuntime {
  readonly bin: string;
  readonly major: number;
}

/** Parses the major version out of `java -version` output (`"17.0.15"`, `"25"`, `"1.8.0_392"`). */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match?.[1]) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] ? Number(match[2]) : first;
}

async function probe(bin: string): Promise<JavaRuntime | undefined> {
  try {
    const { stdout, stderr } = await run(bin, ['-version'], { timeout: 15_000 });
    const major = parseJavaMajor(stderr + stdout);
    return major === undefined ? undefined : { bin, major };
  } catch {
    return undefined;
  }
}

function candidates(preferredHome: string | undefined, javaHome: string | undefined): string[] {
  const list: string[] = [];
  for (const home of [preferredHome, javaHome]) {
    if (home) list.push(path.join(home, 'bin', 'java'));
  }
  list.push('java');
  for (const root of ['/usr/lib/jvm', '/opt/java', '/usr/local/lib/jvm']) {
    if (!existsSync(root)) continue;
    for (const entry of readdirSync(root).sort().reverse()) {
      const bin = path.join(root, entry, 'bin', 'java');
      if (existsSync(bin)) list.push(bin);
    }
  }
  return [...new Set(list)];
}

/**
 * Finds a Java runtime of at least `minMajor`, searching `preferredHome`, `JAVA_HOME`, `PATH` and
 * the usual JDK folders, in that order.
 */
export async function findJava(
  minMajor: number,
  purpose: string,
  homes: { preferred?: string | undefined; javaHome?: string | undefined },
): Promise<JavaRuntime> {
  const seen: string[] = [];
  for (const bin of candidates(homes.preferred, homes.javaHome)) {
    const runtime = await probe(bin);
    if (!runtime) continue;
    seen.push(`${bin} (Java ${runtime.major})`);
    if (runtime.major >= minMajor) return runtime;
  }
  throw new StackError(
    `${purpose} needs Java ${minMajor} or newer, but ${
      seen.length ? `only found: ${seen.join(', ')}` : 'no java was found'
    }. Install a JDK ${minMajor}+ (Debian: apt-get install openjdk-${Math.max(minMajor, 17)}-jre-headless, or Temurin) ` +
      'and/or point REFRESHBUS_JAVA_HOME at it.',
  );
}
