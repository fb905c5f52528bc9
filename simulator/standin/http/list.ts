/**
 * Lists: selectors, `limit`/`continue` pagination, the resourceVersion semantics of a watch-cache
 * backed list, and the three shapes (typed list, Table, PartialObjectMetadataList).
 */
import { badRequest, expired } from '../errors.js';
import { cloneJson, type JsonObject } from '../json.js';
import { nameOf, namespaceOf } from '../object-meta.js';
import type { Registry } from '../registry.js';
import { apiVersionOf, type ResourceType } from '../resources.js';
import { parseFieldSelector, parseLabelSelector, type FieldRequirement, type LabelSelector } from '../selectors.js';
import { toTable, type IncludeObject } from '../tables.js';
import { partialObject, type Output } from './negotiation.js';
import { integerParameter, stringParameter } from './query.js';

export interface Selection {
  readonly labels: LabelSelector;
  readonly fields: FieldRequirement[];
}

/** The label and field selectors of a request; `name` (a watch on one object) adds metadata.name. */
export function selectionOf(type: ResourceType, query: URLSearchParams, name?: string): Selection {
  const labels = parseLabelSelector(query.get('labelSelector') ?? '');
  const supported = ['metadata.name', 'metadata.namespace', ...type.fieldSelectors];
  const fields = parseFieldSelector(query.get('fieldSelector') ?? '', supported);
  if (name !== undefined) {
    const conflicting = fields.find((field) => field.field === 'metadata.name' && field.operator === '=' && field.value !== name);
    if (conflicting !== undefined) throw badRequest("fieldSelector metadata.name doesn't match requested name");
    fields.push({ field: 'metadata.name', operator: '=', value: name });
  }
  return { labels, fields };
}

interface ContinueToken {
  readonly rv: number;
  readonly start: string;
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: token.rv, start: token.start }), 'utf8').toString('base64url');
}

function decodeContinue(text: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as { v?: unknown; rv?: unknown; start?: unknown };
    if (parsed.v === 'meta.k8s.io/v1' && typeof parsed.rv === 'number' && typeof parsed.start === 'string') return { rv: parsed.rv, start: parsed.start };
  } catch {
    // falls through to the error below
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

function keyOf(object: JsonObject): string {
  return `${namespaceOf(object)}/${nameOf(object)}\u0000`;
}

export interface ListPage {
  readonly items: JsonObject[];
  readonly resourceVersion: string;
  readonly continueToken?: string;
  readonly remaining?: number;
}

/** One page of the objects a list request selects. */
export function listPage(registry: Registry, type: ResourceType, namespace: string, query: URLSearchParams): ListPage {
  const selection = selectionOf(type, query);
  const match = stringParameter(query, 'resourceVersionMatch');
  const version = stringParameter(query, 'resourceVersion');
  const current = registry.store.resourceVersion;
  if (match === 'Exact' && version !== undefined && Number(version) !== current) {
    throw expired(`The resourceVersion for the provided list is too old.`);
  }
  if (match !== undefined && match !== 'Exact' && match !== 'NotOlderThan') {
    throw badRequest(`resourceVersionMatch: Unsupported value: ${JSON.stringify(match)}: supported values: "Exact", "NotOlderThan"`);
  }
  let items = registry.list(type, namespace === '' ? undefined : namespace, selection);
  const token = stringParameter(query, 'continue');
  const resourceVersion = token === undefined ? current : decodeContinue(token).rv;
  if (token !== undefined) {
    const start = decodeContinue(token).start;
    items = items.filter((item) => keyOf(item) > start);
  }
  const limit = integerParameter(query, 'limit') ?? 0;
  if (limit > 0 && items.length > limit) {
    const page = items.slice(0, limit);
    const last = page[page.length - 1];
    const continueToken = last === undefined ? undefined : encodeContinue({ rv: resourceVersion, start: keyOf(last) });
    return { items: page, resourceVersion: String(resourceVersion), ...(continueToken === undefined ? {} : { continueToken }), remaining: items.length - limit };
  }
  return { items, resourceVersion: String(resourceVersion) };
}

/** A list page in the shape the client asked for. */
export function listBody(type: ResourceType, page: ListPage, output: Output, includeObject: IncludeObject, now: number): JsonObject {
  if (output.shape === 'Table') {
    return toTable(type, page.items, {
      now,
      includeObject,
      resourceVersion: page.resourceVersion,
      ...(page.continueToken === undefined ? {} : { continueToken: page.continueToken }),
    });
  }
  const metadata: JsonObject = { resourceVersion: page.resourceVersion };
  if (page.continueToken !== undefined) metadata.continue = page.continueToken;
  if (page.remaining !== undefined) metadata.remainingItemCount = page.remaining;
  if (output.shape === 'PartialObjectMetadata') {
    return { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata, items: page.items.map(partialObject) };
  }
  const items = page.items.map((item) => {
    const { kind: _kind, apiVersion: _apiVersion, ...rest } = cloneJson(item);
    return rest;
  });
  return { kind: type.listKind, apiVersion: apiVersionOf(type.group, type.version), metadata, items };
}
