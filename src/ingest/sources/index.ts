import { bud } from './bud/index.js';
import { plaid } from './plaid/index.js';
import type { SourceDefinition } from './types.js';
import { yodlee } from './yodlee/index.js';

/** Every webhook sender the ingest serves. */
export const sources: readonly SourceDefinition[] = [bud, yodlee, plaid];
