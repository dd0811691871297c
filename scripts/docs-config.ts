// Regenerates the configuration table in docs/configuration.md from the config schema.
import { readFile, writeFile } from 'node:fs/promises';
import { CONFIG_DOC, withConfigTable } from '../src/config/docs.js';

const doc = await readFile(CONFIG_DOC, 'utf8');
await writeFile(CONFIG_DOC, withConfigTable(doc));
console.log(`${CONFIG_DOC} configuration table updated`);
