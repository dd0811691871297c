import avro from 'avsc';

/** Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian integer, the Avro body. */
const HEADER_BYTES = 5;

/** A value the schema cannot encode (a mapper's bug, not the registry's trouble). */
export class AvroEncodeError extends Error {
  override readonly name = 'AvroEncodeError';
}

/** Encodes values of one registered schema, synchronously, in the Confluent wire format. */
export type AvroEncoder = (value: unknown) => Buffer;

/**
 * An encoder for the schema registered under `schemaId` (`schema` is the text that was registered,
 * so the bytes are those `SchemaRegistry.encode` writes). `SchemaRegistry.encode` is async even
 * with the schema cached — a promise and two microtask turns per record — and builds each record
 * from three buffers; this writes the body behind a fixed header in a reused scratch buffer and
 * copies it out once.
 */
export function avroEncoder(schemaId: number, schema: string | object): AvroEncoder {
  const type = avro.Type.forSchema(
    (typeof schema === 'string' ? JSON.parse(schema) : schema) as avro.Schema,
  );
  let scratch = scratchWithHeader(schemaId, 4096);
  return (value) => {
    for (;;) {
      const end = encodeAt(type, value, scratch);
      // avsc returns a negative count of missing bytes when the value does not fit
      if (end < 0) {
        scratch = scratchWithHeader(schemaId, 2 * (scratch.length - end));
        continue;
      }
      const out = Buffer.allocUnsafe(end);
      scratch.copy(out, 0, 0, end);
      return out;
    }
  };
}

function scratchWithHeader(schemaId: number, size: number): Buffer {
  const buf = Buffer.alloc(size);
  buf.writeUInt8(0, 0);
  buf.writeInt32BE(schemaId, 1);
  return buf;
}

/** Writes `value` after the header; avsc's own message (the invalid value and type) is kept. */
function encodeAt(type: avro.Type, value: unknown, scratch: Buffer): number {
  try {
    return type.encode(value, scratch, HEADER_BYTES);
  } catch (err) {
    throw new AvroEncodeError(err instanceof Error ? err.message : String(err));
  }
}
