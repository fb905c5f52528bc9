/**
 * Round-trips a JSON object through "the Go struct", as a real API server does when it decodes a
 * body into its typed object and encodes it back: unknown fields are dropped (and reported for
 * field validation), missing non-omitempty fields get their zero value, nested structs are always
 * present (`resources: {}`, `creationTimestamp: null`), keys come out in Go field order, and values
 * of the wrong type are errors worded like encoding/json's.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import { SpecialType } from './model-types.js';
import { structInfo, type FieldInfo, type TypeNode } from './model.js';

export interface NormalizeResult {
  readonly value: JsonObject;
  /** Paths of fields the type does not have (`spec.containers[0].imagePullPolicyX`). */
  readonly unknownFields: readonly string[];
  /** The first type error, worded like Go's encoding/json, or undefined. */
  readonly typeError?: string;
}

interface Context {
  readonly unknownFields: string[];
  typeError?: string;
}

/** Normalises `input` as the struct `typeName`. */
export function normalizeObject(typeName: string, input: JsonObject): NormalizeResult {
  const context: Context = { unknownFields: [] };
  const value = normalizeStruct(typeName, input, '', '', context);
  return context.typeError === undefined
    ? { value, unknownFields: context.unknownFields }
    : { value, unknownFields: context.unknownFields, typeError: context.typeError };
}

function shortName(typeName: string): string {
  return typeName.slice(typeName.lastIndexOf('.') + 1);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function normalizeStruct(typeName: string, input: JsonObject, path: string, goPath: string, context: Context): JsonObject {
  const info = structInfo(typeName);
  if (info === undefined) return input;
  // Input order first, as Go's decoder meets the fields (unknown fields are reported in that order).
  const converted = new Map<string, JsonValue>();
  for (const [key, raw] of Object.entries(input)) {
    const field = info.jsonFields.get(key);
    if (field === undefined) {
      context.unknownFields.push(join(path, key));
      continue;
    }
    if (raw === null) continue;
    const where = { path: join(path, key), goPath: join(goPath, key), owner: shortName(info.jsonOwners.get(key) ?? typeName) };
    const value = convert(field.type, raw, where, context);
    if (value !== undefined) converted.set(key, value);
  }
  // Then Go field order, as Go's encoder writes them.
  const output: JsonObject = {};
  emitFields(info.fields, converted, output);
  return output;
}

function emitFields(fields: readonly FieldInfo[], converted: ReadonlyMap<string, JsonValue>, output: JsonObject): void {
  for (const field of fields) {
    if (field.inline) {
      const inner = field.type.kind === 'struct' ? structInfo(field.type.name) : undefined;
      if (inner !== undefined) emitFields(inner.fields, converted, output);
      continue;
    }
    const emitted = emitValue(field, converted.get(field.json));
    if (emitted !== undefined) output[field.json] = emitted;
  }
}

/** What Go's encoder writes for a field holding `value` (undefined: Go's zero value or nil). */
function emitValue(field: FieldInfo, value: JsonValue | undefined): JsonValue | undefined {
  const type = field.type;
  if (type.kind === 'struct' || type.kind === 'special') {
    if (value !== undefined) return value;
    if (field.pointer) return field.omitEmpty ? undefined : null;
    return zeroOf(type);
  }
  if (type.kind === 'list' || type.kind === 'map' || (type.kind === 'scalar' && type.scalar === 'bytes')) {
    if (value === undefined) return field.omitEmpty ? undefined : null;
    const empty = Array.isArray(value) ? value.length === 0 : isJsonObject(value) ? Object.keys(value).length === 0 : value === '';
    return field.omitEmpty && empty ? undefined : value;
  }
  if (field.pointer) return value ?? (field.omitEmpty ? undefined : null);
  const zero = scalarZero(type.scalar);
  const result = value ?? zero;
  return field.omitEmpty && result === zero ? undefined : result;
}

function scalarZero(scalar: string): JsonValue {
  if (scalar === 'string') return '';
  if (scalar === 'bool') return false;
  return 0;
}

function zeroOf(type: TypeNode): JsonValue {
  if (type.kind === 'struct') return normalizeStruct(type.name, {}, '', '', { unknownFields: [] });
  if (type.kind !== 'special') return null;
  switch (type.name) {
    case SpecialType.Quantity:
      return '0';
    case SpecialType.IntOrString:
      return 0;
    case SpecialType.Duration:
      return '0s';
    default:
      return null;
  }
}

interface Where {
  readonly path: string;
  readonly goPath: string;
  readonly owner: string;
}

function fail(context: Context, where: Where, value: JsonValue, goType: string): undefined {
  const kind = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value === 'object' ? 'object' : typeof value;
  const shown = typeof value === 'number' ? `number ${value}` : kind;
  context.typeError ??= `json: cannot unmarshal ${shown} into Go struct field ${where.owner}.${where.goPath} of type ${goType}`;
  return undefined;
}

function convert(type: TypeNode, value: JsonValue, where: Where, context: Context): JsonValue | undefined {
  switch (type.kind) {
    case 'scalar':
      return convertScalar(type.scalar, value, where, context);
    case 'special':
      return convertSpecial(type.name, value, where, context);
    case 'struct':
      if (!isJsonObject(value)) return fail(context, where, value, shortName(type.name));
      return normalizeStruct(type.name, value, where.path, where.goPath, context);
    case 'list': {
      if (!Array.isArray(value)) return fail(context, where, value, `[]${goTypeName(type.item)}`);
      return value.map((item, index) => {
        const itemWhere = { ...where, path: `${where.path}[${index}]` };
        return item === null ? nullItem(type.item) : (convert(type.item, item, itemWhere, context) ?? null);
      });
    }
    case 'map': {
      if (!isJsonObject(value)) return fail(context, where, value, `map[string]${goTypeName(type.value)}`);
      const result: JsonObject = {};
      for (const [key, item] of Object.entries(value)) {
        const itemWhere = { ...where, path: `${where.path}.${key}` };
        result[key] = item === null ? nullItem(type.value) : (convert(type.value, item, itemWhere, context) ?? null);
      }
      return result;
    }
  }
}

/** A JSON null inside a list or map decodes to Go's zero value of the element type. */
function nullItem(type: TypeNode): JsonValue {
  if (type.kind === 'scalar') return type.scalar === 'bytes' ? null : scalarZero(type.scalar);
  return zeroOf(type);
}

function goTypeName(type: TypeNode): string {
  if (type.kind === 'scalar') return type.scalar === 'bytes' ? '[]uint8' : type.scalar;
  if (type.kind === 'list') return `[]${goTypeName(type.item)}`;
  if (type.kind === 'map') return `map[string]${goTypeName(type.value)}`;
  return shortName(type.name);
}

const int32Range = 2 ** 31;

function convertScalar(scalar: string, value: JsonValue, where: Where, context: Context): JsonValue | undefined {
  switch (scalar) {
    case 'string':
      return typeof value === 'string' ? value : fail(context, where, value, 'string');
    case 'bool':
      return typeof value === 'boolean' ? value : fail(context, where, value, 'bool');
    case 'float64':
      return typeof value === 'number' ? value : fail(context, where, value, 'float64');
    case 'int32':
    case 'int64': {
      const limit = scalar === 'int32' ? int32Range : 2 ** 63;
      const ok = typeof value === 'number' && Number.isInteger(value) && value >= -limit && value < limit;
      return ok ? value : fail(context, where, value, scalar);
    }
    case 'bytes':
      if (typeof value !== 'string') return fail(context, where, value, '[]uint8');
      if (!isBase64(value)) {
        context.typeError ??= `illegal base64 data at input byte ${badBase64Offset(value)}`;
        return undefined;
      }
      return value;
    default:
      return value;
  }
}

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isBase64(text: string): boolean {
  return base64Pattern.test(text);
}

function badBase64Offset(text: string): number {
  const index = text.search(/[^A-Za-z0-9+/=]/);
  return index < 0 ? text.length - (text.length % 4) : index;
}

const quantityPattern = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$/;

function convertSpecial(name: string, value: JsonValue, where: Where, context: Context): JsonValue | undefined {
  switch (name) {
    case SpecialType.Quantity: {
      const text = typeof value === 'number' ? String(value) : value;
      if (typeof text !== 'string') return fail(context, where, value, 'Quantity');
      if (!quantityPattern.test(text)) {
        context.typeError ??= "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
        return undefined;
      }
      return text;
    }
    case SpecialType.IntOrString:
      if (typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))) return value;
      return fail(context, where, value, 'IntOrString');
    case SpecialType.Time:
    case SpecialType.MicroTime: {
      if (typeof value !== 'string') return fail(context, where, value, 'Time');
      const millis = Date.parse(value);
      if (Number.isNaN(millis)) {
        context.typeError ??= `parsing time ${JSON.stringify(value)} as "2006-01-02T15:04:05Z07:00": cannot parse`;
        return undefined;
      }
      return name === SpecialType.Time ? formatTime(millis) : formatMicroTime(millis, fractionMicros(value));
    }
    case SpecialType.Duration:
      return typeof value === 'string' ? value : fail(context, where, value, 'Duration');
    case SpecialType.FieldsV1:
      return isJsonObject(value) ? value : fail(context, where, value, 'FieldsV1');
    default:
      return value;
  }
}

/** RFC 3339 at second precision in UTC, as metav1.Time marshals. */
export function formatTime(millis: number): string {
  return `${new Date(Math.floor(millis / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/**
 * RFC 3339 at microsecond precision in UTC, as metav1.MicroTime marshals. `micros` is the
 * sub-second part when known more precisely than a millisecond allows.
 */
export function formatMicroTime(millis: number, micros?: number): string {
  const second = Math.floor(millis / 1000) * 1000;
  const fraction = micros ?? Math.floor((millis - second) * 1000);
  return `${new Date(second).toISOString().slice(0, 19)}.${String(fraction).padStart(6, '0')}Z`;
}

/** The microseconds written in an RFC 3339 time's fraction (`.000010` is 10), or undefined. */
function fractionMicros(text: string): number | undefined {
  const digits = /T\d\d:\d\d:\d\d\.(\d+)/.exec(text)?.[1];
  return digits === undefined ? undefined : Number(digits.slice(0, 6).padEnd(6, '0'));
}
