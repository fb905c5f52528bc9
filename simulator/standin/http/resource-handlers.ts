/**
 * The REST verbs on resources: get, list, watch, create, update, patch, delete, deletecollection,
 * each decoding its body and parameters, calling the registry, and answering in the negotiated
 * representation.
 */
import type { Clock } from '../../../core/clock.js';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest, invalid, notFound, unsupportedMediaType } from '../errors.js';
import { isJsonObject, numberAt, objectAt, stringAt, type JsonObject, type JsonValue } from '../json.js';
import { deleteAll, deleteObject, type DeleteOptions, type PropagationPolicy } from '../deletion.js';
import { uidOf } from '../object-meta.js';
import { PatchType, patchTypes } from '../patch/apply-patch.js';
import type { Registry, Subresource } from '../registry.js';
import type { ResourceType } from '../resources.js';
import { toScale } from '../scale.js';
import { toTable } from '../tables.js';
import { listBody, listPage, selectionOf } from './list.js';
import { decodeBody, negotiateOutput, objectResponse, parseMediaType, partialObject, type Output } from './negotiation.js';
import { booleanParameter, dryRunParameter, fieldValidationParameter, includeObjectParameter, integerParameter, stringParameter } from './query.js';
import { podStreamSubresources, type ResourceRequest } from './request-info.js';
import { openWatch, type WatchDependencies } from './watch.js';

export interface ResourceContext extends WatchDependencies {
  readonly registry: Registry;
  readonly clock: Clock;
}

/** The largest body accepted, as the API server's 3 MiB limit. */
const maxBodyBytes = 3 * 1024 * 1024;

async function readBody(request: Request): Promise<Uint8Array> {
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length > maxBodyBytes) throw badRequest('the request body is too large');
  return bytes;
}

function shaped(context: ResourceContext, type: ResourceType, object: JsonObject, output: Output, query: URLSearchParams): JsonValue {
  if (output.shape === 'Table') {
    return toTable(type, [object], { now: context.clock.now(), includeObject: includeObjectParameter(query), resourceVersion: stringAt(objectAt(object, 'metadata'), 'resourceVersion') ?? '' });
  }
  return output.shape === 'PartialObjectMetadata' ? partialObject(object) : object;
}

/** Answers one resource request. */
export async function handleResourceRequest(context: ResourceContext, request: Request, url: URL, info: ResourceRequest): Promise<Response> {
  const query = url.searchParams;
  const { type, namespace } = info;
  const name = info.name ?? '';
  const subresource = info.subresource as Subresource | undefined;
  if (info.subresource !== undefined && podStreamSubresources.has(info.subresource)) return podStream(context, info);
  const accept = request.headers.get('accept');
  switch (info.verb) {
    case 'get': {
      const output = negotiateOutput(accept, subresource === undefined);
      const object = context.registry.get(type, namespace, name);
      return objectResponse(200, subresource === 'scale' ? toScale(object) : shaped(context, type, object, output, query), output);
    }
    case 'list': {
      const output = negotiateOutput(accept);
      const page = listPage(context.registry, type, namespace, query);
      return objectResponse(200, listBody(type, page, output, includeObjectParameter(query), context.clock.now()), output);
    }
    case 'watch': {
      const output = negotiateOutput(accept);
      return openWatch(context, { type, namespace, ...(info.name === undefined ? {} : { name: info.name }) }, query, output, includeObjectParameter(query));
    }
    case 'create': {
      const output = negotiateOutput(accept);
      const body = decodeBody(request.headers.get('content-type'), await readBody(request), type.kind);
      const options = { dryRun: dryRunParameter(query, 'CreateOptions'), fieldValidation: fieldValidationParameter(query, 'CreateOptions') };
      const result = await context.registry.create(type, namespace, body, options);
      return objectResponse(201, shaped(context, type, result.object, output, query), output, result.warnings);
    }
    case 'update': {
      const output = negotiateOutput(accept, subresource === undefined);
      const body = decodeBody(request.headers.get('content-type'), await readBody(request), subresource === 'scale' ? 'Scale' : type.kind);
      const options = { dryRun: dryRunParameter(query, 'UpdateOptions'), fieldValidation: fieldValidationParameter(query, 'UpdateOptions') };
      const result = await context.registry.update(type, namespace, name, body, options, subresource);
      return objectResponse(200, subresource === undefined ? shaped(context, type, result.object, output, query) : result.object, output, result.warnings);
    }
    case 'patch':
      return patch(context, request, query, info);
    case 'delete':
      return remove(context, request, query, info);
    case 'deletecollection':
      return removeCollection(context, request, query, info);
  }
}

async function patch(context: ResourceContext, request: Request, query: URLSearchParams, info: ResourceRequest): Promise<Response> {
  const output = negotiateOutput(request.headers.get('accept'), info.subresource === undefined);
  const media = parseMediaType(request.headers.get('content-type') ?? '').type;
  const subresource = info.subresource as Subresource | undefined;
  const served = subresource === undefined ? patchTypes : patchTypes.filter((type) => type !== PatchType.Apply);
  if (!served.includes(media as PatchType)) throw unsupportedMediaType(served);
  const text = new TextDecoder().decode(await readBody(request));
  const options = { dryRun: dryRunParameter(query, 'PatchOptions'), fieldValidation: fieldValidationParameter(query, 'PatchOptions') };
  if (media === PatchType.Apply) return serverSideApply(context, info, query, parseApplied(text, info.name ?? ''), options, output);
  let patchBody: JsonValue;
  try {
    patchBody = JSON.parse(text) as JsonValue;
  } catch (error) {
    throw badRequest(`error decoding patch: ${error instanceof Error ? error.message : String(error)}`);
  }
  const result = await context.registry.patch(info.type, info.namespace, info.name ?? '', media as PatchType, patchBody, options, subresource);
  const body = subresource === undefined ? shaped(context, info.type, result.object, output, query) : result.object;
  return objectResponse(200, body, output, result.warnings);
}

/** The applied configuration of a server-side apply: a YAML (or JSON) object naming the object of the URL. */
function parseApplied(text: string, name: string): JsonObject {
  let applied: unknown;
  try {
    applied = parseYaml(text);
  } catch (error) {
    throw badRequest(`error decoding YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isJsonObject(applied)) throw badRequest('error decoding YAML: the applied configuration is not an object');
  const given = stringAt(objectAt(applied, 'metadata'), 'name');
  if (given !== undefined && given !== name) throw badRequest(`the name of the object (${given}) does not match the name on the URL (${name})`);
  return applied;
}

/**
 * Server-side apply (apply-patch.ts says what of it is served): the object made from the applied
 * configuration when there is none (201), else the configuration merged into it (200).
 */
async function serverSideApply(
  context: ResourceContext, info: ResourceRequest, query: URLSearchParams, applied: JsonObject, options: { dryRun: boolean; fieldValidation: ReturnType<typeof fieldValidationParameter> }, output: Output,
): Promise<Response> {
  const name = info.name ?? '';
  if (stringParameter(query, 'fieldManager') === undefined) {
    throw invalid('meta.k8s.io', 'PatchOptions', '', [{ reason: 'FieldValueRequired', field: 'fieldManager', message: 'Required value: is required for apply patch' }]);
  }
  // Made or deleted between the two tries (a create or delete racing the apply): tried once more.
  for (let attempt = 0; ; attempt += 1) {
    try {
      const result = await context.registry.patch(info.type, info.namespace, name, PatchType.Apply, applied, options);
      return objectResponse(200, shaped(context, info.type, result.object, output, query), output, result.warnings);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 404 && attempt === 0)) throw error;
    }
    try {
      const made = await context.registry.create(info.type, info.namespace, { ...applied, metadata: { ...objectAt(applied, 'metadata'), name } }, options);
      return objectResponse(201, shaped(context, info.type, made.object, output, query), output, made.warnings);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 409 && attempt === 0)) throw error;
    }
  }
}

const policies = ['Foreground', 'Background', 'Orphan'];

/** DeleteOptions from the body when there is one, from the query otherwise (as the API server reads them). */
async function deleteOptionsOf(request: Request, query: URLSearchParams): Promise<DeleteOptions> {
  const bytes = await readBody(request);
  let source: JsonObject;
  if (bytes.length > 0) {
    const body = decodeBody(request.headers.get('content-type'), bytes, 'DeleteOptions');
    if (!isJsonObject(body)) throw badRequest('the object provided is unrecognized (must be of type DeleteOptions)');
    source = body;
  } else {
    source = {};
    const policy = stringParameter(query, 'propagationPolicy');
    if (policy !== undefined) source.propagationPolicy = policy;
    const grace = integerParameter(query, 'gracePeriodSeconds');
    if (grace !== undefined) source.gracePeriodSeconds = grace;
    const orphan = booleanParameter(query, 'orphanDependents');
    if (orphan !== undefined) source.orphanDependents = orphan;
    if (dryRunParameter(query, 'DeleteOptions')) source.dryRun = ['All'];
  }
  const policy = stringAt(source, 'propagationPolicy');
  if (policy !== undefined && !policies.includes(policy)) {
    throw invalid('meta.k8s.io', 'DeleteOptions', '', [
      { reason: 'FieldValueNotSupported', field: 'propagationPolicy', message: `Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan"` },
    ]);
  }
  const preconditions = objectAt(source, 'preconditions');
  const uid = stringAt(preconditions, 'uid');
  const resourceVersion = stringAt(preconditions, 'resourceVersion');
  const grace = numberAt(source, 'gracePeriodSeconds');
  const dryRun = Array.isArray(source.dryRun) && source.dryRun.includes('All');
  return {
    ...(policy === undefined ? {} : { propagationPolicy: policy as PropagationPolicy }),
    ...(typeof source.orphanDependents === 'boolean' ? { orphanDependents: source.orphanDependents } : {}),
    ...(grace === undefined ? {} : { gracePeriodSeconds: grace }),
    preconditions: { ...(uid === undefined ? {} : { uid }), ...(resourceVersion === undefined ? {} : { resourceVersion }) },
    dryRun,
  };
}

async function remove(context: ResourceContext, request: Request, query: URLSearchParams, info: ResourceRequest): Promise<Response> {
  const output = negotiateOutput(request.headers.get('accept'), false);
  const options = await deleteOptionsOf(request, query);
  const name = info.name ?? '';
  const result = await deleteObject(context.registry, info.type, info.namespace, name, options);
  if (!result.deleted || info.type.plural === 'pods') return objectResponse(200, result.object, output);
  const details: JsonObject = { name, kind: info.type.plural, uid: uidOf(result.object) };
  if (info.type.group !== '') details.group = info.type.group;
  return objectResponse(200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details }, output);
}

async function removeCollection(context: ResourceContext, request: Request, query: URLSearchParams, info: ResourceRequest): Promise<Response> {
  const output = negotiateOutput(request.headers.get('accept'));
  const options = await deleteOptionsOf(request, query);
  const selection = selectionOf(info.type, query);
  const targets = context.registry.list(info.type, info.namespace === '' ? undefined : info.namespace, selection);
  const deleted = await deleteAll(context.registry, info.type, targets, options);
  const page = { items: deleted, resourceVersion: String(context.registry.store.resourceVersion) };
  return objectResponse(200, listBody(info.type, page, { format: output.format, shape: 'object' }, 'Metadata', context.clock.now()), output);
}

/** `kubectl logs` gets an empty log (the simulated containers print nothing); streams need an upgrade. */
function podStream(context: ResourceContext, info: ResourceRequest): Response {
  if (info.subresource !== 'log' || info.verb !== 'get') throw badRequest('Upgrade request required');
  if (context.registry.store.get(info.type, info.namespace, info.name ?? '') === undefined) throw notFound(info.type, info.name ?? '');
  return new Response('', { status: 200, headers: { 'Content-Type': 'text/plain' } });
}
