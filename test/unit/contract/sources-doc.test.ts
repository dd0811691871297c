/**
 * The Bud result-code table is published twice for subscribers — `docs/sources.md` (people) and
 * `asyncapi.yaml` (`x-refreshbus-bud-result-codes` on the RefreshEvent message, machines) — and
 * used once, by the mapper (`BUD_RESULT_CODES`). These tests fail when either copy differs from
 * the mapper's table: a code missing or extra, or another action, finality or meaning.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { packageRoot } from '../../../src/config/config.js';
import { BUD_RESULT_CODES, UNKNOWN_BUD_CODE } from '../../../src/normalize/mappers/bud-codes.js';
import type { BudCode } from '../../../src/normalize/mappers/bud-codes.js';

/** One row of a published table, in the mapper's terms. */
interface Row {
  readonly action: string;
  readonly final: boolean;
  readonly meaning: string;
}

/** The row key of the "any other code" line (not a code: codes are lower-case words). */
const UNKNOWN = 'any other code';

const asRow = (c: BudCode): Row => ({ action: c.action, final: c.final, meaning: c.meaning });
const expected = Object.fromEntries(
  Object.entries(BUD_RESULT_CODES).map(([code, c]) => [code, asRow(c)]),
);

/**
 * The rows of the table under `## Bud result codes`: `| \`code\` | \`ACTION\` | final or
 * temporary | meaning |`, and the `any other code` row. Throws on a row it cannot read, so a
 * malformed row fails loudly instead of vanishing from the comparison.
 */
function docTable(markdown: string): Record<string, Row> {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Bud result codes\n'));
  if (section === undefined)
    throw new Error('docs/sources.md has no "## Bud result codes" section');
  const lines = section.split('\n').filter((l) => l.startsWith('|'));
  const rows: Record<string, Row> = {};
  // the header and the separator line come first
  for (const line of lines.slice(2)) {
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    const [codeCell = '', actionCell = '', finalCell = '', meaning = ''] = cells;
    const code = codeCell === UNKNOWN ? UNKNOWN : /^`([^`]+)`$/.exec(codeCell)?.[1];
    const action = /^`([A-Z_]+)`$/.exec(actionCell)?.[1];
    if (cells.length !== 4 || !code || !action || !['final', 'temporary'].includes(finalCell))
      throw new Error(`cannot read the result-code row: ${line}`);
    if (Object.hasOwn(rows, code)) throw new Error(`code ${code} is listed twice`);
    rows[code] = { action, final: finalCell === 'final', meaning };
  }
  return rows;
}

interface AsyncApiCodes {
  unknown?: { action_required?: string; final?: boolean; meaning?: string };
  codes?: Record<string, { action_required?: string; final?: boolean; meaning?: string }>;
}

function asyncApiCodes(text: string): AsyncApiCodes | undefined {
  const doc = parseYaml(text) as {
    components?: { messages?: Record<string, Record<string, unknown>> };
  };
  return doc.components?.messages?.RefreshEvent?.['x-refreshbus-bud-result-codes'] as
    AsyncApiCodes | undefined;
}

const fromAsyncApi = (e: { action_required?: string; final?: boolean; meaning?: string }) => ({
  action: e.action_required,
  final: e.final,
  meaning: e.meaning,
});

let markdown: string;
let asyncapi: string;

beforeAll(async () => {
  markdown = await readFile(path.join(packageRoot, 'docs/sources.md'), 'utf8');
  asyncapi = await readFile(path.join(packageRoot, 'asyncapi.yaml'), 'utf8');
});

describe('docs/sources.md', () => {
  it('lists every code of BUD_RESULT_CODES, and no other, with its action, final or temporary, and meaning', () => {
    const codes = docTable(markdown);
    Reflect.deleteProperty(codes, UNKNOWN);
    expect(Object.keys(codes).sort()).toEqual(Object.keys(BUD_RESULT_CODES).sort());
    expect(codes).toEqual(expected);
  });

  it('says what an unknown code becomes: the action and the temporary nature of UNKNOWN_BUD_CODE', () => {
    expect(docTable(markdown)[UNKNOWN]).toEqual(asRow(UNKNOWN_BUD_CODE));
  });

  it('is read for real: a row with another action, a missing row or an unreadable row is noticed', () => {
    const [code, entry] = Object.entries(BUD_RESULT_CODES)[1] ?? [];
    if (!code || !entry) throw new Error('BUD_RESULT_CODES has fewer than two codes');
    const row = markdown.split('\n').find((l) => l.startsWith(`| \`${code}\` `));
    if (!row) throw new Error(`no row for ${code}`);
    const changed = row.replace(`\`${entry.action}\``, '`UNSUPPORTED_OR_OTHER`');
    expect(docTable(markdown.replace(row, changed))[code]?.action).toBe('UNSUPPORTED_OR_OTHER');
    expect(docTable(markdown.replace(`${row}\n`, ''))).not.toHaveProperty(code);
    expect(() => docTable(markdown.replace(row, `| ${code} | oops |`))).toThrow(/cannot read/);
  });

  it('is linked from the README, where subscribers read the outputs', async () => {
    const readme = await readFile(path.join(packageRoot, 'README.md'), 'utf8');
    expect(readme.includes('(docs/sources.md)'), 'README.md has no link to docs/sources.md').toBe(
      true,
    );
  });
});

describe('asyncapi.yaml', () => {
  it('publishes every code of BUD_RESULT_CODES for subscribers, and no other, with its action, finality and meaning', () => {
    const published = asyncApiCodes(asyncapi)?.codes ?? {};
    for (const code of Object.keys(BUD_RESULT_CODES))
      expect(Object.keys(published), `asyncapi.yaml lacks ${code}`).toContain(code);
    expect(Object.keys(published).sort()).toEqual(Object.keys(BUD_RESULT_CODES).sort());
    expect(
      Object.fromEntries(Object.entries(published).map(([c, e]) => [c, fromAsyncApi(e)])),
    ).toEqual(expected);
  });

  it('says what an unknown code becomes, as UNKNOWN_BUD_CODE does', () => {
    const unknown = asyncApiCodes(asyncapi)?.unknown;
    expect(unknown && fromAsyncApi(unknown)).toEqual(asRow(UNKNOWN_BUD_CODE));
  });
});
