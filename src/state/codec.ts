import avro from 'avsc';
import type { Schema } from 'avsc';

/**
 * How a processor's state is written to its changelog and held in memory: Avro binary behind a
 * one-byte format version. Avro keeps field names out of every value, so a customer's state takes
 * about a third of its JSON size — in memory (1M customers) and in the changelog (restore reads
 * it all). Values written by earlier versions are still read: JSON (first byte `{`), and Avro of
 * every earlier state schema (first byte its version), resolved to the current schema with the
 * defaults of the fields added since.
 */
export interface StateCodec<S> {
  encode(state: S): Buffer;
  decode(bytes: Buffer): S;
}

const JSON_START = 0x7b; // '{'

/**
 * A codec for states of an Avro schema (a record; extra fields are rejected, not dropped).
 * `versions` lists every state schema ever written, oldest first: version byte n is
 * `versions[n - 1]`; the last one is written.
 */
export function avroStateCodec<S>(versions: readonly Schema[]): StateCodec<S> {
  const schema = versions.at(-1);
  if (schema === undefined) throw new Error('a state codec needs a schema');
  const version = versions.length;
  const type = avro.Type.forSchema(schema, { omitRecordMethods: true });
  const resolvers = versions
    .slice(0, -1)
    .map((old) => type.createResolver(avro.Type.forSchema(old, { omitRecordMethods: true })));
  const firstType = avro.Type.forSchema(versions[0] as Schema, { omitRecordMethods: true });
  const unknownField = compileCheck(type, new Map()) ?? (() => undefined);
  let scratch = Buffer.allocUnsafe(4096);
  scratch[0] = version;
  return {
    encode(state) {
      const miss = unknownField(state);
      if (miss)
        throw new Error(`state field $${miss.path} is not in the state schema ${miss.record}`);
      // written behind the version byte in a reused scratch buffer, then copied out once
      for (;;) {
        const end = type.encode(state, scratch, 1);
        // avsc answers a negative count of the bytes missing when the value does not fit
        if (end < 0) {
          scratch = Buffer.allocUnsafe(2 * (scratch.length - end));
          scratch[0] = version;
          continue;
        }
        return Buffer.from(scratch.subarray(0, end));
      }
    },
    decode(bytes) {
      const first = bytes[0] ?? 0;
      if (first === version) return type.fromBuffer(bytes.subarray(1)) as S;
      const resolver = resolvers[first - 1];
      if (resolver) return type.fromBuffer(bytes.subarray(1), resolver) as S;
      if (first === JSON_START) {
        const json: unknown = JSON.parse(bytes.toString('utf8'));
        if (type.isValid(json)) return json as S;
        // JSON was written before the first Avro schema, in its shape: read it as that version
        const toCurrent = resolvers[0];
        return (toCurrent ? type.fromBuffer(firstType.toBuffer(json), toCurrent) : json) as S;
      }
      throw new Error(`unknown state format (first byte ${String(first)})`);
    },
  };
}

/** Where a value holds a field its schema lacks: the path below the checked value, and the record. */
interface UnknownField {
  readonly path: string;
  readonly record: string;
}
type Check = (value: unknown) => UnknownField | undefined;

/**
 * Compiles the check that every record in a value has only fields of its schema (Avro would
 * silently drop the others). It runs on every state written — a changelog record per customer
 * per input — so fields that can hold no record are not visited, and a path is built only on
 * the way back from a miss.
 */
function compileCheck(t: avro.Type, done: Map<avro.Type, Check>): Check | undefined {
  const cached = done.get(t);
  if (cached) return cached;
  if (t instanceof avro.types.RecordType) {
    const known = new Set(t.fields.map((f) => f.name));
    const record = String(t.name);
    let children: [string, Check][] = [];
    const check: Check = (v) => {
      if (typeof v !== 'object' || v === null) return undefined;
      for (const k in v) if (!known.has(k)) return { path: `.${k}`, record };
      for (const [name, child] of children) {
        const miss = child((v as Record<string, unknown>)[name]);
        if (miss) return { ...miss, path: `.${name}${miss.path}` };
      }
      return undefined;
    };
    done.set(t, check); // before the fields: a record may hold itself
    children = t.fields.flatMap((f) => {
      const child = compileCheck(f.type, done);
      return child ? [[f.name, child] as [string, Check]] : [];
    });
    return check;
  }
  if (t instanceof avro.types.UnwrappedUnionType) {
    const branch = t.types.find((b) => !(b instanceof avro.types.NullType));
    return branch ? compileCheck(branch, done) : undefined;
  }
  if (t instanceof avro.types.ArrayType) {
    const items = compileCheck(t.itemsType, done);
    return (
      items &&
      ((v) => {
        if (!Array.isArray(v)) return undefined;
        for (const [i, item] of v.entries()) {
          const miss = items(item);
          if (miss) return { ...miss, path: `[${String(i)}]${miss.path}` };
        }
        return undefined;
      })
    );
  }
  if (t instanceof avro.types.MapType) {
    const values = compileCheck(t.valuesType as avro.Type, done);
    return (
      values &&
      ((v) => {
        if (typeof v !== 'object' || v === null) return undefined;
        for (const k in v) {
          const miss = values((v as Record<string, unknown>)[k]);
          if (miss) return { ...miss, path: `.${k}${miss.path}` };
        }
        return undefined;
      })
    );
  }
  return undefined;
}

const nullable = (type: Schema) => ['null', type] as Schema;
const millis = 'long';
const record = (name: string, fields: readonly { name: string; type: Schema }[]): Schema => ({
  type: 'record',
  name,
  fields: [...fields],
});
const mapOf = (values: Schema): Schema => ({ type: 'map', values });
const strings: Schema = { type: 'array', items: 'string' };
/** A customer's state record as version 1 wrote it: its customer id, then `fields`. */
function customerStateV1(name: string, fields: readonly { name: string; type: Schema }[]): Schema {
  return {
    type: 'record',
    name,
    namespace: 'io.refreshbus.state.v1',
    fields: [{ name: 'customer_id', type: 'string' }, ...fields],
  };
}

/** The fields naming a connection, in every record about one. */
const connectionId = [
  { name: 'provider', type: nullable('string') },
  { name: 'connection_id', type: nullable('string') },
];

/** `RoundsState` as version 1 wrote it. */
const ROUNDS_STATE_SCHEMA_V1 = customerStateV1('RoundsState', [
  {
    name: 'open',
    type: nullable(
      record('Round', [
        { name: 'round_id', type: 'string' },
        { name: 'opened_at', type: millis },
        { name: 'last_activity_at', type: millis },
        {
          name: 'requested',
          type: nullable(
            record('Requested', [
              { name: 'providers', type: strings },
              { name: 'task_ids', type: strings },
            ]),
          ),
        },
        { name: 'expected', type: strings },
        {
          name: 'connections',
          type: mapOf(
            record('RoundConnection', [
              { name: 'key', type: 'string' },
              ...connectionId,
              { name: 'task_id', type: nullable('string') },
              { name: 'outcome', type: 'string' },
              { name: 'result_code', type: nullable('string') },
              { name: 'action_required', type: 'string' },
              { name: 'reconnect_required', type: 'boolean' },
              { name: 'has_new_transactions', type: nullable('boolean') },
              { name: 'parent_task_id', type: nullable('string') },
              { name: 'final', type: 'boolean' },
              { name: 'temporaryFailureSince', type: nullable(millis) },
              { name: 'occurred_at', type: millis },
              { name: 'new_data', type: 'boolean' },
            ]),
          ),
        },
      ]),
    ),
  },
  {
    name: 'known',
    type: mapOf(
      record('KnownConnection', [...connectionId, { name: 'last_seen_at', type: millis }]),
    ),
  },
  { name: 'last_success_data_at', type: mapOf(millis) },
  { name: 'last_occurred_at', type: mapOf(millis) },
  { name: 'recent_event_ids', type: strings },
  {
    name: 'last_closed',
    type: nullable(
      record('LastClosed', [
        { name: 'round_id', type: 'string' },
        { name: 'closed_at', type: millis },
      ]),
    ),
  },
  { name: 'touched_at', type: millis },
]);

/** `AlertsState` as version 1 wrote it. */
const ALERTS_STATE_SCHEMA_V1 = customerStateV1('AlertsState', [
  {
    name: 'connections',
    type: mapOf(
      record('ConnectionAlertState', [
        ...connectionId,
        { name: 'raised', type: 'boolean' },
        { name: 'action_required', type: 'string' },
        { name: 'result_code', type: nullable('string') },
        { name: 'first_failed_at', type: nullable(millis) },
        { name: 'occurred_at', type: millis },
      ]),
    ),
  },
  { name: 'recent_event_ids', type: strings },
  { name: 'touched_at', type: millis },
]);

type RecordSchema = { name: string; fields: { name: string; type: unknown; default?: unknown }[] };

/** A copy of `schema` in which the record named `record` gains `fields` (each with a default). */
function withFields(schema: Schema, record: string, fields: RecordSchema['fields']): Schema {
  const copy = structuredClone(schema) as RecordSchema;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const r = node as Partial<RecordSchema> & { values?: unknown; items?: unknown };
    if (r.name === record && Array.isArray(r.fields)) r.fields.push(...fields);
    if (Array.isArray(r.fields)) for (const f of r.fields) visit(f.type);
    visit(r.values);
    visit(r.items);
    if ('type' in r && typeof r.type === 'object') visit(r.type);
  };
  visit(copy);
  return copy as Schema;
}

const stringMap = mapOf('string');

/** Version 2: consent → provider pairs, finished tasks, fanned-out deliveries, the connection's source, known connections waiting for the user. */
const ROUNDS_STATE_SCHEMA_V2 = ((): Schema => {
  const withSource = withFields(
    withFields(ROUNDS_STATE_SCHEMA_V1, 'RoundConnection', [
      { name: 'source', type: 'string', default: 'BUD' },
    ]),
    'KnownConnection',
    [{ name: 'needs_user', type: 'boolean', default: false }],
  );
  return withFields(withSource, 'RoundsState', [
    { name: 'consent_providers', type: stringMap, default: {} },
    {
      name: 'finished_tasks',
      type: mapOf(
        record('FinishedTask', [
          { name: 'connection', type: 'RoundConnection' },
          { name: 'finished_at', type: millis },
        ]),
      ),
      default: {},
    },
    { name: 'pending_deliveries', type: mapOf('int'), default: {} },
  ]);
})();

/** Version 3: whether sibling reports of a round connection's refresh may follow (its report said). */
const ROUNDS_STATE_SCHEMA_V3 = withFields(ROUNDS_STATE_SCHEMA_V2, 'RoundConnection', [
  { name: 'siblings_may_follow', type: nullable('boolean'), default: null },
]);

/** Version 2: consent → provider pairs, succeeded tasks, the raise's reason, customer-level episodes. */
const ALERTS_STATE_SCHEMA_V2 = withFields(
  withFields(ALERTS_STATE_SCHEMA_V1, 'ConnectionAlertState', [
    { name: 'reason', type: nullable('string'), default: null },
    { name: 'failed_task_ids', type: strings, default: [] },
    { name: 'last_failed_at', type: nullable(millis), default: null },
  ]),
  'AlertsState',
  [
    { name: 'consent_providers', type: stringMap, default: {} },
    { name: 'succeeded_tasks', type: strings, default: [] },
  ],
);

/** `RoundsState` (src/processors/rounds/state.ts): every version written, oldest first. */
export const ROUNDS_STATE_SCHEMAS: readonly Schema[] = [
  ROUNDS_STATE_SCHEMA_V1,
  ROUNDS_STATE_SCHEMA_V2,
  ROUNDS_STATE_SCHEMA_V3,
];

/** `AlertsState` (src/processors/alerts/state.ts): every version written, oldest first. */
export const ALERTS_STATE_SCHEMAS: readonly Schema[] = [
  ALERTS_STATE_SCHEMA_V1,
  ALERTS_STATE_SCHEMA_V2,
];
