/**
 * OpenAPI v3 documents, one per group version, built from the API model. kubectl reads them to
 * decide that the server validates fields itself (a `fieldValidation` query parameter on PATCH),
 * and `kubectl apply` reads the patch strategies and merge keys in them to compute its strategic
 * merge patches; `kubectl explain` prints them.
 */
import { createHash } from 'node:crypto';
import type { JsonObject } from '../json.js';
import { apiVersionOf, resourceTypes, type ResourceType, type SubresourceType } from '../resources.js';
import { SpecialType } from './model-types.js';
import { structInfo, type FieldInfo, type TypeNode } from './model.js';

const metaPrefix = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const ref = (name: string): JsonObject => ({ $ref: `#/components/schemas/${name}` });

const specialSchemas: Readonly<Record<string, JsonObject>> = {
  [SpecialType.Time]: { type: 'string', format: 'date-time' },
  [SpecialType.MicroTime]: { type: 'string', format: 'date-time' },
  [SpecialType.Duration]: { type: 'string' },
  [SpecialType.FieldsV1]: { type: 'object' },
  [SpecialType.Quantity]: { type: 'string' },
  [SpecialType.IntOrString]: { type: 'string', format: 'int-or-string' },
  [SpecialType.RawExtension]: { type: 'object' },
};

function typeSchema(type: TypeNode, named: Set<string>): JsonObject {
  switch (type.kind) {
    case 'scalar':
      return {
        string: { type: 'string' },
        bytes: { type: 'string', format: 'byte' },
        bool: { type: 'boolean' },
        int32: { type: 'integer', format: 'int32' },
        int64: { type: 'integer', format: 'int64' },
        float64: { type: 'number', format: 'double' },
      }[type.scalar];
    case 'list':
      return { type: 'array', items: typeSchema(type.item, named) };
    case 'map':
      return { type: 'object', additionalProperties: typeSchema(type.value, named) };
    case 'struct':
    case 'special':
      named.add(type.name);
      return { allOf: [ref(type.name)], default: {} };
  }
}

function fieldSchema(field: FieldInfo, named: Set<string>): JsonObject {
  const schema = typeSchema(field.type, named);
  const { patchStrategy, patchMergeKey, listType, listMapKeys, mapType } = field.extras;
  if (field.type.kind === 'list' && listType !== undefined) schema['x-kubernetes-list-type'] = listType;
  if (listMapKeys !== undefined) schema['x-kubernetes-list-map-keys'] = [...listMapKeys];
  if (mapType !== undefined) schema['x-kubernetes-map-type'] = mapType;
  if (patchMergeKey !== undefined) schema['x-kubernetes-patch-merge-key'] = patchMergeKey;
  if (patchStrategy !== undefined) schema['x-kubernetes-patch-strategy'] = patchStrategy;
  return schema;
}

/** The component schema of a model type; adds the names it refers to into `named`. */
export function componentSchema(name: string, named: Set<string>): JsonObject {
  const special = specialSchemas[name];
  if (special !== undefined) return { ...special };
  const info = structInfo(name);
  if (info === undefined) return { type: 'object' };
  const properties: JsonObject = {};
  const required: string[] = [];
  for (const [key, field] of info.jsonFields) {
    properties[key] = fieldSchema(field, named);
    if (field.required) required.push(key);
  }
  const schema: JsonObject = { type: 'object', properties };
  if (required.length > 0) schema.required = required;
  if (info.gvk !== undefined) schema['x-kubernetes-group-version-kind'] = [{ ...info.gvk }];
  return schema;
}

function componentSchemas(roots: readonly string[]): JsonObject {
  const named = new Set<string>(roots);
  const schemas: JsonObject = {};
  for (let pending = [...named]; pending.length > 0; pending = [...named].filter((name) => !(name in schemas))) {
    for (const name of pending) schemas[name] = componentSchema(name, named);
  }
  schemas[`${metaPrefix}.Patch`] = { type: 'object' };
  const sorted: JsonObject = {};
  for (const key of Object.keys(schemas).sort()) sorted[key] = schemas[key] ?? {};
  return sorted;
}

const queryParameter = (name: string, type = 'string'): JsonObject => ({
  name,
  in: 'query',
  schema: { type, uniqueItems: true },
});

const writeParameters = [queryParameter('dryRun'), queryParameter('fieldManager'), queryParameter('fieldValidation')];
const listParameters = [
  'allowWatchBookmarks:boolean',
  'continue',
  'fieldSelector',
  'labelSelector',
  'limit:integer',
  'resourceVersion',
  'resourceVersionMatch',
  'sendInitialEvents:boolean',
  'timeoutSeconds:integer',
  'watch:boolean',
].map((spec) => {
  const [name = '', type] = spec.split(':');
  return queryParameter(name, type);
});

const patchTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];

function operation(action: string, gvk: JsonObject, schema: string, parameters: JsonObject[], body?: readonly string[]): JsonObject {
  const responses: JsonObject = { '200': { description: 'OK', content: { 'application/json': { schema: ref(schema) } } } };
  const result: JsonObject = {
    operationId: `${action}${typeof gvk.kind === 'string' ? gvk.kind : ''}`,
    parameters,
    responses,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
  };
  if (body !== undefined) {
    const content: JsonObject = {};
    for (const type of body) content[type] = { schema: ref(action === 'patch' ? `${metaPrefix}.Patch` : schema) };
    result.requestBody = { content, required: true };
  }
  return result;
}

function itemPath(type: ResourceType, schema: string, gvk: JsonObject): JsonObject {
  const deleteBody = ['application/json'];
  return {
    get: operation('get', gvk, schema, []),
    put: operation('put', gvk, schema, writeParameters, ['application/json']),
    patch: operation('patch', gvk, schema, [...writeParameters, queryParameter('force', 'boolean')], patchTypes),
    delete: {
      ...operation('delete', gvk, `${metaPrefix}.Status`, [queryParameter('dryRun'), queryParameter('propagationPolicy')]),
      requestBody: { content: { [deleteBody[0] ?? '']: { schema: ref(`${metaPrefix}.DeleteOptions`) } } },
    },
    parameters: [
      { name: 'name', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } },
      ...(type.namespaced ? [{ name: 'namespace', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } }] : []),
    ],
  };
}

function subresourcePath(type: ResourceType, sub: SubresourceType): JsonObject {
  const schema = sub.name === 'scale' ? 'io.k8s.api.autoscaling.v1.Scale' : type.schema;
  const gvk = { group: sub.group, version: sub.version, kind: sub.kind };
  const path = itemPath(type, schema, gvk);
  delete path.delete;
  if (sub.name === 'finalize') return { put: path.put ?? {}, parameters: path.parameters ?? [] };
  return path;
}

function resourcePaths(type: ResourceType): JsonObject {
  const prefix = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  const collection = type.namespaced ? `${prefix}/namespaces/{namespace}/${type.plural}` : `${prefix}/${type.plural}`;
  const gvk = { group: type.group, version: type.version, kind: type.kind };
  const listSchema = `${type.schema}List`;
  const paths: JsonObject = {
    [collection]: {
      get: operation('list', gvk, listSchema, listParameters),
      post: operation('post', gvk, type.schema, writeParameters, ['*/*']),
      ...(type.verbs.includes('deletecollection')
        ? { delete: operation('deletecollection', gvk, `${metaPrefix}.Status`, listParameters) }
        : {}),
    },
    [`${collection}/{name}`]: itemPath(type, type.schema, gvk),
  };
  if (type.namespaced) paths[`${prefix}/${type.plural}`] = { get: operation('list', gvk, listSchema, listParameters) };
  for (const sub of type.subresources) paths[`${collection}/{name}/${sub.name}`] = subresourcePath(type, sub);
  return paths;
}

/** The OpenAPI v3 document of one group version. */
export function groupVersionDocument(group: string, version: string, serverVersion: string): JsonObject {
  const types = resourceTypes.filter((type) => type.group === group && type.version === version);
  const paths: JsonObject = {};
  for (const type of types) Object.assign(paths, resourcePaths(type));
  const roots = types.flatMap((type) => [type.schema, `${type.schema}List`]);
  roots.push(`${metaPrefix}.Status`, `${metaPrefix}.DeleteOptions`, `${metaPrefix}.WatchEvent`);
  if (types.some((type) => type.subresources.some((sub) => sub.name === 'scale'))) roots.push('io.k8s.api.autoscaling.v1.Scale');
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: serverVersion },
    paths,
    components: { schemas: componentSchemas(roots) },
  };
}

/** A served document with the hash that names its immutable URL. */
export interface OpenApiDocument {
  readonly path: string;
  readonly body: string;
  readonly hash: string;
}

/** Every group version's document, keyed by `api/v1` and `apis/apps/v1`. */
export function openApiDocuments(
  groupVersions: readonly { group: string; version: string }[],
  serverVersion: string,
): Map<string, OpenApiDocument> {
  const documents = new Map<string, OpenApiDocument>();
  for (const { group, version } of groupVersions) {
    const path = group === '' ? `api/${version}` : `apis/${apiVersionOf(group, version)}`;
    const body = JSON.stringify(groupVersionDocument(group, version, serverVersion));
    const hash = createHash('sha512').update(body).digest('hex').toUpperCase();
    documents.set(path, { path, body, hash });
  }
  return documents;
}

/** The `/openapi/v3` discovery document listing each group version's URL. */
export function openApiRoot(documents: ReadonlyMap<string, OpenApiDocument>): JsonObject {
  const paths: JsonObject = {};
  for (const document of documents.values()) {
    paths[document.path] = { serverRelativeURL: `/openapi/v3/${document.path}?hash=${document.hash}` };
  }
  return { paths };
}
