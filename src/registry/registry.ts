import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';

/** A Confluent-compatible registry client (for Apicurio, `url` ends in `/apis/ccompat/v7`). */
export function createRegistry(url: string): SchemaRegistry {
  return new SchemaRegistry({ host: url });
}

/** Registers an Avro schema under `<topic>-value` (TopicNameStrategy) and returns its id. */
export async function registerValueSchema(
  registry: SchemaRegistry,
  topic: string,
  schema: object | string,
): Promise<number> {
  const { id } = await registry.register(
    { type: SchemaType.AVRO, schema: typeof schema === 'string' ? schema : JSON.stringify(schema) },
    { subject: `${topic}-value` },
  );
  return id;
}
