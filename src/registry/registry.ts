import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type { CommonConfig } from '../config/config.js';
import { schemaTopics, valueSubject } from '../contract/schemas.js';
import type { SchemaName } from '../contract/schemas.js';
import { readSchema } from './schemas.js';

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
    { subject: valueSubject(topic) },
  );
  return id;
}

/** Registers schema `name` for the topic it describes (src/contract/schemas.ts); its id and text. */
export async function registerSchema(
  registry: SchemaRegistry,
  config: CommonConfig,
  name: SchemaName,
): Promise<{ id: number; schema: string }> {
  const schema = await readSchema(name);
  return { id: await registerValueSchema(registry, schemaTopics(config)[name], schema), schema };
}
