// Regenerates the configuration table in README.md from the config schema.
import { readFile, writeFile } from 'node:fs/promises';
import { withConfigTable } from '../src/config/docs.js';

const readme = await readFile('README.md', 'utf8');
await writeFile('README.md', withConfigTable(readme));
console.log('README.md configuration table updated');
