/**
 * Decodes Kubernetes protobuf bodies (`application/vnd.kubernetes.protobuf`): the 4-byte magic
 * `k8s\0`, a runtime.Unknown envelope naming apiVersion and kind, then the object, whose field
 * numbers come from the API model (the protobuf tags of the Go types). The result is the object as
 * JSON input would give it; normalizeObject then applies Go's defaults, as for a JSON body.
 */
import type { JsonObject, JsonValue } from '../json.js';
import { SpecialType } from './model-types.js';
import { structInfo, type FieldInfo, type TypeNode } from './model.js';
import { formatMicroTime, formatTime } from './normalize.js';

/** The four bytes that start every Kubernetes protobuf body. */
export const protobufMagic = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

export interface UnknownEnvelope {
  readonly apiVersion: string;
  readonly kind: string;
  readonly raw: Uint8Array;
  readonly contentEncoding: string;
  readonly contentType: string;
}

export type DecodeResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const WireType = { Varint: 0, Fixed64: 1, Bytes: 2, StartGroup: 3, EndGroup: 4, Fixed32: 5 } as const;

class ProtobufError extends Error {}

/** Reads protobuf wire format: tags, varints, length-delimited slices. */
class Reader {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const byte = this.bytes[this.offset++];
      if (byte === undefined) throw new ProtobufError('unexpected EOF');
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new ProtobufError('proto: integer overflow');
  }

  slice(length: number): Uint8Array {
    if (length < 0 || this.offset + length > this.bytes.length) throw new ProtobufError('unexpected EOF');
    const result = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return result;
  }

  lengthDelimited(): Uint8Array {
    return this.slice(Number(this.varint()));
  }

  /** Skips a value of `wireType` (an unknown field). */
  skip(wireType: number): void {
    if (wireType === WireType.Varint) this.varint();
    else if (wireType === WireType.Fixed64) this.slice(8);
    else if (wireType === WireType.Bytes) this.lengthDelimited();
    else if (wireType === WireType.Fixed32) this.slice(4);
    else throw new ProtobufError(`proto: illegal wireType ${wireType}`);
  }
}

/** Calls `onField` for every field of a message. */
function forEachField(bytes: Uint8Array, onField: (field: number, wireType: number, reader: Reader) => void): void {
  const reader = new Reader(bytes);
  while (!reader.done) {
    const tag = Number(reader.varint());
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 0) throw new ProtobufError('proto: illegal tag 0');
    onField(field, wireType, reader);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ProtobufError('proto: invalid UTF-8 in a string field');
  }
}

function expectWire(actual: number, expected: number): void {
  if (actual !== expected) throw new ProtobufError(`proto: wrong wireType = ${actual}, expected ${expected}`);
}

/** Splits a body into its envelope: checks the magic, decodes runtime.Unknown. */
export function decodeEnvelope(body: Uint8Array): DecodeResult<UnknownEnvelope> {
  if (body.length < 4 || protobufMagic.some((byte, index) => body[index] !== byte)) {
    return { ok: false, error: 'provided object is not a protobuf message (missing the k8s\\0 prefix)' };
  }
  try {
    const envelope: { -readonly [K in keyof UnknownEnvelope]: UnknownEnvelope[K] } = { apiVersion: '', kind: '', raw: new Uint8Array(), contentEncoding: '', contentType: '' };
    forEachField(body.subarray(4), (field, wireType, reader) => {
      if (field > 4) return reader.skip(wireType);
      expectWire(wireType, WireType.Bytes);
      const value = reader.lengthDelimited();
      if (field === 1) {
        forEachField(value, (inner, innerWire, innerReader) => {
          if (inner > 2) return innerReader.skip(innerWire);
          expectWire(innerWire, WireType.Bytes);
          const part = text(innerReader.lengthDelimited());
          if (inner === 1) envelope.apiVersion = part;
          else envelope.kind = part;
        });
      } else if (field === 2) envelope.raw = value;
      else if (field === 3) envelope.contentEncoding = text(value);
      else envelope.contentType = text(value);
    });
    return { ok: true, value: envelope };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** Decodes the message `bytes` as the struct `typeName` into JSON-shaped input. */
export function decodeMessage(typeName: string, bytes: Uint8Array): DecodeResult<JsonObject> {
  try {
    return { ok: true, value: decodeStruct(typeName, bytes) };
  } catch (error) {
    if (error instanceof ProtobufError) return { ok: false, error: error.message };
    throw error;
  }
}

function decodeStruct(typeName: string, bytes: Uint8Array): JsonObject {
  const info = structInfo(typeName);
  if (info === undefined) throw new ProtobufError(`no protobuf description of ${typeName}`);
  const byNumber = new Map<number, FieldInfo>();
  for (const field of info.fields) if (field.proto > 0) byNumber.set(field.proto, field);
  const output: JsonObject = {};
  forEachField(bytes, (number, wireType, reader) => {
    const field = byNumber.get(number);
    if (field === undefined) return reader.skip(wireType);
    readField(field, wireType, reader, output);
  });
  return output;
}

function readField(field: FieldInfo, wireType: number, reader: Reader, output: JsonObject): void {
  const type = field.type;
  if (field.inline) {
    expectWire(wireType, WireType.Bytes);
    if (type.kind === 'struct') Object.assign(output, decodeStruct(type.name, reader.lengthDelimited()));
    return;
  }
  if (type.kind === 'list') {
    const list = (output[field.json] ??= []) as JsonValue[];
    const item = type.item;
    if (wireType === WireType.Bytes && isPackable(item)) {
      const packed = new Reader(reader.lengthDelimited());
      while (!packed.done) list.push(readScalar(item, WireType.Varint, packed));
    } else {
      list.push(readValue(item, wireType, reader));
    }
    return;
  }
  if (type.kind === 'map') {
    expectWire(wireType, WireType.Bytes);
    const map = (output[field.json] ??= {}) as JsonObject;
    let key = '';
    let value: JsonValue | undefined;
    forEachField(reader.lengthDelimited(), (number, entryWire, entry) => {
      if (number === 1) {
        expectWire(entryWire, WireType.Bytes);
        key = text(entry.lengthDelimited());
      } else if (number === 2) value = readValue(type.value, entryWire, entry);
      else entry.skip(entryWire);
    });
    map[key] = value ?? emptyValue(type.value);
    return;
  }
  output[field.json] = readValue(type, wireType, reader);
}

function isPackable(type: TypeNode): type is TypeNode & { kind: 'scalar' } {
  return type.kind === 'scalar' && (type.scalar === 'int32' || type.scalar === 'int64' || type.scalar === 'bool');
}

function emptyValue(type: TypeNode): JsonValue {
  if (type.kind === 'scalar') return type.scalar === 'bool' ? false : type.scalar === 'string' || type.scalar === 'bytes' ? '' : 0;
  return type.kind === 'list' ? [] : {};
}

function readValue(type: TypeNode, wireType: number, reader: Reader): JsonValue {
  if (type.kind === 'scalar') return readScalar(type, wireType, reader);
  expectWire(wireType, WireType.Bytes);
  const bytes = reader.lengthDelimited();
  if (type.kind === 'struct') return decodeStruct(type.name, bytes);
  if (type.kind === 'special') return decodeSpecial(type.name, bytes);
  throw new ProtobufError('proto: nested lists and maps are not encodable');
}

function readScalar(type: TypeNode & { kind: 'scalar' }, wireType: number, reader: Reader): JsonValue {
  switch (type.scalar) {
    case 'string':
      expectWire(wireType, WireType.Bytes);
      return text(reader.lengthDelimited());
    case 'bytes':
      expectWire(wireType, WireType.Bytes);
      return Buffer.from(reader.lengthDelimited()).toString('base64');
    case 'bool':
      expectWire(wireType, WireType.Varint);
      return reader.varint() !== 0n;
    case 'int32':
      expectWire(wireType, WireType.Varint);
      return Number(BigInt.asIntN(32, reader.varint()));
    case 'int64':
      expectWire(wireType, WireType.Varint);
      return Number(BigInt.asIntN(64, reader.varint()));
    case 'float64': {
      expectWire(wireType, WireType.Fixed64);
      const bytes = reader.slice(8);
      return new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0, true);
    }
  }
}

/** Reads the numbered scalar fields of a small message (Time, IntOrString, …). */
function smallMessage(bytes: Uint8Array): Map<number, bigint | Uint8Array> {
  const fields = new Map<number, bigint | Uint8Array>();
  forEachField(bytes, (number, wireType, reader) => {
    if (wireType === WireType.Varint) fields.set(number, reader.varint());
    else if (wireType === WireType.Bytes) fields.set(number, reader.lengthDelimited());
    else reader.skip(wireType);
  });
  return fields;
}

function bigintOf(value: bigint | Uint8Array | undefined): bigint {
  return typeof value === 'bigint' ? value : 0n;
}

function bytesOf(value: bigint | Uint8Array | undefined): Uint8Array {
  return value instanceof Uint8Array ? value : new Uint8Array();
}

function decodeSpecial(name: string, bytes: Uint8Array): JsonValue {
  const fields = smallMessage(bytes);
  switch (name) {
    case SpecialType.Time:
    case SpecialType.MicroTime: {
      // Go marshals the zero time as an empty message and reads one back as the zero time, which
      // JSON shows as null (`creationTimestamp: null` in every object kubectl builds).
      if (bytes.length === 0) return null;
      const millis = Number(BigInt.asIntN(64, bigintOf(fields.get(1)))) * 1000;
      const nanos = Number(bigintOf(fields.get(2)));
      return name === SpecialType.Time ? formatTime(millis) : formatMicroTime(millis, Math.floor(nanos / 1000));
    }
    case SpecialType.Quantity:
      return text(bytesOf(fields.get(1)));
    case SpecialType.IntOrString:
      return bigintOf(fields.get(1)) === 1n ? text(bytesOf(fields.get(3))) : Number(BigInt.asIntN(32, bigintOf(fields.get(2))));
    case SpecialType.Duration:
      return formatGoDuration(BigInt.asIntN(64, bigintOf(fields.get(1))));
    case SpecialType.RawExtension:
    case SpecialType.FieldsV1: {
      const raw = bytesOf(fields.get(1));
      if (raw.length === 0) return name === SpecialType.FieldsV1 ? {} : null;
      try {
        return JSON.parse(text(raw)) as JsonValue;
      } catch {
        throw new ProtobufError(`proto: ${name} does not hold JSON`);
      }
    }
    default:
      throw new ProtobufError(`proto: no decoder for ${name}`);
  }
}

/** Formats nanoseconds as Go's time.Duration.String does (`1m30s`, `1.5s`, `100ms`, `0s`). */
export function formatGoDuration(nanos: bigint): string {
  if (nanos === 0n) return '0s';
  const sign = nanos < 0n ? '-' : '';
  const abs = nanos < 0n ? -nanos : nanos;
  if (abs < 1_000n) return `${sign}${abs}ns`;
  if (abs < 1_000_000n) return `${sign}${fraction(abs, 1_000n)}µs`;
  if (abs < 1_000_000_000n) return `${sign}${fraction(abs, 1_000_000n)}ms`;
  const hours = abs / 3_600_000_000_000n;
  const minutes = (abs / 60_000_000_000n) % 60n;
  const seconds = fraction(abs % 60_000_000_000n, 1_000_000_000n);
  if (hours > 0n) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0n) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

function fraction(value: bigint, unit: bigint): string {
  const whole = value / unit;
  const rest = value % unit;
  if (rest === 0n) return whole.toString();
  const digits = rest.toString().padStart(unit.toString().length - 1, '0').replace(/0+$/, '');
  return `${whole}.${digits}`;
}
