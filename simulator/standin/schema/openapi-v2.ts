/**
 * The OpenAPI v2 document (`/openapi/v2`), which kubectl still reads, in protobuf only, to validate
 * on the client what it cannot send with `fieldValidation` (a `kind: List` file, as
 * `kubectl get -o yaml` writes). Definitions only, converted from the v3 component schemas and
 * encoded as gnostic's openapi_v2.Document.
 */
import { stringify as stringifyYaml } from 'yaml';
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import { allStructNames } from './model.js';
import { componentSchema } from './openapi.js';
import { SpecialType } from './model-types.js';

/** The media type kubectl asks for. */
export const openApiV2Protobuf = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
/** The media type a real API server answers with. */
export const openApiV2ProtobufResponse = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/** Writes protobuf wire format (only what gnostic's messages need: strings and messages). */
class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private static readonly encoder = new TextEncoder();

  private varint(value: number): void {
    const bytes: number[] = [];
    let rest = value;
    while (rest > 0x7f) {
      bytes.push((rest & 0x7f) | 0x80);
      rest = Math.floor(rest / 128);
    }
    bytes.push(rest);
    this.chunks.push(Uint8Array.from(bytes));
  }

  bytes(field: number, value: Uint8Array): this {
    this.varint((field << 3) | 2);
    this.varint(value.length);
    this.chunks.push(value);
    return this;
  }

  string(field: number, value: string | undefined): this {
    return value === undefined || value === '' ? this : this.bytes(field, ProtoWriter.encoder.encode(value));
  }

  message(field: number, build: (writer: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const length = this.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    const result = new Uint8Array(length);
    let offset = 0;
    for (const chunk of this.chunks) {
      result.set(chunk, offset);
      offset += chunk.length;
    }
    return result;
  }
}

const SchemaField = { Ref: 1, Format: 2, Description: 4, Required: 19, AdditionalProperties: 21, Type: 22, Items: 23, Properties: 25, VendorExtension: 31 } as const;

function reference(schema: JsonObject): string | undefined {
  const direct = schema.$ref;
  const wrapped = Array.isArray(schema.allOf) && isJsonObject(schema.allOf[0]) ? schema.allOf[0].$ref : undefined;
  const target = typeof direct === 'string' ? direct : typeof wrapped === 'string' ? wrapped : undefined;
  return target?.replace('#/components/schemas/', '#/definitions/');
}

function writeSchema(writer: ProtoWriter, schema: JsonObject): void {
  const target = reference(schema);
  if (target !== undefined) {
    writer.string(SchemaField.Ref, target);
    return;
  }
  if (typeof schema.format === 'string') writer.string(SchemaField.Format, schema.format);
  if (typeof schema.description === 'string') writer.string(SchemaField.Description, schema.description);
  for (const name of Array.isArray(schema.required) ? schema.required : []) if (typeof name === 'string') writer.string(SchemaField.Required, name);
  const additional = schema.additionalProperties;
  if (isJsonObject(additional)) writer.message(SchemaField.AdditionalProperties, (item) => item.message(1, (inner) => writeSchema(inner, additional)));
  if (typeof schema.type === 'string') {
    const type = schema.type;
    writer.message(SchemaField.Type, (item) => item.string(1, type));
  }
  const items = schema.items;
  if (isJsonObject(items)) writer.message(SchemaField.Items, (item) => item.message(1, (inner) => writeSchema(inner, items)));
  const properties = schema.properties;
  if (isJsonObject(properties)) {
    writer.message(SchemaField.Properties, (list) => {
      for (const [name, value] of Object.entries(properties)) {
        if (isJsonObject(value)) list.message(1, (named) => named.string(1, name).message(2, (inner) => writeSchema(inner, value)));
      }
    });
  }
  for (const [name, value] of Object.entries(schema)) {
    if (name.startsWith('x-')) writer.message(SchemaField.VendorExtension, (named) => named.string(1, name).message(2, (any) => any.string(2, yamlOf(value))));
  }
}

function yamlOf(value: JsonValue): string {
  return stringifyYaml(value);
}

function definitions(): Map<string, JsonObject> {
  const named = new Set<string>();
  const result = new Map<string, JsonObject>();
  for (const name of [...allStructNames(), ...Object.values(SpecialType)].sort()) result.set(name, componentSchema(name, named));
  return result;
}

/** The whole document, encoded once (the model does not change). */
export function openApiV2Document(version: string): Uint8Array {
  const writer = new ProtoWriter();
  writer.string(1, '2.0');
  writer.message(2, (info) => info.string(1, 'Kubernetes').string(2, version));
  writer.message(8, () => undefined);
  writer.message(9, (list) => {
    for (const [name, schema] of definitions()) list.message(1, (named) => named.string(1, name).message(2, (inner) => writeSchema(inner, schema)));
  });
  return writer.finish();
}

function toV2Json(schema: JsonObject): JsonObject {
  const target = reference(schema);
  if (target !== undefined) return { $ref: target };
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && isJsonObject(value)) {
      result.properties = Object.fromEntries(Object.entries(value).map(([name, inner]) => [name, isJsonObject(inner) ? toV2Json(inner) : inner]));
    } else if ((key === 'items' || key === 'additionalProperties') && isJsonObject(value)) result[key] = toV2Json(value);
    else if (key !== 'default') result[key] = value;
  }
  return result;
}

/** The document as JSON (`Accept: application/json`). */
export function openApiV2Json(version: string): JsonObject {
  const converted: JsonObject = {};
  for (const [name, schema] of definitions()) converted[name] = toV2Json(schema);
  return { swagger: '2.0', info: { title: 'Kubernetes', version }, paths: {}, definitions: converted };
}
