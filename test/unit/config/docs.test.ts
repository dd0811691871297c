import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/config/config.js';
import { renderConfigTable, withConfigTable } from '../../../src/config/docs.js';

describe('the README configuration table', () => {
  it('is current with the config schema (run `npm run docs:config` after changing it)', async () => {
    const readme = await readFile(path.join(packageRoot, 'README.md'), 'utf8');
    expect(withConfigTable(readme)).toBe(readme);
  });

  it('documents every setting with a description', () => {
    const rows = renderConfigTable()
      .split('\n')
      .filter((l) => l.startsWith('| `'));
    expect(rows.length).toBeGreaterThan(30);
    for (const row of rows) expect(row).not.toMatch(/\|\s*\|$/);
  });
});
