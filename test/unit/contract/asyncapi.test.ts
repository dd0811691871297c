import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import type { AsyncAPIDocumentInterface, Diagnostic, MessageInterface } from '@asyncapi/parser';
import type { KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, packageRoot } from '../../../src/config/config.js';
import { HTTP_ERROR_STATUS } from '../../../src/contract/http.js';
import { HttpError } from '../../../src/ingest/errors.js';
import type { IngestErrorCode } from '../../../src/ingest/errors.js';
import { changelogTopics, topicDefinitions } from '../../../src/kafka/topics.js';
import { DLQ_HEADERS, deadLetter } from '../../../src/normalize/dlq.js';
import { buildTestApp } from '../../support/ingest-app.js';
import type { TestApp } from '../../support/ingest-app.js';

const documentPath = path.join(packageRoot, 'asyncapi.yaml');
const AVRO = 'application/vnd.apache.avro;version=1.9.0';

type Json = Record<string, unknown>;

function newParser(): Parser {
  const parser = new Parser();
  // without it the Avro payloads are carried unchecked; with it a broken .avsc is an error
  parser.registerSchemaParser(AvroSchemaParser());
  return parser;
}

async function parse(text: string): Promise<{
  document: AsyncAPIDocumentInterface | undefined;
  diagnostics: Diagnostic[];
}> {
  return newParser().parse(text, { source: documentPath });
}

/** Diagnostics at `worst` or more severe (Error 0 < Warning 1 < Information 2 < Hint 3). */
const problems = (diagnostics: Diagnostic[], worst: number) =>
  diagnostics
    .filter((d) => (d.severity as number) <= worst)
    .map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`);

/** Every property name of an object schema, following allOf; `required` likewise. */
function schemaNames(schema: Json | undefined): { properties: string[]; required: string[] } {
  const properties = Object.keys((schema?.properties as Json | undefined) ?? {});
  const required = [...((schema?.required as string[] | undefined) ?? [])];
  for (const part of (schema?.allOf as Json[] | undefined) ?? []) {
    const inner = schemaNames(part);
    properties.push(...inner.properties);
    required.push(...inner.required);
  }
  return { properties, required };
}

const kafkaBinding = (binding: { value(): unknown } | undefined) =>
  (binding?.value() ?? {}) as Json;

let document: AsyncAPIDocumentInterface;
let diagnostics: Diagnostic[];
let text: string;

beforeAll(async () => {
  text = await readFile(documentPath, 'utf8');
  const parsed = await parse(text);
  diagnostics = parsed.diagnostics;
  if (!parsed.document) throw new Error(problems(diagnostics, DiagnosticSeverity.Error).join('\n'));
  document = parsed.document;
}, 60_000);

const kafkaChannels = () =>
  document
    .channels()
    .all()
    .filter((c) =>
      c
        .servers()
        .all()
        .some((s) => s.protocol() === 'kafka'),
    );
const httpChannels = () =>
  document
    .channels()
    .all()
    .filter((c) =>
      c
        .servers()
        .all()
        .some((s) => s.protocol() === 'http'),
    );

describe('asyncapi.yaml', () => {
  it('is a valid AsyncAPI 3.0.0 document: no error or warning from the parser', () => {
    expect(document.version()).toBe('3.0.0');
    expect(problems(diagnostics, DiagnosticSeverity.Warning)).toEqual([]);
  });

  // parsing takes a second or more on a busy 2-core machine
  it(
    'is checked for real: a broken binding and a broken Avro schema are errors',
    { timeout: 60_000 },
    async () => {
      const badBinding = await parse(text.replace('partitions: 6', 'partitions: 0'));
      expect(problems(badBinding.diagnostics, DiagnosticSeverity.Error).join('\n')).toMatch(
        /partitions/,
      );
      const badAvro = await parse(
        [
          'asyncapi: 3.0.0',
          'info: { title: t, version: 0.0.1 }',
          'components:',
          '  messages:',
          '    M:',
          '      payload:',
          `        schemaFormat: '${AVRO}'`,
          '        schema: { type: record, name: M, fields: [{ name: a, type: no-such-type }] }',
        ].join('\n'),
      );
      expect(problems(badAvro.diagnostics, DiagnosticSeverity.Error)).not.toEqual([]);
    },
  );

  describe('Kafka topics', () => {
    const topics = topicDefinitions(loadConfig({}));

    it('has a channel for every topic refreshbus creates, with its partitions, replicas and settings', () => {
      for (const topic of topics) {
        const channel = kafkaChannels().find((c) => c.address() === topic.topic);
        expect(channel, `no channel for ${topic.topic}`).toBeDefined();
        const binding = kafkaBinding(channel?.bindings().get('kafka'));
        expect(binding.partitions, topic.topic).toBe(topic.numPartitions);
        expect(binding.replicas, topic.topic).toBe(topic.replicationFactor);
        const documented = (binding.topicConfiguration ?? {}) as Json;
        const expected = Object.fromEntries(
          (topic.configEntries ?? []).map(({ name, value }) => [
            name,
            name === 'cleanup.policy' ? value.split(',') : Number(value),
          ]),
        );
        expect(documented, topic.topic).toEqual(expected);
      }
    });

    it('documents no Kafka topic that refreshbus does not create', () => {
      const names = new Set(topics.map((t) => t.topic));
      for (const channel of kafkaChannels()) expect(names).toContain(channel.address());
    });

    it('names, for each topic, the setting that renames it', () => {
      for (const channel of kafkaChannels()) {
        const setting = channel.extensions().get('x-refreshbus-config')?.value<string>();
        expect(setting, `${channel.id()} has no x-refreshbus-config`).toBeDefined();
        const renamed = topicDefinitions(loadConfig({ [setting ?? '']: 'renamed' })).map(
          (t) => t.topic,
        );
        expect(
          renamed,
          `${setting ?? ''} does not rename ${channel.address() ?? ''}`,
        ).not.toContain(channel.address());
      }
    });

    it('marks the processor changelogs, and only them, internal', () => {
      const internal = kafkaChannels()
        .filter((c) =>
          (c.json<Json>().tags as { name: string }[] | undefined)?.some(
            (t) => t.name === 'internal',
          ),
        )
        .map((c) => c.address());
      // compacted is not internal: the connections topic is compacted, and public
      expect(internal.sort()).toEqual(changelogTopics(loadConfig({})).sort());
    });

    it('keys every record by a string, and customer topics by customer_id', () => {
      const keyedByIngestOrCustomer = new Set(['RawWebhook', 'DeadLetter']);
      // the connections topic: `<source>:<connection_id>`
      const keyedByConnection = new Set(['ConnectionRegistered', 'ConnectionDeleted']);
      for (const channel of kafkaChannels()) {
        for (const message of channel.messages().all()) {
          const key = kafkaBinding(message.bindings().get('kafka')).key as Json | undefined;
          expect(key?.type, `${message.id()} key`).toBe('string');
          if (keyedByConnection.has(message.name() ?? '')) {
            expect(key?.['x-parser-schema-id'], `${message.id()} key`).toBe('ConnectionKey');
          } else if (!keyedByIngestOrCustomer.has(message.name() ?? '')) {
            expect(key?.['x-parser-schema-id'], `${message.id()} key`).toBe('CustomerIdKey');
          }
        }
      }
    });

    it('has send operations for every topic and a subscriber operation for each public output', () => {
      const sent = document
        .operations()
        .filterBySend()
        .flatMap((op) =>
          op
            .channels()
            .all()
            .map((c) => c.address()),
        );
      for (const topic of topics) expect(sent).toContain(topic.topic);
      const forSubscribers = document
        .operations()
        .filterBySend()
        .filter((op) =>
          op
            .tags()
            .all()
            .some((t) => t.name() === 'subscribers'),
        )
        .flatMap((op) =>
          op
            .channels()
            .all()
            .map((c) => c.address()),
        );
      const config = loadConfig({});
      expect(forSubscribers.sort()).toEqual(
        [
          config.TOPIC_REFRESH_EVENTS,
          config.TOPIC_CUSTOMER_COMPLETED,
          config.TOPIC_CUSTOMER_NEW_TRANSACTIONS,
          config.TOPIC_CUSTOMER_ALERTS,
        ].sort(),
      );
    });
  });

  describe('Avro schemas', () => {
    it('links every schemas/*.avsc from a message as an Avro payload, by $ref', async () => {
      const files = (await readdir(path.join(packageRoot, 'schemas'))).filter((f) =>
        f.endsWith('.avsc'),
      );
      expect(files.length).toBeGreaterThan(0);
      const avroMessages = document
        .allMessages()
        .all()
        .filter((m) => m.schemaFormat() === AVRO);
      for (const file of files) {
        expect(text, `${file} is not referenced`).toContain(`$ref: ./schemas/${file}`);
        const schema = JSON.parse(
          await readFile(path.join(packageRoot, 'schemas', file), 'utf8'),
        ) as Json;
        const linked = avroMessages.filter((m) => originalPayload(m)?.name === schema.name);
        expect(linked.length, `no message carries ${file}`).toBeGreaterThan(0);
        for (const m of linked) expect(originalPayload(m)).toEqual(schema);
      }
    });

    it('says where the schema id is: in the payload, Confluent wire format, TopicNameStrategy', () => {
      for (const m of document
        .allMessages()
        .all()
        .filter((x) => x.schemaFormat() === AVRO)) {
        expect(kafkaBinding(m.bindings().get('kafka')), m.id()).toMatchObject({
          schemaIdLocation: 'payload',
          schemaIdPayloadEncoding: 'confluent',
          schemaLookupStrategy: 'TopicNameStrategy',
        });
      }
    });
  });

  describe('headers', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await buildTestApp();
    });
    afterAll(async () => {
      await app.app.close();
    });

    const headersOf = (name: string) =>
      schemaNames(
        document
          .allMessages()
          .all()
          .find((m) => m.name() === name)
          ?.headers()
          ?.json<Json>(),
      );

    it('lists every header the ingest sets on a raw record, all required', async () => {
      const res = await app.app.inject({
        method: 'POST',
        url: '/webhooks/bud',
        headers: { 'content-type': 'application/json' },
        payload: { data: { customer_id: 'c-1' } },
      });
      expect(res.statusCode).toBe(200);
      const written = Object.keys(app.published.at(-1)?.headers ?? {}).sort();
      expect(written.length).toBeGreaterThan(0);
      const documented = headersOf('RawWebhook');
      expect(documented.required.sort()).toEqual(written);
      for (const name of written) expect(documented.properties).toContain(name);
    });

    it('lists every header the ingest sets on a RefreshRequested record', async () => {
      const res = await app.app.inject({
        method: 'POST',
        url: '/refresh-requests',
        headers: { 'content-type': 'application/json' },
        payload: { customer_id: 'c-1', task_ids: ['t-1'] },
      });
      expect(res.statusCode).toBe(200);
      const written = Object.keys(app.published.at(-1)?.headers ?? {});
      expect(headersOf('RefreshRequested').properties.sort()).toEqual(written.sort());
    });

    it('lists every header of a dead letter: the raw ones plus the error headers, required', () => {
      const input: KafkaMessage = {
        key: Buffer.from('c-1'),
        value: Buffer.from('{}'),
        timestamp: '0',
        attributes: 0,
        offset: '42',
        headers: Object.fromEntries(headersOf('RawWebhook').required.map((h) => [h, 'x'])),
      };
      const letter = deadLetter(
        input,
        { topic: 'raw', partition: 3 },
        { code: 'UNKNOWN_SHAPE', message: 'no mapper' },
      );
      const documented = headersOf('DeadLetter');
      for (const name of Object.keys(letter.headers ?? {}))
        expect(documented.properties).toContain(name);
      for (const name of DLQ_HEADERS) expect(documented.required).toContain(name);
    });
  });

  describe('HTTP ingest', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await buildTestApp();
    });
    afterAll(async () => {
      await app.app.close();
    });

    /**
     * The app's API routes — those GET is not allowed on (405, with the methods that are in
     * `Allow`) — with those methods; a path parameter `:name` written `{name}`, as AsyncAPI does.
     */
    async function apiRoutes(): Promise<Map<string, string[]>> {
      const paths = [
        ...app.app.printRoutes({ commonPrefix: false }).matchAll(/── (\/\S*) \(/g),
      ].flatMap((m) => (m[1] ? [m[1]] : []));
      expect(paths.length).toBeGreaterThan(0);
      const routes = new Map<string, string[]>();
      for (const url of paths) {
        const res = await app.app.inject({ method: 'GET', url });
        const allow = res.headers.allow;
        if (res.statusCode === 405 && typeof allow === 'string')
          routes.set(url.replace(/:(\w+)/g, '{$1}'), allow.split(/,\s*/).sort());
      }
      return routes;
    }

    it('documents every route of the ingest app, as one receive operation per method', async () => {
      const routes = await apiRoutes();
      expect(Object.fromEntries(routes)).toMatchObject({
        '/webhooks/bud': ['POST'],
        '/webhooks/yodlee': ['POST'],
        '/webhooks/plaid': ['POST'],
        '/refresh-requests': ['POST'],
        '/connections/{source}/{connection_id}': ['DELETE', 'PUT'],
      });
      const documented = httpChannels()
        .map((c) => c.address())
        .filter((a): a is string => a !== null);
      expect(documented.sort()).toEqual([...routes.keys()].sort());
      for (const [route, methods] of routes) {
        const ops = document
          .operations()
          .filterByReceive()
          .filter((op) =>
            op
              .channels()
              .all()
              .some((c) => c.address() === route),
          );
        const documentedMethods = ops.map(
          (op) => kafkaBinding(op.bindings().get('http')).method as string,
        );
        expect(documentedMethods.sort(), route).toEqual(methods);
        for (const op of ops) {
          expect(op.reply()?.messages().all().length, `${op.id()} has no answers`).toBeGreaterThan(
            0,
          );
        }
      }
    });

    it("answers as the code does: every error code, each example's code with its binding's status", () => {
      const answers = new Map<string, MessageInterface>();
      for (const op of document.operations().filterByReceive()) {
        for (const m of op.reply()?.messages().all() ?? []) answers.set(m.id(), m);
      }
      const codes: string[] = [];
      for (const m of answers.values()) {
        const status = kafkaBinding(m.bindings().get('http')).statusCode as number | undefined;
        expect(status, `${m.id()} has no statusCode`).toBeDefined();
        const example = m.examples().all()[0]?.payload() as Json | undefined;
        expect(example, `${m.id()} has no example`).toBeDefined();
        if (status === 200) {
          // webhooks and refresh requests; connection registrations and deletions
          expect(['accepted', 'registered', 'deleted']).toContain(example?.status);
          continue;
        }
        const code = (example?.error as Json | undefined)?.code as IngestErrorCode;
        expect(new HttpError(code, '').status, code).toBe(status);
        codes.push(code);
      }
      // every code the ingest can answer (the contract's HTTP_ERROR_STATUS), but that of other
      // methods (NOT_FOUND is answered by the connections route, for a source it does not serve):
      // a code added to src/contract/http.ts without this document fails here
      const all = Object.keys(HTTP_ERROR_STATUS);
      expect(all.length).toBeGreaterThan(0);
      expect(codes.sort()).toEqual(all.filter((c) => c !== 'METHOD_NOT_ALLOWED').sort());
      const unavailable = [...answers.values()].find((m) => m.id() === 'unavailable');
      expect(schemaNames(unavailable?.headers()?.json() as Json).required).toEqual(['retry-after']);
    });
  });
});

function originalPayload(m: MessageInterface): Json | undefined {
  const payload = m.json<Json>().payload as Json | undefined;
  return payload?.['x-parser-original-payload'] as Json | undefined;
}
