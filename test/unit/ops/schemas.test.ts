import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, packageRoot } from '../../../src/config/config.js';
import { OperatorError } from '../../../src/ops/errors.js';
import type { RegistryApi } from '../../../src/ops/registry-api.js';
import { RegistryError } from '../../../src/ops/registry-api.js';
import {
  backwardProblem,
  checkPasses,
  checkSchemas,
  formatCheckReports,
  formatRegisterReports,
  parseAvsc,
  readSchemaFiles,
  registerSchemas,
  schemaTopics,
} from '../../../src/ops/schemas.js';

const config = loadConfig({});
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'refreshbus-schemas-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

const v1 = JSON.stringify({
  type: 'record',
  name: 'RefreshRequested',
  fields: [{ name: 'a', type: 'string' }],
});
const withDefault = JSON.stringify({
  type: 'record',
  name: 'RefreshRequested',
  fields: [
    { name: 'a', type: 'string' },
    { name: 'b', type: ['null', 'string'], default: null },
  ],
});
const required = JSON.stringify({
  type: 'record',
  name: 'RefreshRequested',
  fields: [
    { name: 'a', type: 'string' },
    { name: 'b', type: 'string' },
  ],
});

/** A registry holding one subject at v1, at a given level; records what it was asked. */
function fakeRegistry(state: {
  level?: string;
  global?: string;
  latest?: string;
  compatible?: boolean;
  messages?: string[];
}) {
  const calls: string[] = [];
  const api = {
    url: 'http://registry',
    latest: (s: string) => {
      calls.push(`latest ${s}`);
      return Promise.resolve(
        state.latest === undefined ? undefined : { id: 1, version: 1, schema: state.latest },
      );
    },
    subjectCompatibility: () => Promise.resolve(state.level),
    globalCompatibility: () => Promise.resolve(state.global ?? 'NONE'),
    setCompatibility: (s: string, level: string) => {
      calls.push(`set ${s} ${level}`);
      state.level = level;
      return Promise.resolve();
    },
    lookup: (_s: string, schema: string) =>
      Promise.resolve(schema === state.latest ? { id: 1, version: 1 } : undefined),
    register: (s: string, schema: string) => {
      calls.push(`register ${s}`);
      if (state.latest !== undefined && schema === required)
        return Promise.reject(
          new RegistryError(409, 409, `registering ${s}: Incompatible artifact`),
        );
      state.latest = schema;
      return Promise.resolve(2);
    },
    testCompatibility: () =>
      Promise.resolve({ compatible: state.compatible ?? true, messages: state.messages ?? [] }),
    apicurioDryRunReasons: () => Promise.resolve(['Incompatible artifact: [b at /fields/1]']),
  };
  return { api: api as unknown as RegistryApi, calls };
}

describe('local schema files', () => {
  it('are the project schemas, each named after its subject (<topic>-value)', async () => {
    const files = await readSchemaFiles(path.join(packageRoot, 'schemas'), config);
    expect(files.map((f) => [path.basename(f.file), f.subject, f.problem])).toEqual([
      ['ConnectionRegistered.avsc', 'openbanking.connections-value', undefined],
      ['CustomerRefreshCompleted.avsc', 'openbanking.customer.refresh-completed-value', undefined],
      ['NewTransactionsAvailable.avsc', 'openbanking.customer.new-transactions-value', undefined],
      ['ReconnectAlert.avsc', 'openbanking.customer.reconnect-alerts-value', undefined],
      ['RefreshEvent.avsc', 'openbanking.refresh.events-value', undefined],
      ['RefreshRequested.avsc', 'openbanking.refresh.requests-value', undefined],
    ]);
    // registered as-is, like the services do (readSchema)
    expect(files.find((f) => f.file.endsWith('RefreshEvent.avsc'))?.text).toBe(
      await readFile(path.join(packageRoot, 'schemas', 'RefreshEvent.avsc'), 'utf8'),
    );
    expect(Object.keys(schemaTopics(config)).sort()).toEqual(
      files.map((f) => path.basename(f.file, '.avsc')),
    );
  });

  it('that do not parse, or that no topic takes, carry the reason', async () => {
    const dir = await tempDir({
      'RefreshEvent.avsc': '{"type":"record","name":"E","fields":[{"name":"a","type":"strin"}]}',
      'RefreshRequested.avsc': '{ not json',
      'Other.avsc': v1,
      'notes.txt': 'ignored',
    });
    const files = await readSchemaFiles(dir, config);
    expect(files.map((f) => [path.basename(f.file), f.problem])).toEqual([
      ['Other.avsc', expect.stringMatching(/no topic takes this schema \(expected one of Refresh/)],
      ['RefreshEvent.avsc', 'not a valid Avro schema: undefined type name: strin'],
      ['RefreshRequested.avsc', expect.stringMatching(/^not JSON: /)],
    ]);
  });

  it('an empty or missing folder is an operator error', async () => {
    await expect(readSchemaFiles(await tempDir({}), config)).rejects.toThrow(OperatorError);
    await expect(readSchemaFiles('/nonexistent/schemas', config)).rejects.toThrow(
      /cannot read the schema folder/,
    );
  });

  it('avsc explains why a new schema cannot read the old data', () => {
    expect(backwardProblem(parseAvsc(withDefault), v1)).toBeUndefined();
    expect(backwardProblem(parseAvsc(required), v1)).toBe(
      'no matching field for default-less RefreshRequested.b',
    );
  });
});

describe('schemas register', () => {
  it('sets BACKWARD first, registers, and is idempotent', async () => {
    const { api, calls } = fakeRegistry({});
    const dir = await tempDir({ 'RefreshRequested.avsc': v1 });
    const first = await registerSchemas(api, await readSchemaFiles(dir, config));
    expect(first).toMatchObject([
      { status: 'registered', id: 2, compatibilityChange: '(not set) → BACKWARD' },
    ]);
    expect(calls).toEqual([
      'set openbanking.refresh.requests-value BACKWARD',
      'latest openbanking.refresh.requests-value',
      'register openbanking.refresh.requests-value',
    ]);
    const again = await registerSchemas(api, await readSchemaFiles(dir, config));
    expect(again).toEqual([expect.objectContaining({ status: 'unchanged', id: 1, version: 1 })]);
    expect(again[0]).not.toHaveProperty('compatibilityChange');
    expect(formatRegisterReports(again)).toEqual([
      'openbanking.refresh.requests-value (RefreshRequested.avsc) → unchanged: id 1, version 1',
    ]);
  });

  it('reports a refused schema as an error, naming the incompatibility', async () => {
    const { api } = fakeRegistry({ level: 'BACKWARD', latest: v1 });
    const dir = await tempDir({ 'RefreshRequested.avsc': required });
    const [report] = await registerSchemas(api, await readSchemaFiles(dir, config));
    expect(report).toMatchObject({ status: 'error' });
    expect(report?.error).toMatch(/^INCOMPATIBLE with the latest version: registering/);
  });
});

describe('schemas check', () => {
  it('passes a compatible schema and a new subject', async () => {
    const dir = await tempDir({ 'RefreshRequested.avsc': withDefault });
    const files = await readSchemaFiles(dir, config);
    const compatible = await checkSchemas(
      fakeRegistry({ level: 'BACKWARD', latest: v1 }).api,
      files,
    );
    expect(compatible).toMatchObject([
      { status: 'compatible', level: 'BACKWARD', against: { id: 1, version: 1 } },
    ]);
    const fresh = await checkSchemas(fakeRegistry({}).api, files);
    expect(fresh).toMatchObject([{ status: 'new subject' }]);
    expect(checkPasses([...compatible, ...fresh])).toBe(true);
  });

  it("fails an incompatible schema with the registry's messages, else its dry run, plus avsc's", async () => {
    const dir = await tempDir({ 'RefreshRequested.avsc': required });
    const files = await readSchemaFiles(dir, config);
    const confluent = await checkSchemas(
      fakeRegistry({
        level: 'BACKWARD',
        latest: v1,
        compatible: false,
        messages: ["{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', ...}"],
      }).api,
      files,
    );
    expect(confluent[0]?.reasons).toEqual([
      "registry: {errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', ...}",
      'avsc: no matching field for default-less RefreshRequested.b',
    ]);
    const apicurio = await checkSchemas(
      fakeRegistry({ level: 'BACKWARD', latest: v1, compatible: false }).api,
      files,
    );
    expect(apicurio[0]?.reasons?.[0]).toBe('registry: Incompatible artifact: [b at /fields/1]');
    expect(checkPasses(apicurio)).toBe(false);
    expect(formatCheckReports(apicurio)[0]).toBe(
      'openbanking.refresh.requests-value (RefreshRequested.avsc): INCOMPATIBLE with version 1 (id 1) under BACKWARD',
    );
  });

  it('fails when the registry would not check backward compatibility, or the services would refuse the level', async () => {
    const dir = await tempDir({ 'RefreshRequested.avsc': withDefault });
    const files = await readSchemaFiles(dir, config);
    const none = await checkSchemas(fakeRegistry({ level: 'NONE', latest: v1 }).api, files);
    expect(none[0]).toMatchObject({ status: 'error' });
    expect(none[0]?.error).toMatch(/compatibility is NONE, not BACKWARD/);
    const globalNone = await checkSchemas(fakeRegistry({ latest: v1, global: 'NONE' }).api, files);
    expect(globalNone[0]?.error).toMatch(/under NONE, which does not check backward/);
    const globalBackward = await checkSchemas(
      fakeRegistry({ latest: v1, global: 'BACKWARD' }).api,
      files,
    );
    expect(globalBackward[0]).toMatchObject({ status: 'compatible' });
  });

  it('fails a file that does not parse', async () => {
    const dir = await tempDir({ 'RefreshRequested.avsc': '{"type":"recrd"}' });
    const reports = await checkSchemas(fakeRegistry({}).api, await readSchemaFiles(dir, config));
    expect(reports[0]).toMatchObject({ status: 'error' });
    expect(formatCheckReports(reports)[0]).toMatch(/ERROR: not a valid Avro schema/);
  });
});
