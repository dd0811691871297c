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

const DEFAULT_DIR = path.join(packageRoot, 'schemas');

/** `refreshbus schemas register | check`. */
export function registerSchemasCommands(program: Command, config: () => Config): void {
  const schemas = program
    .command('schemas')
    .description('register the Avro schemas, or check edited ones against the registry');

  schemas
    .command('register')
    .description(
      'register every <dir>/*.avsc under <topic>-value (as the services do) and set the ' +
        "subject's compatibility to BACKWARD; idempotent; exits 1 if any is refused",
    )
    .option('--dir <dir>', 'folder of .avsc files named after their schema', DEFAULT_DIR)
    .option('--json', 'print one JSON document instead of lines', false)
    .action(async (options: { dir: string; json: boolean }) => {
      const cfg = config();
      const { endpoints } = opsClients(cfg, 'schemas');
      const api = new RegistryApi(endpoints.registryUrl);
      const reports = await registerSchemas(api, await readSchemaFiles(options.dir, cfg));
      const ok = registerPasses(reports);
      if (options.json) console.log(JSON.stringify({ ok, schemas: reports }, null, 2));
      else for (const line of formatRegisterReports(reports)) console.log(line);
      const failed = reports.filter((r) => r.status === 'error').length;
      console.error(`schemas: ${reports.length} at ${api.url}, ${failed} failing`);
      if (!ok) process.exitCode = 1;
    });

  schemas
    .command('check')
    .description(
      'check <dir>/*.avsc for compatibility with the latest registered version of their ' +
        'subject, registering nothing (a CI gate); exits 1 if any is incompatible or does not parse',
    )
    .option('--dir <dir>', 'folder of .avsc files named after their schema', DEFAULT_DIR)
    .option('--json', 'print one JSON document instead of lines', false)
    .action(async (options: { dir: string; json: boolean }) => {
      const cfg = config();
      const { endpoints } = opsClients(cfg, 'schemas');
      const api = new RegistryApi(endpoints.registryUrl);
      const reports = await checkSchemas(api, await readSchemaFiles(options.dir, cfg));
      const ok = checkPasses(reports);
      if (options.json) console.log(JSON.stringify({ ok, schemas: reports }, null, 2));
      else for (const line of formatCheckReports(reports)) console.log(line);
      const bad = reports.filter((r) => r.status === 'INCOMPATIBLE' || r.status === 'error');
      console.error(`schemas: ${reports.length} checked against ${api.url}, ${bad.length} failing`);
      if (!ok) process.exitCode = 1;
    });
}
