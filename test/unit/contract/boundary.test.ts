/**
 * Issue 18: the runtime (services and their core) never imports the tooling. The rule lives in
 * eslint.config.js (`npm run lint` fails on a crossing); this test shows that it does, on planted
 * imports. The repository itself is checked by `npm run lint` (part of `npm test`).
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/config/config.js';

const eslint = new ESLint({ cwd: packageRoot });

/**
 * The boundary rule's messages for `code` written at `file` (repo-relative) for the time of the
 * lint: the typed lint reads files of the TypeScript project, not text alone.
 */
async function crossings(
  file: string,
  code: string,
  rule = 'no-restricted-imports',
): Promise<string[]> {
  const filePath = path.join(packageRoot, file);
  await writeFile(filePath, code);
  try {
    const [result] = await eslint.lintFiles([filePath]);
    const fatal = result?.messages.find((m) => m.fatal);
    if (fatal) throw new Error(`${file} could not be linted: ${fatal.message}`);
    return (result?.messages ?? []).filter((m) => m.ruleId === rule).map((m) => m.message);
  } finally {
    await rm(filePath, { force: true });
  }
}

describe('the runtime/tooling boundary', () => {
  it('fails on a service importing the local stack, and on the Kafka core importing the operator commands', async () => {
    expect(
      await crossings(
        'src/normalize/planted-boundary.ts',
        "import type { Endpoints } from '../tools/stack/local-stack.js';\nexport type E = Endpoints;\n",
      ),
    ).toEqual([
      expect.stringContaining('must not import the CLI, the operator commands or src/tools'),
    ]);
    expect(
      await crossings(
        'src/kafka/planted-boundary.ts',
        "import { OperatorError } from '../ops/errors.js';\nexport const e = new OperatorError('x');\n",
      ),
    ).toHaveLength(1);
  }, 60_000); // a typed lint builds a TypeScript program first

  it('fails on the CLI or an operator command importing src/tools, which the production image leaves out', async () => {
    expect(
      await crossings(
        'src/ops/planted-boundary.ts',
        "import { StackError } from '../tools/stack/errors.js';\nexport const e = new StackError('x');\n",
      ),
    ).toEqual([expect.stringContaining('the production image')]);
    expect(
      await crossings(
        'src/cli/planted-boundary.ts',
        "import { planDay } from '../tools/simulate/day.js';\nexport const p = planDay;\n",
      ),
    ).toHaveLength(1);
  }, 60_000);

  it('lets the tooling import the runtime and the CLI, and the runtime import its own core', async () => {
    expect(
      await crossings(
        'src/tools/cli/planted-boundary.ts',
        "import type { Endpoints } from '../../config/endpoints.js';\nimport { startAll } from '../../cli/all.js';\nexport type E = Endpoints;\nexport const s = startAll;\n",
      ),
    ).toEqual([]);
    expect(
      await crossings(
        'src/cli/planted-boundary.ts',
        "import type { Endpoints } from '../config/endpoints.js';\nexport type E = Endpoints;\n",
      ),
    ).toEqual([]);
    expect(
      await crossings(
        'src/processors/planted-boundary.ts',
        "import { SetupError } from '../lib/errors.js';\nexport const e = new SetupError('x');\n",
      ),
    ).toEqual([]);
  }, 60_000);
});

describe('the size rules', () => {
  it('fail on a file in src/ over 400 lines and on a function over 80, not at the limits', async () => {
    const fn = (name: string, lines: number) =>
      `export function ${name}(): number {\n${'  void 0;\n'.repeat(lines - 3)}  return 1;\n}\n`;
    expect(
      await crossings('src/lib/planted-size.ts', fn('f', 81), 'max-lines-per-function'),
    ).toEqual([expect.stringContaining('too many lines (81)')]);
    expect(
      await crossings('src/lib/planted-size.ts', fn('f', 80), 'max-lines-per-function'),
    ).toEqual([]);
    const file = (lines: number) => fn('a', 60) + '// line\n'.repeat(lines - 60);
    expect(await crossings('src/lib/planted-size.ts', file(401), 'max-lines')).toEqual([
      expect.stringContaining('too many lines (401)'),
    ]);
    expect(await crossings('src/lib/planted-size.ts', file(400), 'max-lines')).toEqual([]);
  }, 60_000);
});
