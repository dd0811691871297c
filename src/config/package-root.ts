import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (where package.json lives), whether running from `src/` or `dist/`. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
