import avro from 'avsc';
import type { Schema } from 'avsc';

/**
 * How a processor's state is written to its changelog and held in memory: Avro binary behind a
 * one-byte format version. Avro keeps field names out of every value, so a customer's state takes
 * about a third of its JSON size — in memory (1M customers) and in the changelog (restore reads
 * it all). Values written as JSON by earlier versions (first byte `{`) are still read.
 */
export interface StateCodec<S> {
  encode(state: S): Buffer;
  decode(bytes: Buffer): S;
}

const AVRO_V1 = 0x01;
const JSON_START = 0x7b; // '{'

/** A codec for states of the given Avro schema (a record; extra fields are rejected, not dropped). */
export function avroStateCodec<S>(schema: Schema): StateCodec<S> {
  const type = avro.Type.forSchema(schema, { omitRecordMethods: true });
  const fields = new Map<avro.Type, Map<string, avro.Type>>();
  collectFields(type, fields);
  return {
    encode(state) {
      assertKnownFields(state, type, fields);
      const body = type.toBuffer(state);
      const out = Buffer.allocUnsafe(body.length + 1);
      out[0] = AVRO_V1;
      body.copy(out, 1);
      return out;
    },
    decode(bytes) {
      if (bytes[0] === AVRO_V1) return type.fromBuffer(bytes.subarray(1)) as S;
      if (bytes[0] === JSON_START) return JSON.parse(bytes.toString('utf8')) as S;
      throw new Error(`unknown state format (first byte ${String(bytes[0])})`);
    },
  };
}

/** Each record type's fields by name, to check a value has no field Avro would silently drop. */
function collectFields(type: avro.Type, out: Map<avro.Type, Map<string, avro.Type>>): void {
  if (type instanceof avro.types.RecordType) {
    if (out.has(type)) return;
    out.set(type, new Map(type.fields.map((f) => [f.name, f.type])));
    for (const f of type.fields) collectFields(f.type, out);
  } else if (type instanceof avro.types.UnwrappedUnionType) {
    for (const t of type.types) collectFields(t, out);
  } else if (type instanceof avro.types.ArrayType) {
    collectFields(type.itemsType, out);
  } else if (type instanceof avro.types.MapType) {
    collectFields(type.valuesType as avro.Type, out);
  }
}

function assertKnownFields(
  value: unknown,
  type: avro.Type,
  fields: Map<avro.Type, Map<string, avro.Type>>,
): void {
  const walk = (v: unknown, t: avro.Type, path: string): void => {
    if (v === null || v === undefined || typeof v !== 'object') return;
    if (t instanceof avro.types.RecordType) {
      const known = fields.get(t);
      for (const k in v) {
        const child = known?.get(k);
        if (!child)
          throw new Error(`state field ${path}.${k} is not in the state schema ${String(t.name)}`);
        walk((v as Record<string, unknown>)[k], child, `${path}.${k}`);
      }
    } else if (t instanceof avro.types.UnwrappedUnionType) {
      const branch = t.types.find((b) => !(b instanceof avro.types.NullType));
      if (branch) walk(v, branch, path);
    } else if (t instanceof avro.types.ArrayType) {
      const items = t.itemsType;
      if (items instanceof avro.types.RecordType || items instanceof avro.types.MapType)
        (v as unknown[]).forEach((item, i) => {
          walk(item, items, `${path}[${i}]`);
        });
    } else if (t instanceof avro.types.MapType) {
      const values = t.valuesType as avro.Type;
      for (const k in v) walk((v as Record<string, unknown>)[k], values, `${path}.${k}`);
    }
  };
  walk(value, type, '$');
}

const nullable = (type: Schema) => ['null', type] as Schema;
const millis = 'long';

/** `RoundsState` (src/processors/rounds/state.ts). */
export const ROUNDS_STATE_SCHEMA: Schema = {
  type: 'record',
  name: 'RoundsState',
  namespace: 'io.refreshbus.state.v1',
  fields: [
    { name: 'customer_id', type: 'string' },
    {
      name: 'open',
      type: nullable({
        type: 'record',
        name: 'Round',
        fields: [
          { name: 'round_id', type: 'string' },
          { name: 'opened_at', type: millis },
          { name: 'last_activity_at', type: millis },
          {
            name: 'requested',
            type: nullable({
              type: 'record',
              name: 'Requested',
              fields: [
                { name: 'providers', type: { type: 'array', items: 'string' } },
                { name: 'task_ids', type: { type: 'array', items: 'string' } },
              ],
            }),
          },
          { name: 'expected', type: { type: 'array', items: 'string' } },
          {
            name: 'connections',
            type: {
              type: 'map',
              values: {
                type: 'record',
                name: 'RoundConnection',
                fields: [
                  { name: 'key', type: 'string' },
                  { name: 'provider', type: nullable('string') },
                  { name: 'connection_id', type: nullable('string') },
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
                ],
              },
            },
          },
        ],
      }),
    },
    {
      name: 'known',
      type: {
        type: 'map',
        values: {
          type: 'record',
          name: 'KnownConnection',
          fields: [
            { name: 'provider', type: nullable('string') },
            { name: 'connection_id', type: nullable('string') },
            { name: 'last_seen_at', type: millis },
          ],
        },
      },
    },
    { name: 'last_success_data_at', type: { type: 'map', values: millis } },
    { name: 'last_occurred_at', type: { type: 'map', values: millis } },
    { name: 'recent_event_ids', type: { type: 'array', items: 'string' } },
    {
      name: 'last_closed',
      type: nullable({
        type: 'record',
        name: 'LastClosed',
        fields: [
          { name: 'round_id', type: 'string' },
          { name: 'closed_at', type: millis },
        ],
      }),
    },
    { name: 'touched_at', type: millis },
  ],
};

/** `AlertsState` (src/processors/alerts/state.ts). */
export const ALERTS_STATE_SCHEMA: Schema = {
  type: 'record',
  name: 'AlertsState',
  namespace: 'io.refreshbus.state.v1',
  fields: [
    { name: 'customer_id', type: 'string' },
    {
      name: 'connections',
      type: {
        type: 'map',
        values: {
          type: 'record',
          name: 'ConnectionAlertState',
          fields: [
            { name: 'provider', type: nullable('string') },
            { name: 'connection_id', type: nullable('string') },
            { name: 'raised', type: 'boolean' },
            { name: 'action_required', type: 'string' },
            { name: 'result_code', type: nullable('string') },
            { name: 'first_failed_at', type: nullable(millis) },
            { name: 'occurred_at', type: millis },
          ],
        },
      },
    },
    { name: 'recent_event_ids', type: { type: 'array', items: 'string' } },
    { name: 'touched_at', type: millis },
  ],
};
