import { describe, expect, it } from 'vitest';
import { readSchema } from '../../../src/registry/schemas.js';

describe('the Avro schemas', () => {
  it('documents every field of every schema', async () => {
    for (const name of [
      'RefreshEvent',
      'RefreshRequested',
      'CustomerRefreshCompleted',
      'NewTransactionsAvailable',
      'ReconnectAlert',
    ] as const) {
      const walk = (node: unknown): void => {
        if (Array.isArray(node)) node.forEach(walk);
        else if (typeof node === 'object' && node !== null) {
          const rec = node as {
            type?: unknown;
            fields?: { name: string; doc?: string; type: unknown }[];
            namespace?: string;
          };
          if (rec.type === 'record') {
            for (const f of rec.fields ?? []) {
              expect(f.doc, `${name}.${f.name} has a doc`).toBeTruthy();
              walk(f.type);
            }
          } else if (typeof rec.type === 'object') walk(rec.type);
        }
      };
      const parsed = JSON.parse(await readSchema(name)) as { namespace?: string };
      expect(parsed.namespace).toBe('io.refreshbus.v1');
      walk(parsed);
    }
  });
});
