/**
 * Turns a request body (already parsed into JSON) into the object a real API server would hold:
 * checks apiVersion and kind, round-trips it through the Go type (normalizeObject) and applies field
 * validation (`fieldValidation=Strict|Warn|Ignore`), then server-side defaults.
 */
import { badRequest, invalid } from './errors.js';
import { applyDefaults } from './defaults.js';
import { isJsonObject, type JsonObject } from './json.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import { normalizeObject } from './schema/normalize.js';

export const FieldValidation = { Strict: 'Strict', Warn: 'Warn', Ignore: 'Ignore' } as const;
export type FieldValidation = (typeof FieldValidation)[keyof typeof FieldValidation];

/** The expected type of a body: a resource's kind, or a subresource's (Scale). */
export interface ExpectedKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly schema: string;
}

export function expectedKindOf(type: ResourceType): ExpectedKind {
  return { group: type.group, version: type.version, kind: type.kind, schema: type.schema };
}

export const scaleKind: ExpectedKind = { group: 'autoscaling', version: 'v1', kind: 'Scale', schema: 'io.k8s.api.autoscaling.v1.Scale' };

export interface DecodedObject {
  readonly object: JsonObject;
  readonly warnings: string[];
}

function unknownFieldList(fields: readonly string[]): string {
  return fields.map((field) => `unknown field "${field}"`).join(', ');
}

/**
 * Checks and normalises a body of `expected` kind. Throws 400 BadRequest for a body of another
 * kind, of the wrong types, or (Strict) with unknown fields; Warn returns them as warnings.
 */
export function decodeObject(expected: ExpectedKind, body: unknown, validation: FieldValidation): DecodedObject {
  const apiVersion = apiVersionOf(expected.group, expected.version);
  const cannotHandle = `${expected.kind} in version "${expected.version}" cannot be handled as a ${expected.kind}`;
  if (!isJsonObject(body)) {
    throw badRequest(`${cannotHandle}: json: cannot unmarshal ${Array.isArray(body) ? 'array' : typeof body} into Go value of type struct`);
  }
  const givenVersion = body.apiVersion;
  if (typeof givenVersion === 'string' && givenVersion !== '' && givenVersion !== apiVersion) {
    throw badRequest(`the API version in the data (${givenVersion}) does not match the expected API version (${apiVersion})`);
  }
  const givenKind = body.kind;
  if (typeof givenKind === 'string' && givenKind !== '' && givenKind !== expected.kind) {
    throw badRequest(`the kind in the data (${givenKind}) does not match the expected kind (${expected.kind})`);
  }
  const result = normalizeObject(expected.schema, body);
  if (result.typeError !== undefined) throw badRequest(`${cannotHandle}: ${result.typeError}`);
  const warnings: string[] = [];
  if (result.unknownFields.length > 0) {
    if (validation === FieldValidation.Strict) {
      throw badRequest(`${cannotHandle}: strict decoding error: ${unknownFieldList(result.unknownFields)}`);
    }
    if (validation === FieldValidation.Warn) warnings.push(...result.unknownFields.map((field) => `unknown field "${field}"`));
  }
  return { object: withTypeMeta(result.value, apiVersion, expected.kind), warnings };
}

/**
 * Checks a patched object the way the patch handler does: unknown fields the patch brought in are
 * a 422 with Strict, warnings with Warn.
 */
export function decodePatched(expected: ExpectedKind, patched: JsonObject, validation: FieldValidation): DecodedObject {
  const result = normalizeObject(expected.schema, patched);
  if (result.typeError !== undefined) {
    throw invalid('', '', '', [{ reason: 'FieldValueInvalid', field: 'patch', message: `Invalid value: ${JSON.stringify(JSON.stringify(patched))}: ${result.typeError}` }]);
  }
  const warnings: string[] = [];
  if (result.unknownFields.length > 0) {
    if (validation === FieldValidation.Strict) {
      const detail = `strict decoding error: ${unknownFieldList(result.unknownFields)}`;
      throw invalid('', '', '', [{ reason: 'FieldValueInvalid', field: 'patch', message: `Invalid value: ${JSON.stringify(JSON.stringify(patched))}: ${detail}` }]);
    }
    if (validation === FieldValidation.Warn) warnings.push(...result.unknownFields.map((field) => `unknown field "${field}"`));
  }
  return { object: withTypeMeta(result.value, apiVersionOf(expected.group, expected.version), expected.kind), warnings };
}

/** Applies server defaults to a normalised object and normalises again, so keys keep Go's order. */
export function withDefaults(type: ResourceType, object: JsonObject): JsonObject {
  applyDefaults(type.plural, object);
  const again = normalizeObject(type.schema, object).value;
  return withTypeMeta(again, apiVersionOf(type.group, type.version), type.kind);
}

/** The object with `kind` and `apiVersion` first, as Go's TypeMeta marshals them. */
export function withTypeMeta(object: JsonObject, apiVersion: string, kind: string): JsonObject {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = object;
  return { kind, apiVersion, ...rest };
}
