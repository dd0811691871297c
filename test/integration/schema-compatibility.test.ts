import { describe, expect, it } from 'vitest';
import { registerValueSchema } from '../../src/registry/registry.js';
import { readSchema } from '../../src/registry/schemas.js';
import type { SchemaName } from '../../src/registry/schemas.js';
import { registryUrl, testRegistry, uniqueName } from './support/kafka.js';

interface AvroRecord {
  fields: { name: string; type: unknown; default?: unknown; doc?: string }[];
}

async function subjectConfig(subject: string): Promise<unknown> {
  const res = await fetch(`${registryUrl()}/config/${encodeURIComponent(subject)}`);
  return res.json();
}

describe('schema evolution in the real registry', () => {
  it.each<SchemaName>([
    'RefreshEvent',
    'RefreshRequested',
    'CustomerRefreshCompleted',
    'NewTransactionsAvailable',
    'ReconnectAlert',
  ])(
    '%s registers under <topic>-value with BACKWARD compatibility and refuses an incompatible change',
    async (name) => {
      const registry = testRegistry();
      const topic = uniqueName(name.toLowerCase());
      const schema = await readSchema(name);
      const id = await registerValueSchema(registry, topic, schema);
      expect(id).toBeGreaterThan(0);
      expect(await subjectConfig(`${topic}-value`)).toMatchObject({
        compatibilityLevel: 'BACKWARD',
      });

      // compatible: a new optional field with a default
      const compatible = JSON.parse(schema) as AvroRecord;
      compatible.fields.push({
        name: 'added_later',
        type: ['null', 'string'],
        default: null,
        doc: 'new',
      });
      const newId = await registerValueSchema(registry, topic, compatible);
      expect(newId).not.toBe(id);

      // incompatible: a new required field without a default cannot read old records
      const incompatible = JSON.parse(schema) as AvroRecord;
      incompatible.fields.push({ name: 'required_now', type: 'string', doc: 'breaks old data' });
      await expect(registerValueSchema(registry, topic, incompatible)).rejects.toThrow(
        /incompatible|409|compatib/i,
      );
    },
  );
});
