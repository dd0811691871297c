/**
 * The production image leaves the tooling out (the Dockerfile removes dist/tools after the build):
 * the CLI must still start every service and operator command without it, and say plainly that a
 * tooling command is not there. Run on a copy of this checkout's build laid out as the image's
 * /app (no Docker engine is needed); `npm test` builds dist/ first.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/config/config.js';

const run = promisify(execFile);

/** `refreshbus <args>` from `root`: its exit code and output. */
async function cli(root: string, args: string[]) {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [path.join(root, 'bin/refreshbus.js'), ...args],
      {
        cwd: root,
        env: { ...process.env, LOG_LEVEL: 'silent' },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const commandsOf = (help: string) =>
  [...help.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]).filter((c) => c !== 'help');

const SERVICE_AND_OPERATOR_COMMANDS = [
  'ingest',
  'normalize',
  'process',
  'all',
  'topics',
  'schemas',
  'tail',
];
const TOOL_COMMANDS = ['stack', 'demo', 'simulate'];

describe('the production image without the tooling', () => {
  let image: string;

  beforeAll(async () => {
    const dist = path.join(packageRoot, 'dist');
    if (!existsSync(path.join(dist, 'tools', 'cli', 'commands.js')))
      throw new Error('dist/ is not built (or is stale): run `npm run build` first');
    image = await mkdtemp(path.join(tmpdir(), 'refreshbus-image-'));
    for (const part of ['dist', 'bin', 'schemas', 'package.json'])
      await cp(path.join(packageRoot, part), path.join(image, part), { recursive: true });
    await rm(path.join(image, 'dist', 'tools'), { recursive: true }); // as the Dockerfile does
    await symlink(path.join(packageRoot, 'node_modules'), path.join(image, 'node_modules'), 'dir');
  });

  afterAll(async () => {
    await rm(image, { recursive: true, force: true });
  });

  it('offers every service and operator command, and no tooling command', async () => {
    const help = await cli(image, ['--help']);
    expect(help.code, help.stderr).toBe(0);
    const commands = commandsOf(help.stdout);
    for (const command of SERVICE_AND_OPERATOR_COMMANDS) expect(commands).toContain(command);
    for (const command of TOOL_COMMANDS) expect(commands).not.toContain(command);
    for (const command of SERVICE_AND_OPERATOR_COMMANDS) {
      const sub = await cli(image, [command, '--help']);
      expect(sub.code, `${command}: ${sub.stderr}`).toBe(0);
    }
  }, 60_000);

  it('answers a tooling command with an unknown-command error, not a crash', async () => {
    const stack = await cli(image, ['stack', 'up']);
    expect(stack.code).toBe(1);
    expect(stack.stderr).toContain("unknown command 'stack'");
    expect(stack.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|at .*\.js:\d+/);
  }, 30_000);

  it('the checkout itself offers the tooling commands too', async () => {
    const help = await cli(packageRoot, ['--help']);
    expect(help.code, help.stderr).toBe(0);
    const commands = commandsOf(help.stdout);
    for (const command of [...SERVICE_AND_OPERATOR_COMMANDS, ...TOOL_COMMANDS])
      expect(commands).toContain(command);
  }, 30_000);
});
