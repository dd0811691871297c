import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import avro from 'avsc';
import type { OperatorConfig } from '../config/config.js';
export { schemaTopics, valueSubject };
import { schemaTopics, valueSubject } from '../contract/schemas.js';
import { OperatorError, messageOf } from './errors.js';
import type { RegistryApi } from './registry-api.js';
import { RegistryError } from './registry-api.js';

/** The compatibility level refreshbus's services register under (the registry client refuses others). */
export const REQUIRED_COMPATIBILITY = 'BACKWARD';

/** Levels under which the registry refuses a schema that cannot read the previous version's data. */
const BACKWARD_CHECKING = new Set(['BACKWARD', 'BACKWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE']);

/** A local `.avsc` file: its text (registered as-is) and the subject it belongs to, or why not. */
export interface SchemaFile {
  readonly file: string;
  readonly name: string;
  readonly subject?: string;
  readonly text: string;
  readonly type?: avro.Type;
  /** Set when the file cannot be used: it does not parse, or no topic takes this schema. */
  readonly problem?: string;
}

/** Parses one schema with avsc (as the registry client will); throws with avsc's reason. */
export function parseAvsc(text: string): avro.Type {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON: ${messageOf(err)}`, { cause: err });
  }
  try {
    return avro.Type.forSchema(json as avro.Schema);
  } catch (err) {
    throw new Error(`not a valid Avro schema: ${messageOf(err)}`, { cause: err });
  }
}

/** Reads every `*.avsc` in `dir`, parses it and names its subject (by file name: `RefreshEvent.avsc`). */
export async function readSchemaFiles(dir: string, config: OperatorConfig): Promise<SchemaFile[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.avsc')).sort();
  } catch (err) {
    throw new OperatorError(`cannot read the schema folder ${dir}: ${messageOf(err)}`, {
      cause: err,
    });
  }
  if (names.length === 0) throw new OperatorError(`no .avsc files in ${dir}`);
  const topics = schemaTopics(config) as Record<string, string>;
  const known = Object.keys(topics)
    .map((n) => `${n}.avsc`)
    .join(', ');
  return Promise.all(
    names.map(async (fileName): Promise<SchemaFile> => {
      const file = path.join(dir, fileName);
      const name = fileName.slice(0, -'.avsc'.length);
      const text = await readFile(file, 'utf8');
      const topic = Object.hasOwn(topics, name) ? topics[name] : undefined;
      const subject = topic === undefined ? undefined : valueSubject(topic);
      const where = subject === undefined ? {} : { subject };
      if (subject === undefined)
        return {
          file,
          name,
          text,
          problem: `no topic takes this schema (expected one of ${known})`,
        };
      try {
        return { file, name, text, ...where, type: parseAvsc(text) };
      } catch (err) {
        return { file, name, text, ...where, problem: messageOf(err) };
      }
    }),
  );
}

export type RegisterStatus = 'registered' | 'new version' | 'unchanged' | 'error';

export interface RegisterReport {
  readonly file: string;
  readonly subject?: string;
  readonly status: RegisterStatus;
  readonly id?: number;
  readonly version?: number;
  /** Set when this call changed the subject's compatibility level: `NONE → BACKWARD`. */
  readonly compatibilityChange?: string;
  readonly error?: string;
}

/**
 * `schemas register`: each schema under its subject, the subject's compatibility set to BACKWARD
 * first (what the services require). Idempotent: a schema already registered is left as it is.
 */
export async function registerSchemas(
  api: RegistryApi,
  files: readonly SchemaFile[],
): Promise<RegisterReport[]> {
  const out: RegisterReport[] = [];
  for (const f of files) {
    const where = f.subject === undefined ? {} : { subject: f.subject };
    if (f.problem !== undefined || f.subject === undefined) {
      out.push({ file: f.file, ...where, status: 'error', error: f.problem ?? 'no subject' });
      continue;
    }
    const subject = f.subject;
    let compatibilityChange: string | undefined;
    try {
      const level = await api.subjectCompatibility(subject);
      if (level !== REQUIRED_COMPATIBILITY) {
        await api.setCompatibility(subject, REQUIRED_COMPATIBILITY);
        compatibilityChange = `${level ?? '(not set)'} → ${REQUIRED_COMPATIBILITY}`;
      }
      const change = compatibilityChange === undefined ? {} : { compatibilityChange };
      const existing = await api.lookup(subject, f.text);
      if (existing) {
        out.push({ file: f.file, subject, status: 'unchanged', ...existing, ...change });
        continue;
      }
      const before = await api.latest(subject);
      const id = await api.register(subject, f.text);
      const now = await api.lookup(subject, f.text);
      out.push({
        file: f.file,
        subject,
        status: before ? 'new version' : 'registered',
        id,
        ...(now ? { version: now.version } : {}),
        ...change,
      });
    } catch (err) {
      if (err instanceof OperatorError) throw err;
      const incompatible = err instanceof RegistryError && err.status === 409;
      out.push({
        file: f.file,
        subject,
        status: 'error',
        error: `${incompatible ? 'INCOMPATIBLE with the latest version: ' : ''}${messageOf(err)}`,
        ...(compatibilityChange === undefined ? {} : { compatibilityChange }),
      });
    }
  }
  return out;
}

export type CheckStatus = 'compatible' | 'new subject' | 'INCOMPATIBLE' | 'error';

export interface CheckReport {
  readonly file: string;
  readonly subject?: string;
  readonly status: CheckStatus;
  /** The compatibility level the registry checked under. */
  readonly level?: string;
  /** The latest registered version the schema was checked against. */
  readonly against?: { readonly id: number; readonly version: number };
  /** Why not: the registry's messages, then avsc's reading of the two schemas. */
  readonly reasons?: readonly string[];
  readonly error?: string;
}

/**
 * Whether the new schema (reader) can read data written with the old one: avsc's view of
 * BACKWARD compatibility, used to explain a refusal when the registry gives no reason.
 */
export function backwardProblem(newer: avro.Type, older: string): string | undefined {
  try {
    newer.createResolver(parseAvsc(older));
    return undefined;
  } catch (err) {
    return messageOf(err);
  }
}

/**
 * Why a subject's compatibility level (`own`, or the registry's global one it falls back to:
 * `level`) makes a check meaningless, if it does: the services register only under BACKWARD.
 */
function levelProblem(own: string | undefined, level: string): string | undefined {
  if (own !== undefined && own !== REQUIRED_COMPATIBILITY)
    return (
      `the subject's compatibility is ${own}, not ${REQUIRED_COMPATIBILITY}: refreshbus's services refuse to ` +
      'register under another level (run `refreshbus schemas register` to set it)'
    );
  if (!BACKWARD_CHECKING.has(level))
    return `the registry checks this subject under ${level}, which does not check backward compatibility (run \`refreshbus schemas register\` to set ${REQUIRED_COMPATIBILITY})`;
  return undefined;
}

/**
 * `schemas check`: asks the registry whether each local schema is compatible with its subject's
 * latest version (`POST /compatibility/subjects/<subject>/versions/latest?verbose=true`).
 * Registers nothing.
 */
export async function checkSchemas(
  api: RegistryApi,
  files: readonly SchemaFile[],
): Promise<CheckReport[]> {
  const out: CheckReport[] = [];
  let global: string | undefined;
  for (const f of files) {
    const where = f.subject === undefined ? {} : { subject: f.subject };
    if (f.problem !== undefined || f.subject === undefined || f.type === undefined) {
      out.push({ file: f.file, ...where, status: 'error', error: f.problem ?? 'no subject' });
      continue;
    }
    const subject = f.subject;
    try {
      const latest = await api.latest(subject);
      if (!latest) {
        out.push({ file: f.file, subject, status: 'new subject' });
        continue;
      }
      const against = { id: latest.id, version: latest.version };
      const own = await api.subjectCompatibility(subject);
      const level = own ?? (global ??= await api.globalCompatibility());
      const local = backwardProblem(f.type, latest.schema);
      const localReasons = local === undefined ? [] : [`avsc: ${local}`];
      const unfit = levelProblem(own, level);
      if (unfit !== undefined) {
        out.push({
          file: f.file,
          subject,
          status: 'error',
          level,
          against,
          error: unfit,
          ...(localReasons.length ? { reasons: localReasons } : {}),
        });
        continue;
      }
      const verdict = await api.testCompatibility(subject, f.text);
      if (verdict.compatible) {
        out.push({ file: f.file, subject, status: 'compatible', level, against });
        continue;
      }
      const registry = verdict.messages.length
        ? verdict.messages
        : ((await api.apicurioDryRunReasons(subject, f.text)) ?? []);
      out.push({
        file: f.file,
        subject,
        status: 'INCOMPATIBLE',
        level,
        against,
        reasons: [...registry.map((m) => `registry: ${m}`), ...localReasons],
      });
    } catch (err) {
      if (err instanceof OperatorError) throw err;
      out.push({ file: f.file, subject, status: 'error', error: messageOf(err) });
    }
  }
  return out;
}

function label(file: string, subject: string | undefined): string {
  return subject ? `${subject} (${path.basename(file)})` : path.basename(file);
}

export function formatRegisterReports(reports: readonly RegisterReport[]): string[] {
  return reports.map((r) => {
    const what =
      r.status === 'error'
        ? `ERROR: ${r.error ?? ''}`
        : `${r.status}: id ${r.id ?? '?'}, version ${r.version ?? '?'}`;
    const compat = r.compatibilityChange ? `; compatibility ${r.compatibilityChange}` : '';
    return `${label(r.file, r.subject)} → ${what}${compat}`;
  });
}

export function formatCheckReports(reports: readonly CheckReport[]): string[] {
  const lines: string[] = [];
  for (const r of reports) {
    const against = r.against ? ` with version ${r.against.version} (id ${r.against.id})` : '';
    const level = r.level ? ` under ${r.level}` : '';
    const what =
      r.status === 'compatible'
        ? `compatible${against}${level}`
        : r.status === 'new subject'
          ? 'new subject: nothing registered yet, any schema is accepted'
          : r.status === 'INCOMPATIBLE'
            ? `INCOMPATIBLE${against}${level}`
            : `ERROR: ${r.error ?? ''}`;
    lines.push(`${label(r.file, r.subject)}: ${what}`);
    for (const reason of r.reasons ?? []) lines.push(`  ${reason}`);
  }
  return lines;
}

export function registerPasses(reports: readonly RegisterReport[]): boolean {
  return reports.every((r) => r.status !== 'error');
}

export function checkPasses(reports: readonly CheckReport[]): boolean {
  return reports.every((r) => r.status === 'compatible' || r.status === 'new subject');
}
