import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { registerValueSchema } from '../../src/registry/registry.js';
import { readSchema } from '../../src/registry/schemas.js';
import { registryUrl, testRegistry } from './support/kafka.js';
import { opsEnv, refreshbus } from './support/ops.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function schemaDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'refreshbus-ops-schemas-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

async function registryJson(p: string): Promise<unknown> {
  return (await fetch(`${registryUrl()}${p}`)).json();
}

interface AvroRecord {
  fields: { name: string; type: unknown; default?: unknown; doc?: string }[];
}

async function edited(change: (s: AvroRecord) => void): Promise<string> {
  const schema = JSON.parse(await readSchema('RefreshEvent')) as AvroRecord;
  change(schema);
  return JSON.stringify(schema, null, 2);
}

describe('refreshbus schemas register | check', () => {
  it('registers every schema under the subject the services use, BACKWARD, idempotently', async () => {
    const env = opsEnv('ops-schemas');
    const events = `${env.TOPIC_REFRESH_EVENTS}-value`;

    // before anything is registered, every subject is new
    const fresh = await refreshbus(['schemas', 'check'], env);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toContain(`${events} (RefreshEvent.avsc): new subject`);

    const first = await refreshbus(['schemas', 'register'], env);
    expect(first.code).toBe(0);
    const lines = first.stdout.trim().split('\n');
    expect(lines).toHaveLength(6);
    for (const [topic, file] of [
      [env.TOPIC_REFRESH_REQUESTS, 'RefreshRequested'],
      [env.TOPIC_REFRESH_EVENTS, 'RefreshEvent'],
      [env.TOPIC_CUSTOMER_COMPLETED, 'CustomerRefreshCompleted'],
      [env.TOPIC_CUSTOMER_NEW_TRANSACTIONS, 'NewTransactionsAvailable'],
      [env.TOPIC_CUSTOMER_ALERTS, 'ReconnectAlert'],
      [env.TOPIC_CONNECTIONS, 'ConnectionRegistered'],
    ] as const) {
      expect(first.stdout).toMatch(
        new RegExp(
          `^${topic}-value \\(${file}\\.avsc\\) → registered: id \\d+, version 1; compatibility \\(not set\\) → BACKWARD$`,
          'm',
        ),
      );
      expect(await registryJson(`/config/${topic}-value`)).toMatchObject({
        compatibilityLevel: 'BACKWARD',
      });
    }

    // the services then find their schema registered: same subject, same id, no new version
    const id = Number(/^.*\.events-value .* id (\d+),/m.exec(first.stdout)?.[1]);
    expect(
      await registerValueSchema(
        testRegistry(),
        env.TOPIC_REFRESH_EVENTS ?? '',
        await readSchema('RefreshEvent'),
      ),
    ).toBe(id);

    const again = await refreshbus(['schemas', 'register'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(
      `${events} (RefreshEvent.avsc) → unchanged: id ${id}, version 1`,
    );
    expect(again.stdout).not.toContain('compatibility');
    expect(await registryJson(`/subjects/${events}/versions`)).toEqual([1]);

    const check = await refreshbus(['schemas', 'check'], env);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(
      `${events} (RefreshEvent.avsc): compatible with version 1 (id ${id}) under BACKWARD`,
    );

    // an edited schema that old data cannot be read with: the registry's reason, avsc's, exit 1
    const incompatible = await schemaDir({
      'RefreshEvent.avsc': await edited((s) =>
        s.fields.push({ name: 'required_now', type: 'string', doc: 'breaks old data' }),
      ),
    });
    const refused = await refreshbus(['schemas', 'check', '--dir', incompatible], env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(`${events} (RefreshEvent.avsc): INCOMPATIBLE with version 1`);
    expect(refused.stdout).toMatch(/^ {2}registry: .*required_now/m);
    expect(refused.stdout).toContain(
      '  avsc: no matching field for default-less io.refreshbus.v1.RefreshEvent.required_now',
    );
    expect(refused.stderr).toContain('1 failing');

    // a compatible evolution: a new optional field with a default
    const compatible = await schemaDir({
      'RefreshEvent.avsc': await edited((s) =>
        s.fields.push({ name: 'added_later', type: ['null', 'string'], default: null, doc: 'new' }),
      ),
    });
    const accepted = await refreshbus(['schemas', 'check', '--dir', compatible, '--json'], env);
    expect(accepted.code).toBe(0);
    expect(JSON.parse(accepted.stdout)).toMatchObject({
      ok: true,
      schemas: [{ subject: events, status: 'compatible', level: 'BACKWARD' }],
    });
    // checking registered nothing
    expect(await registryJson(`/subjects/${events}/versions`)).toEqual([1]);

    // register refuses the incompatible one too, and says so
    const registerRefused = await refreshbus(['schemas', 'register', '--dir', incompatible], env);
    expect(registerRefused.code).toBe(1);
    expect(registerRefused.stdout).toMatch(/→ ERROR: INCOMPATIBLE with the latest version/);
    expect(await registryJson(`/subjects/${events}/versions`)).toEqual([1]);
  });

  it('passes today’s schemas against the last release’s, registered (BACKWARD: new fields carry defaults)', async () => {
    const env = opsEnv('ops-schemas-release');
    const released = path.join(import.meta.dirname, '../fixtures/schemas-released');
    const registered = await refreshbus(['schemas', 'register', '--dir', released], env);
    expect(registered.code).toBe(0);
    const check = await refreshbus(['schemas', 'check', '--json'], env);
    expect(check.code).toBe(0);
    const report = JSON.parse(check.stdout) as {
      ok: boolean;
      schemas: { subject: string; status: string }[];
    };
    expect(report.ok).toBe(true);
    // ConnectionRegistered is new since the last release (issue 19): no earlier version to check
    expect(report.schemas.map((r) => r.status)).toEqual([
      'new subject',
      ...Array<string>(5).fill('compatible'),
    ]);
  });

  it('fails on a schema file that does not parse, naming the file and the reason', async () => {
    const env = opsEnv('ops-schemas-bad');
    const dir = await schemaDir({
      'RefreshEvent.avsc':
        '{"type": "record", "name": "E", "fields": [{"name": "a", "type": "strng"}]}',
      'RefreshRequested.avsc': await readSchema('RefreshRequested'),
    });
    const run = await refreshbus(['schemas', 'check', '--dir', dir], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `${env.TOPIC_REFRESH_EVENTS}-value (RefreshEvent.avsc): ERROR: not a valid Avro schema: undefined type name: strng`,
    );
    expect(run.stdout).toContain(
      `${env.TOPIC_REFRESH_REQUESTS}-value (RefreshRequested.avsc): new subject`,
    );
  });

  it('fails with a clear message when the registry does not answer', async () => {
    const env = opsEnv('ops-schemas-down', {
      SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1/apis/ccompat/v7',
    });
    const run = await refreshbus(['schemas', 'check'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^refreshbus: cannot reach the schema registry at http:\/\/127\.0\.0\.1:1/m,
    );
  });
});
