/**
 * The API model, parsed once into structures: what each Go struct's fields are called in JSON and
 * protobuf, their types and Go semantics. Used by the protobuf decoder, the JSON normaliser, the
 * OpenAPI publisher and the strategic merge patch.
 */
import { apiModel } from './api-model.generated.js';
import { isSpecialType, type FieldExtras, type SpecialType, type TypeExpression } from './model-types.js';

export type ScalarName = 'string' | 'int32' | 'int64' | 'bool' | 'float64' | 'bytes';

export type TypeNode =
  | { readonly kind: 'scalar'; readonly scalar: ScalarName }
  | { readonly kind: 'list'; readonly item: TypeNode }
  | { readonly kind: 'map'; readonly value: TypeNode }
  | { readonly kind: 'struct'; readonly name: string }
  | { readonly kind: 'special'; readonly name: SpecialType };

export interface FieldInfo {
  /** The JSON name; '' for an inline (embedded) struct. */
  readonly json: string;
  /** The protobuf field number; 0 when the field is not in protobuf (TypeMeta). */
  readonly proto: number;
  readonly type: TypeNode;
  readonly omitEmpty: boolean;
  readonly pointer: boolean;
  readonly required: boolean;
  readonly inline: boolean;
  readonly extras: FieldExtras;
}

export interface StructInfo {
  readonly name: string;
  readonly gvk?: { readonly group: string; readonly version: string; readonly kind: string };
  /** The struct's own fields, inline ones included as one field each. */
  readonly fields: readonly FieldInfo[];
  /** Every JSON field, inline structs flattened in. */
  readonly jsonFields: ReadonlyMap<string, FieldInfo>;
  /** The struct that declares each JSON field (an inline struct's name for its fields). */
  readonly jsonOwners: ReadonlyMap<string, string>;
}

const scalars: ReadonlySet<string> = new Set(['string', 'int32', 'int64', 'bool', 'float64', 'bytes']);

/** Parses a type expression of the model. */
export function parseType(expression: TypeExpression): TypeNode {
  if (expression.startsWith('[]')) return { kind: 'list', item: parseType(expression.slice(2)) };
  if (expression.startsWith('map[]')) return { kind: 'map', value: parseType(expression.slice(5)) };
  if (expression.startsWith('@')) {
    const name = expression.slice(1);
    return isSpecialType(name) ? { kind: 'special', name } : { kind: 'struct', name };
  }
  if (scalars.has(expression)) return { kind: 'scalar', scalar: expression as ScalarName };
  throw new TypeError(`bad type expression ${expression}`);
}

const cache = new Map<string, StructInfo>();

/** The struct named `name` (an OpenAPI name such as `io.k8s.api.core.v1.Pod`), or undefined. */
export function structInfo(name: string): StructInfo | undefined {
  const cached = cache.get(name);
  if (cached !== undefined) return cached;
  const tuple = apiModel.types[name];
  if (tuple === undefined) return undefined;
  const fields: FieldInfo[] = tuple.fields.map(([json, proto, type, flags, extras]) => ({
    json,
    proto,
    type: parseType(type),
    omitEmpty: flags.includes('o'),
    pointer: flags.includes('p'),
    required: flags.includes('r'),
    inline: flags.includes('i'),
    extras: extras ?? {},
  }));
  const jsonFields = new Map<string, FieldInfo>();
  const jsonOwners = new Map<string, string>();
  for (const field of fields) {
    if (!field.inline) {
      jsonFields.set(field.json, field);
      jsonOwners.set(field.json, name);
    } else if (field.type.kind === 'struct') {
      const inner = structInfo(field.type.name);
      for (const [key, innerField] of inner?.jsonFields ?? []) {
        jsonFields.set(key, innerField);
        jsonOwners.set(key, inner?.jsonOwners.get(key) ?? field.type.name);
      }
    }
  }
  const [group, version, kind] = tuple.gvk ?? [];
  const info: StructInfo = {
    name,
    fields,
    jsonFields,
    jsonOwners,
    ...(group !== undefined && version !== undefined && kind !== undefined ? { gvk: { group, version, kind } } : {}),
  };
  cache.set(name, info);
  return info;
}

/** The struct of a top-level kind (`apps`, `v1`, `Deployment`), or undefined. */
export function structForKind(group: string, version: string, kind: string): StructInfo | undefined {
  for (const name of Object.keys(apiModel.types)) {
    const gvk = apiModel.types[name]?.gvk;
    if (gvk !== undefined && gvk[0] === group && gvk[1] === version && gvk[2] === kind) return structInfo(name);
  }
  return undefined;
}

/** Every struct name in the model. */
export function allStructNames(): string[] {
  return Object.keys(apiModel.types);
}

/** The model's provenance, for the OpenAPI info block. */
export const modelSource = apiModel.source;
