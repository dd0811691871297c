import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from '../config/config.js';

import type { SchemaName } from '../contract/schemas.js';

export type { SchemaName };

/** Reads `schemas/<name>.avsc` as text (registered as-is, so the registry stores the docs too). */
export function readSchema(name: SchemaName): Promise<string> {
  return readFile(path.join(packageRoot, 'schemas', `${name}.avsc`), 'utf8');
}
