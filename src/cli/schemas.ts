import path from 'node:path';
import type { Command } from 'commander';
import { packageRoot } from '../config/config.js';
import type { Config } from '../config/config.js';
import { opsClients } from '../ops/clients.js';
import { RegistryApi } from '../ops/registry-api.js';
import {
  checkPasses,
  checkSchemas,
  formatCheckReports,
  formatRegisterReports,
  readSchemaFiles,
  registerPasses,
  registerSchemas,
} from '../ops/schemas.js';
import type { SchemaFile } from '../ops/schemas.js';

const DEFAULT_DIR = path.join(packageRoot, 'schemas');

/** One `schemas` subcommand: what it does with the schema files, and how it reports. */
interface SchemaCommand<R> {
  readonly name: string;
  readonly description: string;
  run(api: RegistryApi, files: SchemaFile[]): Promise<R[]>;
  passes(reports: readonly R[]): boolean;
  format(reports: readonly R[]): string[];
  /** The line for stderr, after `schemas: `. */
  summary(reports: readonly R[], registryUrl: string): string;
}

/** `refreshbus schemas register | check`. */
export function registerSchemasCommands(program: Command, config: () => Config): void {
  const schemas = program
    .command('schemas')
    .description('register the Avro schemas, or check edited ones against the registry');

  addSchemaCommand(schemas, config, {
    name: 'register',
    description:
      'register every <dir>/*.avsc under <topic>-value (as the services do) and set the ' +
      "subject's compatibility to BACKWARD; idempotent; exits 1 if any is refused",
    run: registerSchemas,
    passes: registerPasses,
    format: formatRegisterReports,
    summary: (reports, url) => {
      const failed = reports.filter((r) => r.status === 'error').length;
      return `${reports.length} at ${url}, ${failed} failing`;
    },
  });

  addSchemaCommand(schemas, config, {
    name: 'check',
    description:
      'check <dir>/*.avsc for compatibility with the latest registered version of their ' +
      'subject, registering nothing (a CI gate); exits 1 if any is incompatible or does not parse',
    run: checkSchemas,
    passes: checkPasses,
    format: formatCheckReports,
    summary: (reports, url) => {
      const bad = reports.filter((r) => r.status === 'INCOMPATIBLE' || r.status === 'error');
      return `${reports.length} checked against ${url}, ${bad.length} failing`;
    },
  });
}

function addSchemaCommand<R>(schemas: Command, config: () => Config, c: SchemaCommand<R>): void {
  schemas
    .command(c.name)
    .description(c.description)
    .option('--dir <dir>', 'folder of .avsc files named after their schema', DEFAULT_DIR)
    .option('--json', 'print one JSON document instead of lines', false)
    .action(async (options: { dir: string; json: boolean }) => {
      const cfg = config();
      const { endpoints } = opsClients(cfg, 'schemas');
      const api = new RegistryApi(endpoints.registryUrl);
      const reports = await c.run(api, await readSchemaFiles(options.dir, cfg));
      const ok = c.passes(reports);
      if (options.json) console.log(JSON.stringify({ ok, schemas: reports }, null, 2));
      else for (const line of c.format(reports)) console.log(line);
      console.error(`schemas: ${c.summary(reports, api.url)}`);
      if (!ok) process.exitCode = 1;
    });
}
