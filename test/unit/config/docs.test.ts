import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/config/config.js';
import { CONFIG_DOC, renderConfigTable, withConfigTable } from '../../../src/config/docs.js';

describe('the configuration table in docs/configuration.md', () => {
  it('is current with the config schema (run `npm run docs:config` after changing it)', async () => {
    const doc = await readFile(path.join(packageRoot, CONFIG_DOC), 'utf8');
    expect(withConfigTable(doc)).toBe(doc);
  });

  it('documents every setting with a description', () => {
    const rows = renderConfigTable()
      .split('\n')
      .filter((l) => l.startsWith('| `'));
    expect(rows.length).toBeGreaterThan(30);
    for (const row of rows) expect(row).not.toMatch(/\|\s*\|$/);
  });
});
